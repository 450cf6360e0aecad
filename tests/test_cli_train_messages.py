"""`factormap-tui train` says it is loading (or compiling) its kernels before the first step, and
its chars/s counts only training: the kernels are loaded before the trainer's clock starts."""

import factormap.engine.kernels.training as training_kernels
import factormap.engine.training.trainer as trainer_module
from factormap.tui.cli import main
from factormap.tui.commands import train as train_command


def test_the_kernels_load_before_training_and_a_long_load_is_named(tmp_path, sample_text, monkeypatch, capsys):
    text = tmp_path / "t.txt"
    text.write_bytes(sample_text)
    order = []
    warm = training_kernels.warm
    monkeypatch.setattr(training_kernels, "warm", lambda exact=True: (order.append("warm"), warm(exact))[1])
    init = trainer_module.Trainer.__init__
    monkeypatch.setattr(trainer_module.Trainer, "__init__",
                        lambda self, *a, **k: (order.append("trainer"), init(self, *a, **k))[1])
    monkeypatch.setattr(train_command, "COMPILE_NOTE_SECONDS", -1.0)  # as if this load had compiled them
    assert main(["train", str(text), "-o", str(tmp_path / "m.bin"), "--epochs", "1", "--hidden", "4"]) == 0
    captured = capsys.readouterr()
    assert order == ["warm", "trainer"]
    assert "compiled the training kernels in" in captured.err
    assert "chars/s (compiling excluded)" in captured.out
