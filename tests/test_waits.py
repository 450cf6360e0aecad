"""Every wait of a worker can be given up: a cancelled worker returns its thread, and the event
the panes wait for is set whatever the warm-up meets."""

import threading

import pytest

from factormap.engine import warmup
from factormap.tui.widgets import reach


class _StopAfter:
    """``should_stop`` that turns true on its ``n``-th call, counting the calls."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls >= self.n


def test_a_wait_for_an_event_never_set_ends_once_cancelled(monkeypatch):
    monkeypatch.setattr(reach, "POLL_INTERVAL", 0.001)
    stop = _StopAfter(3)
    assert reach.wait_for(threading.Event(), stop) is False
    assert stop.calls == 3  # it kept looking until told to stop, then returned at once


def test_a_wait_for_a_set_event_or_none_returns_true_without_asking():
    event = threading.Event()
    event.set()
    stop = _StopAfter(1)
    assert reach.wait_for(event, stop) is True and reach.wait_for(None, stop) is True
    assert stop.calls == 0


def test_a_wait_ends_when_another_thread_sets_the_event():
    event = threading.Event()
    threading.Timer(0.01, event.set).start()
    assert reach.wait_for(event, lambda: False) is True


class _Ahead:
    """A stand-in ChildWarmup: only ``modules`` and ``loaded`` are used before anything fails."""

    modules = ("factormap.engine.kernels.backprop",)

    def __init__(self) -> None:
        self.loaded = threading.Event()

    def wait(self) -> bool:
        return True


def test_warming_that_fails_before_its_first_module_still_sets_loaded(monkeypatch):
    def broken(skip=()):
        raise ImportError("a module of the engine does not import")

    monkeypatch.setattr(warmup, "warmed_modules", broken)
    ahead = _Ahead()
    with pytest.raises(ImportError):
        warmup.warm_engine(ahead=ahead)
    assert ahead.loaded.is_set()


def test_warming_that_fails_in_a_module_sets_loaded(monkeypatch):
    monkeypatch.setattr(warmup, "warmed_modules", lambda skip=(): ["factormap.engine.no_such_module"])
    ahead = _Ahead()
    with pytest.raises(ImportError):
        warmup.warm_engine(ahead=ahead, skip=ahead.modules)
    assert ahead.loaded.is_set()


def test_the_suites_oracle_fit_reports_progress_and_stops_inside_its_pass(random_model, sample_text, monkeypatch):
    from factormap.engine.errors import Cancelled
    from factormap.engine.interventions import table
    from factormap.engine.interventions.suite import intervention_suite
    from factormap.engine.session import Session

    real_fit, fits, stopping = table.fit_write_in_oracle, [], threading.Event()

    def fit_then_stop(*args, progress=None, should_stop=None, **kwargs):
        fits.append((progress, should_stop))
        stopping.set()  # closing the dashboard during the fit
        return real_fit(*args, progress=progress, should_stop=should_stop, **kwargs)

    monkeypatch.setattr(table, "fit_write_in_oracle", fit_then_stop)
    session = Session(random_model(8), sample_text * 4)
    with pytest.raises(Cancelled, match="write-in oracle fit stopped"):
        intervention_suite(session, band_n=1, random_n=1, progress=lambda f: None, should_stop=stopping.is_set)
    [(progress, should_stop)] = fits
    assert callable(progress) and callable(should_stop)
    session.close()
