"""Findings that travel, through the app: a recorded session replays headless to the same numbers,
``replay --open`` steps back to the same state, and ``:write`` leaves a finding card with its SVG."""

from __future__ import annotations

import json
import threading

import pytest

from factormap.engine.attribution.prediction import DEFAULT_K
from factormap.engine.model import load_model, save_model
from factormap.engine.replay import replay
from factormap.engine.session import Session
from factormap.engine.session_record import file_identity, read_record
from factormap.tui.app import FactormapApp
from factormap.tui.cli import main
from factormap.tui.fields import compact, fixed
from factormap.tui.recorder import SessionRecorder
from factormap.tui.widgets import intervention_rows
from tests.app_helpers import APP_TEXT, settle
from tests.test_cli_bad_inputs import app_launches, model_file, text_file  # noqa: F401  (fixtures)

READOUT_ROW = 1
"""The interventions pane's "−u_wl at readout" row."""
FEATURE = "feature digits=[0-9]"
"""A user feature, as typed at the ``:`` prompt (the text has "1840" in it)."""


@pytest.fixture
def files(tmp_path, random_model):
    model_path, text_path = tmp_path / "model.bin", tmp_path / "text.txt"
    save_model(random_model(16, seed=3, scale=1.5), model_path)
    text_path.write_bytes(APP_TEXT)
    return model_path, text_path


def make_app(files, **kwargs) -> FactormapApp:
    model_path, text_path = files
    return FactormapApp(Session(load_model(model_path), text_path.read_bytes()), model_path, text_path, **kwargs)


async def settle_edits(pilot) -> None:
    """Wait until every edit that is on has its whole-text figures (and band)."""
    pane = pilot.app.query_one("#interventions")
    for _ in range(100):
        await settle(pilot)
        if all(r.stage in ("done", "error") for r in pane.rows if r.on):
            return
    raise AssertionError("the interventions never settled")


async def record_a_session(pilot) -> None:
    """Move with a count, select a neuron, toggle the readout edit with its key, add a feature, move again."""
    await pilot.press("5", "0", "l", "j", "j")
    pilot.app.query_one("#interventions").focus()
    await pilot.press(str(READOUT_ROW + 1))
    await settle_edits(pilot)
    await pilot.press("colon", *FEATURE, "enter")
    await settle(pilot)
    await pilot.press("w", "w")
    await settle(pilot)


def app_figures(app) -> dict:
    """What the screen shows: the edit's ΔBPC, the cursor and the attribution there."""
    pane, att = app.query_one("#interventions"), app.query_one("#attribution").attribution
    assert att.t == app.screen.cursor
    feature = app.screen.user_features.get("digits").readout
    return {"delta_bpc": pane.rows[READOUT_ROW].result.delta_bpc, "t": app.screen.cursor, "prob": att.prob,
            "grad_norm": att.grad_norms.tolist(), "neuron": app.screen.neuron,
            "feature": (feature.best_neuron, feature.best_r, feature.cov_r, feature.ols_r)}


