"""The first frame comes before numpy and numba (issue 19): the app is importable and drawable without them,
keys typed while the engine loads reach the explorer in order, and ``q`` quits meanwhile."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from factormap.engine.bin_format import check_bin_model
from factormap.engine.model import ARRAY_NAMES, Model, save_model
from factormap.tui.app import FactormapApp
from factormap.tui.opening import ModelFile, Opening
from factormap.tui.screens.loading import LOADING, LoadingScreen
from tests.app_helpers import APP_TEXT, make_app, make_demo_app, screen_text, settle
from tests.naive import random_model_arrays

ROOT = Path(__file__).resolve().parents[1]


class GatedOpening(Opening):
    """An opening that waits for :attr:`gate` before it opens the engine (the test decides when)."""

    gate = threading.Event()

    def open(self):
        assert self.gate.wait(60), "the test never opened the gate"
        return super().open()


def gated_app() -> FactormapApp:
    GatedOpening.gate = threading.Event()
    model = Model(**random_model_arrays(16, 3, 1.0), source="random H=16 seed=3")
    return FactormapApp(GatedOpening(model, APP_TEXT), Path("random.bin"), Path("sample.txt"))


def gated_demo_app() -> FactormapApp:
    from factormap.engine.model import load_model
    from factormap.engine.text import load_text
    from factormap.tui.demo import demo_paths

    GatedOpening.gate = threading.Event()
    model_path, text_path = demo_paths()
    return FactormapApp(GatedOpening(load_model(model_path), load_text(text_path)), model_path, text_path)


def test_the_app_and_its_first_frame_import_no_numpy_for_a_bin_model(tmp_path):
    model_path, text_path = tmp_path / "m.bin", tmp_path / "t.txt"
    save_model(Model(**random_model_arrays(8, 0, 1.0)), model_path)
    text_path.write_bytes(b"hello world, " * 20)
    # A fresh interpreter: this one has imported numba long ago. The launch path up to the first
    # frame: the command line, the checked inputs (a .bin model is checked without numpy and
    # loaded by the opening), the app, then its loading screen drawn while the opening waits.
    script = textwrap.dedent(f"""
        import asyncio, os, sys, threading
        from pathlib import Path
        from factormap.tui import cli, launch
        from factormap.tui.commands.common import load_inputs
        model, text = load_inputs({str(model_path)!r}, {str(text_path)!r}, defer_bin=True)
        assert model.H == 8 and "numpy" not in sys.modules, "checking a .bin model imported numpy"
        from factormap.tui.app import FactormapApp
        from factormap.tui.opening import Opening
        assert "numpy" not in sys.modules, "importing the app imported numpy"

        class Held(Opening):
            def open(self):
                threading.Event().wait()  # the engine is never opened here

        async def first_frame():
            app = FactormapApp(Held(model, text), Path("m.bin"), Path("t.txt"))
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                strips = app.screen._compositor.render_strips()
                shown = "\\n".join("".join(s.text for s in strip) for strip in strips)
                assert "text · surprisal" in shown and "hello world" in shown and "H8" in shown, shown
                assert "numpy" not in sys.modules, "drawing the first frame imported numpy"
                print("first frame drawn without numpy", flush=True)
                os._exit(0)  # the held worker would keep the interpreter waiting
        asyncio.run(first_frame())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "first frame drawn without numpy" in done.stdout


async def test_a_model_file_that_no_longer_loads_is_refused_by_the_app(tmp_path):
    # checked by the command line, then changed before the opening reads it
    path = tmp_path / "m.bin"
    arrays = random_model_arrays(8, 0, 1.0)
    arrays["Wh"][0, 0] = float("nan")
    save_model(Model(**random_model_arrays(8, 0, 1.0)), path)
    checked = ModelFile(path, check_bin_model(path), "float32")
    path.write_bytes(b"".join(arrays[name].astype("<f4").tobytes() for name in ARRAY_NAMES))
    app = FactormapApp(Opening(checked, APP_TEXT), path, Path("sample.txt"))
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.return_code is not None:
                break
    assert app.return_code == 2 and app.session is None
    assert app.refused_input == f"{path}: 1 NaN or Inf value(s) in Wh; the weights are unusable"


async def test_the_loading_screen_shows_the_text_and_says_the_engine_loads():
    app = gated_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoadingScreen) and app.session is None
        shown = screen_text(app)
        assert "text · surprisal" in shown and "<page>" in shown and LOADING in shown
        GatedOpening.gate.set()
        await settle(pilot)
        assert type(app.screen).__name__ == "ExplorerScreen" and app.session is not None
        assert LOADING not in screen_text(app)


async def test_keys_typed_while_the_engine_loads_apply_in_order_once_it_is_ready():
    keys = ["1", "0", "l", "h", "m", "a", "l", "l", "apostrophe", "a", "colon", "2", "5", "enter", "3", "l"]
    expected = make_app()
    async with expected.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
        await settle(pilot)
        typed_on_the_explorer = (expected.screen.cursor, dict(expected.screen.marks))

    app = gated_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        assert isinstance(app.screen, LoadingScreen) and len(app.screen.typed) == len(keys)
        GatedOpening.gate.set()
        await settle(pilot)
        assert (app.screen.cursor, app.screen.marks) == typed_on_the_explorer == (28, {"a": 9, "'": 9})


async def test_q_while_the_engine_loads_quits_and_q_after_other_keys_waits_for_them():
    app = gated_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert app.return_code == 0
    GatedOpening.gate.set()

    app = gated_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("m", "q")  # a mark named q, not a quit
        assert app.is_running and [k.key for k in app.screen.typed] == ["m", "q"]
        GatedOpening.gate.set()
        await settle(pilot)
        assert app.is_running and app.screen.marks == {"q": 0}


async def test_units_added_to_the_oscilloscope_while_the_engine_loads_join_the_ranked_ones():
    keys = [*"jjjjjjjjj", "a"]  # select h9, add it to the traces
    expected = make_demo_app()
    async with expected.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        ranked = expected.query_one("#oscilloscope").neurons
        for key in keys:
            await pilot.press(key)
        await settle(pilot)
        typed_on_the_explorer = expected.query_one("#oscilloscope").neurons
    assert len(ranked) == 4 and 9 not in ranked and ranked != (0, 1, 2, 3)
    assert typed_on_the_explorer == (*ranked, 9)

    app = gated_demo_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        assert isinstance(app.screen, LoadingScreen)
        GatedOpening.gate.set()
        await settle(pilot)
        scope = app.screen.query_one("#oscilloscope")
        assert scope.neurons == typed_on_the_explorer  # not the placeholders h0-h3 and h9
        assert scope.view.neurons == scope.neurons
