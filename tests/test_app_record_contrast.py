"""A ``:target A B`` travels with the session: it is recorded (a live record goes on, a finding
card's record holds it) and ``replay --open`` steps back to the same attributed quantity (found by
QA: the card's record had no contrast, so its replay attributed the next byte)."""

from __future__ import annotations

from factormap.engine.attribution.prediction import DEFAULT_K
from factormap.engine.session_record import read_record
from factormap.tui.cli import main
from factormap.tui.fields import compact
from factormap.tui.recorder import SessionRecorder
from tests.app_helpers import settle
from tests.test_app_record import files, make_app  # noqa: F401  (fixture)


async def _target_e_against_a(pilot) -> None:
    await pilot.press("3", "l")
    await pilot.press("colon", *"target e a", "enter")
    await settle(pilot)


async def test_a_live_record_takes_the_contrast_and_goes_on(tmp_path, files):  # noqa: F811
    path = tmp_path / "session.jsonl"
    recorder = SessionRecorder(path, *files, "float32", DEFAULT_K)
    app = make_app(files, recorder=recorder)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _target_e_against_a(pilot)
        await pilot.press("colon", *"target", "enter")  # back to the next byte
        await settle(pilot)
        assert app.recorder is recorder  # not "recording stopped"
    recorder.close()
    contrasts = [{k: v for k, v in a.items() if k != "i"} for a in read_record(path).actions
                 if a["action"] == "contrast"]
    assert contrasts == [{"action": "contrast", "target": ord("e"), "against": ord("a")},
                         {"action": "contrast", "target": -1}]


async def test_a_cards_record_replays_to_its_contrast(tmp_path, files, capsys):  # noqa: F811
    card = tmp_path / "card.md"
    app = make_app(files)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _target_e_against_a(pilot)
        await pilot.press("colon", *f"write {card}", "enter")
        await settle(pilot)
        t = app.screen.cursor
    actions = read_record(tmp_path / "card.jsonl").actions
    assert {"target": ord("e"), "against": ord("a")}.items() <= next(
        a for a in actions if a["action"] == "contrast").items()
    app = make_app(files, replay_actions=list(actions))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for _ in actions:
            await pilot.press("greater_than_sign")
        await settle(pilot)
        pane = app.query_one("#attribution")
        assert app.screen.cursor == t and (pane.target, pane.contrast) == (ord("e"), ord("a"))
        assert pane.attribution.t == t and pane.attribution.contrast == ord("a")
        value = pane.attribution.value
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "card.jsonl")]) == 0  # headless: the same quantity
    assert f"attributes ln p(e) − ln p(a) = {compact(value, signed=True)} nats" in capsys.readouterr().out


async def test_replay_open_says_it_starts_at_the_records_start_and_that_each_key_press_steps(files):  # noqa: F811
    """The footer's ``>`` may be past the right edge at 100 columns (found by QA): the notice says
    it, and stays up long enough to be read."""
    app = make_app(files, replay_actions=[{"i": 1, "action": "move", "t": 5}])
    notices, notify = [], app.notify
    app.notify = lambda message, **kwargs: (notices.append((message, kwargs)), notify(message, **kwargs))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
    (message, kwargs), = [(m, k) for m, k in notices if m.startswith("replay:")]
    assert "record's start" in message and "press > to apply each recorded action in turn (1 in all)" in message
    assert kwargs["timeout"] >= 20