async def test_a_recorded_session_replays_headless_to_the_same_numbers(tmp_path, files, capsys):
    path = tmp_path / "session.jsonl"
    recorder = SessionRecorder(path, *files, "float32", DEFAULT_K)
    app = make_app(files, recorder=recorder)
    async with app.run_test(size=(120, 40)) as pilot:
        await record_a_session(pilot)
        shown = app_figures(app)
    recorder.close()
    record = read_record(path)
    assert record.model == file_identity(files[0]) and record.text == file_identity(files[1])
    actions = [(a["action"], {k: v for k, v in a.items() if k not in ("i", "action")}) for a in record.actions]
    # the state at the start, then each change as it happened (state, not keys)
    assert ("move", {"t": 50}) in actions and ("neuron", {"neuron": 2}) in actions
    assert ("edit", {"row": READOUT_ROW, "key": "subtract_at_readout.word_len", "name": "−u_wl at readout",
                     "on": True, "band_runs": 4, "null_n": 20}) in actions
    assert ("feature", {"name": "digits", "definition": "digits=[0-9]"}) in actions
    assert actions[-1] == ("move", {"t": shown["t"]}) and shown["t"] > 50
    result = replay(load_model(files[0]), files[1].read_bytes(), record)
    assert result.state.t == shown["t"] and result.state.neuron == shown["neuron"]
    (edit,) = result.edits
    assert edit["row"] == READOUT_ROW and edit["delta_bpc"] == shown["delta_bpc"]
    assert result.position["attribution"]["prob"] == shown["prob"]
    assert result.position["attribution"]["grad_norm"] == shown["grad_norm"]
    assert edit["null_percentile"] is not None and 0 <= edit["null_percentile"] <= 100
    (feature,) = [step["figures"]["feature"] for step in result.steps if step["action"] == "feature"]
    assert (feature["best_neuron"], feature["best_r"], feature["cov_r"], feature["ols_r"]) == shown["feature"]
    assert result.state.features == {"digits": "digits=[0-9]"}
    # the headless command prints the same figures, as JSON and as tables
    capsys.readouterr()
    assert main(["replay", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["final"]["edits"][0]["delta_bpc"] == shown["delta_bpc"]
    assert data["final"]["position"]["attribution"]["prob"] == shown["prob"]
    assert data["actions"] == {"recorded": len(actions), "replayed": len(actions)}
    assert main(["replay", str(path), "--at", "3"]) == 0
    out = capsys.readouterr().out
    assert "at the end: t=0 " in out and "ΔBPC" not in out  # three actions: the state at the start, no edit yet
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"#2 −u_wl at readout: ΔBPC {fixed(shown['delta_bpc'], 4, signed=True)}" in out and "null percentile" in out
    assert "sha256 (first 16)" in out and f" {record.text.sha256[:16]} " in out  # labelled a prefix, never cut


def test_replay_refuses_other_files_in_one_line(tmp_path, files, capsys):
    path = tmp_path / "session.jsonl"
    SessionRecorder(path, *files, "float32", DEFAULT_K).close()
    other = tmp_path / "other.txt"
    other.write_bytes(APP_TEXT + b".")
    assert main(["replay", str(path), "--text", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not the one this session was recorded on" in err and "Traceback" not in err
    files[1].write_bytes(APP_TEXT.upper())  # the recorded file itself changed since
    assert main(["replay", str(path)]) == 2
    assert "sha256" in capsys.readouterr().err
    assert main(["replay", str(path), "--model", str(tmp_path)]) == 2
    assert "is not a regular file" in capsys.readouterr().err
    assert main(["replay", str(path), "--model", str(tmp_path / "gone.bin")]) == 2
    assert "is not there; give its copy with --model PATH" in capsys.readouterr().err
    path.write_text("{}\n")
    assert main(["replay", str(path)]) == 2
    assert "not a factormap session record" in capsys.readouterr().err


def test_the_record_flag_writes_a_new_record_and_never_an_existing_file(tmp_path, model_file, text_file,  # noqa: F811
                                                                        app_launches, capsys):  # noqa: F811
    path = tmp_path / "s.jsonl"
    assert main(["--record", str(path), str(model_file), str(text_file)]) == 0
    header = json.loads(path.read_text().splitlines()[0])
    assert header["model"]["sha256"] == file_identity(model_file).sha256 and len(app_launches) == 1
    before = path.read_bytes()
    assert main(["--record", str(path), str(model_file), str(text_file)]) == 2
    assert "exists already" in capsys.readouterr().err and path.read_bytes() == before and len(app_launches) == 1
    # replay --open launches the app on the recorded files
    assert main(["replay", str(path), "--open"]) == 0
    assert len(app_launches) == 2 and app_launches[1][:2] == (str(model_file), str(text_file))


async def test_replay_open_steps_to_the_recorded_state(tmp_path, files):
    path = tmp_path / "session.jsonl"
    recorder = SessionRecorder(path, *files, "float32", DEFAULT_K)
    app = make_app(files, recorder=recorder)
    async with app.run_test(size=(120, 40)) as pilot:
        await record_a_session(pilot)
        shown = app_figures(app)
    recorder.close()
    actions = read_record(path).actions
    later_row = {"i": 99, "action": "edit", "row": 99, "key": "subtract_at_readout.x", "name": "−u_x at readout",
                 "on": True}  # the row of a feature whose readout is not computed yet
    app = make_app(files, replay_actions=actions + [later_row])
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in actions:
            await pilot.press("greater_than_sign")
        await settle_edits(pilot)
        assert app_figures(app) == shown
        await pilot.press("greater_than_sign")
        await settle(pilot)
        assert app.replay_actions == [later_row]  # waits for its row instead of failing


async def test_write_leaves_a_finding_card_with_its_svg_and_a_record_that_replays_to_it(tmp_path, files):
    app = make_app(files)
    card = tmp_path / "finding.md"
    async with app.run_test(size=(120, 40)) as pilot:
        await record_a_session(pilot)
        shown = app_figures(app)
        await pilot.press("colon", *f"write {card}", "enter")
        await settle(pilot)
        text = card.read_text()
        svg = (tmp_path / "finding.svg").read_text()
        # a second card of the same name is refused, and the first stays as it was
        await pilot.press("colon", *f"write {card}", "enter")
        await settle(pilot)
        assert card.read_text() == text
        # a folder that is not there, and a record over an existing file: one line each, nothing written
        messages, notify = [], app.notify
        app.notify = lambda message, **kwargs: (messages.append(message), notify(message, **kwargs))
        await pilot.press("colon", *f"write {tmp_path / 'nowhere' / 'x.md'}", "enter")
        await pilot.press("colon", *f"record {card}", "enter")
        await settle(pilot)
        assert any(m.startswith("write: ") and "nowhere" in m for m in messages)
        assert any(m.startswith("record: ") and "exists already" in m for m in messages)
        assert app.recorder is None and card.read_text() == text and not (tmp_path / "nowhere").exists()
    for ident in (file_identity(files[0]), file_identity(files[1])):
        assert f"`{ident.name}` | {ident.bytes:,} | `{ident.sha256}`" in text
    assert f"t = {shown['t']:,}" in text and f"p = {compact(shown['prob'])}" in text
    assert "factormap-tui replay finding.jsonl" in text and "![the explorer's screen](finding.svg)" in text
    # the screen as it was: the edit's row is on it
    assert svg.startswith("<svg") and "u_wl&#160;at&#160;readout" in svg
    result = replay(load_model(files[0]), files[1].read_bytes(), read_record(tmp_path / "finding.jsonl"))
    (edit,) = result.edits
    assert result.state.t == shown["t"] and edit["delta_bpc"] == shown["delta_bpc"]
    row = (f"| 2 | −u_wl at readout: {edit['describe']} | {fixed(shown['delta_bpc'], 4, signed=True)} | – | "
           f"{edit['null_percentile']:.0f} |")
    assert row in text
    assert result.position["attribution"]["prob"] == shown["prob"]


async def test_record_at_the_prompt_starts_with_the_state_the_explorer_is_in(tmp_path, files):
    app = make_app(files)
    path = tmp_path / "later.jsonl"
    async with app.run_test(size=(120, 40)) as pilot:
        await record_a_session(pilot)
        await pilot.press("colon", *f"record {path}", "enter", "l")
        await settle(pilot)
        shown = app_figures(app)
        await pilot.press("colon", *f"record {tmp_path / 'other.jsonl'}", "enter")  # one record at a time
        await settle(pilot)
    app.recorder.close()
    assert not (tmp_path / "other.jsonl").exists()
    record = read_record(path)
    assert [a["action"] for a in record.actions][:2] == ["feature", "traces"]
    result = replay(load_model(files[0]), files[1].read_bytes(), record)
    assert result.state.t == shown["t"] and result.state.neuron == shown["neuron"]
    assert result.edits[0]["delta_bpc"] == shown["delta_bpc"]
    assert result.position["attribution"]["grad_norm"] == shown["grad_norm"]


async def test_a_card_written_right_after_a_toggle_waits_for_the_edits_figures(tmp_path, files, monkeypatch):
    gate = threading.Event()  # the edit's whole-text result waits for it: the card is asked for before

    class HeldRun(intervention_rows.EditedRun):
        def result(self):
            gate.wait(60)
            return super().result()

    monkeypatch.setattr(intervention_rows, "EditedRun", HeldRun)
    app = make_app(files)
    card = tmp_path / "soon.md"
    messages, notify = [], app.notify
    app.notify = lambda message, **kwargs: (messages.append(message), notify(message, **kwargs))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.query_one("#interventions").focus()
        await pilot.press(str(READOUT_ROW + 1))
        assert app.screen.edits_in_progress() == ["−u_wl at readout"]
        app.screen.write_finding_card(card)
        await pilot.pause(0.5)
        gate.set()
        await settle(pilot)
        row = app.query_one("#interventions").rows[READOUT_ROW]
        describe, delta = row.spec.describe(), row.result.delta_bpc
    text = card.read_text()
    assert "(still being built)" not in text
    assert f"| {READOUT_ROW + 1} | −u_wl at readout: {describe} | {fixed(delta, 4, signed=True)} |" in text
    assert any(m.startswith("write: waiting for the figures of −u_wl at readout") for m in messages), messages
    assert any(m.startswith("wrote the finding card") and "without" not in m for m in messages), messages


def test_a_recorded_edit_names_the_neuron_selected_when_it_was_switched():
    from factormap.tui.recorder import edit_fields

    row = [r.edit.key for r in intervention_rows.ROWS].index("ablate_neuron")
    assert edit_fields(row, True, 88)["name"] == "ablate h[88]"
