"""`factormap-tui train`: the written model, refusals with exit status 2, and what Ctrl-C leaves."""

import json

import pytest

import factormap.engine.training.trainer as train_module
from factormap.engine.forward import forward
from factormap.engine.model import float_count, load_model, save_model
from factormap.tui.cli import main

FAST = ["--hidden", "8", "--bptt", "20", "--adam"]


@pytest.fixture
def text_file(tmp_path, sample_text):
    path = tmp_path / "t.txt"
    path.write_bytes(sample_text * 2)
    return path


def _usage_error(argv, capsys, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("factormap-tui: error:") and fragment in err, err


def test_train_writes_bin_and_npz_with_the_reported_bpc(text_file, tmp_path, capsys):
    out = tmp_path / "m.bin"
    assert main(["train", str(text_file), "-o", str(out), "--epochs", "3", "--npz", "--json", *FAST]) == 0
    data = json.loads(capsys.readouterr().out)
    model = load_model(out)
    assert model.H == 8 and data["epochs_run"] == 3 and not data["interrupted"]
    assert forward(model, text_file.read_bytes()).bpc == pytest.approx(data["bpc"], abs=1e-6)
    assert load_model(tmp_path / "m.npz").to_bin_bytes() == out.read_bytes()
    assert data["bpc"] < data["bpc_history"][0]


def test_same_command_twice_writes_identical_bytes(text_file, tmp_path):
    for name in ("a.bin", "b.bin"):
        argv = ["train", str(text_file), "-o", str(tmp_path / name), "--epochs", "2", "--json", *FAST]
        assert main(argv) == 0
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_refuses_to_write_over_the_input_text(text_file, capsys):
    before = text_file.read_bytes()
    _usage_error(["train", str(text_file), "-o", str(text_file)], capsys, "is an input file")
    assert text_file.read_bytes() == before


def test_an_existing_output_is_replaced_only_with_force(text_file, tmp_path, capsys):
    out = tmp_path / "m.bin"
    out.write_bytes(b"old")
    argv = ["train", str(text_file), "-o", str(out), "--epochs", "1", "--json", *FAST]
    _usage_error(argv, capsys, f"-o {out} exists; give --force to replace it")
    assert out.read_bytes() == b"old"
    assert main([*argv, "--force"]) == 0
    assert load_model(out).H == 8


def test_an_existing_npz_companion_is_refused_before_training(text_file, tmp_path, capsys):
    (tmp_path / "m.npz").write_bytes(b"old")
    _usage_error(["train", str(text_file), "-o", str(tmp_path / "m.bin"), "--npz", *FAST], capsys,
                 "m.npz exists; give --force")
    assert (tmp_path / "m.npz").read_bytes() == b"old" and not (tmp_path / "m.bin").exists()


def test_refuses_npz_companion_that_is_the_input(tmp_path, sample_text, capsys):
    text = tmp_path / "m.npz"
    text.write_bytes(sample_text)
    _usage_error(["train", str(text), "-o", str(tmp_path / "m.bin"), "--npz"], capsys, "is an input file")
    assert text.read_bytes() == sample_text


@pytest.mark.parametrize("argv, fragment", [
    (["--epochs", "0"], "--epochs: expected a whole number of 1 or more, got '0'"),
    (["--lr", "-1"], "learning rate"),
    (["--hidden", "x"], "--hidden: expected a whole number, got 'x'"),
    (["--seed", "-1"], "--seed: expected a whole number of 0 or more"),
    (["--hidden", "99999999999999999999"], "hidden must be at most 22,915"),
])
def test_bad_options_are_one_line(text_file, tmp_path, capsys, argv, fragment):
    _usage_error(["train", str(text_file), "-o", str(tmp_path / "m.bin"), *argv], capsys, fragment)


def test_missing_text_and_missing_folder(text_file, tmp_path, capsys):
    _usage_error(["train", str(tmp_path / "nope.txt"), "-o", str(tmp_path / "m.bin")], capsys,
                 "no such text file")
    _usage_error(["train", str(text_file), "-o", str(tmp_path / "no" / "m.bin")], capsys, "does not exist")


def _fail_on_call(monkeypatch, calls: int, exc: type[BaseException]):
    """Make the training kernel raise ``exc`` on its ``calls``-th call (one call per epoch here)."""
    kernel = train_module.train_segments_kernel
    count = {"n": 0}

    def failing(*args):
        count["n"] += 1
        if count["n"] == calls:
            raise exc
        return kernel(*args)

    monkeypatch.setattr(train_module, "train_segments_kernel", failing)


def test_ctrl_c_saves_the_best_model_so_far(text_file, tmp_path, monkeypatch, capsys):
    out = tmp_path / "m.bin"
    out.write_bytes(b"old")
    _fail_on_call(monkeypatch, 4, KeyboardInterrupt)
    assert main(["train", str(text_file), "-o", str(out), "--epochs", "50", "--json", "--force", *FAST]) == 130
    data = json.loads(capsys.readouterr().out)
    assert data["interrupted"] and data["epochs_run"] == 3
    assert out.stat().st_size == 4 * float_count(8)
    assert forward(load_model(out), text_file.read_bytes()).bpc == pytest.approx(data["bpc"], abs=1e-6)


def test_ctrl_c_while_saving_leaves_the_old_file(text_file, tmp_path, monkeypatch, random_model):
    out = tmp_path / "m.bin"
    save_model(random_model(8), out)
    before = out.read_bytes()

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", interrupted_replace)
    assert main(["train", str(text_file), "-o", str(out), "--epochs", "2", "--json", "--force", *FAST]) == 130
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "t.txt"]


def test_checkpoints_leave_a_complete_model_when_the_run_dies(text_file, tmp_path, monkeypatch):
    """A crash (not a Ctrl-C: nothing is saved at the end) still leaves the last checkpoint."""
    out = tmp_path / "m.bin"
    _fail_on_call(monkeypatch, 6, RuntimeError)
    with pytest.raises(RuntimeError):
        main(["train", str(text_file), "-o", str(out), "--epochs", "9", "--checkpoint-every", "2", *FAST])
    assert out.stat().st_size == 4 * float_count(8)
    monkeypatch.undo()
    config = train_module.TrainConfig(hidden=8, bptt=20, adam=True, epochs=9)
    trainer = train_module.Trainer(text_file.read_bytes(), config)
    trainer.run(should_stop=lambda: trainer.epoch == 4)
    assert out.read_bytes() == trainer.best_model.to_bin_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "t.txt"]


def test_output_path_with_rich_markup_is_printed_literally_and_whole(text_file, tmp_path, capsys):
    folder = tmp_path / ("a[/b]" + "c" * 80)  # longer than the console's width: not broken across lines
    folder.mkdir(parents=True)
    out = folder / "x.bin"
    assert main(["train", str(text_file), "-o", str(out), "--epochs", "1", *FAST]) == 0
    assert str(out) in capsys.readouterr().out
    assert load_model(out).H == 8
