"""What a worker runs for a sweep task: the same engine calls as ``report``, so the same numbers.

A task's figures are those of :func:`factormap.engine.interventions.run.intervention_delta` run
alone on a fresh :class:`~factormap.engine.session.Session` of the model and the text (ΔBPC
without per-position Δbits), and for a per-step subtraction those of
:func:`factormap.engine.interventions.analysis.residual_readout` (ΔBPC and the residual r). A
worker process builds each model's session once per sweep and keeps it for the sweep's later
tasks (:func:`worker_session`); the model and the text reach it once, as :class:`SweepInputs`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from factormap.engine.factor_map.compute import compute_factor_map
from factormap.engine.factor_map.features import STANDARD_FEATURES
from factormap.engine.factor_map.user_features import regex_feature
from factormap.engine.interventions.analysis import residual_readout
from factormap.engine.interventions.run import intervention_delta
from factormap.engine.interventions.specs import AblateNeurons, RandomDirection, SubtractAtReadout, SubtractEachStep
from factormap.engine.model import Model
from factormap.engine.session import Session
from factormap.engine.sweep.plan import ABLATE, EACH_STEP, RANDOM, SweepTask


@dataclass(frozen=True, eq=False)
class SweepInputs:
    """Everything a worker needs, sent to each worker once.

    Attributes
    ----------
    token
        names this sweep's inputs in a worker's cache (unique per sweep).
    models
        the models, in sweep order.
    text
        the text's bytes.
    regexes
        user feature name -> bytes regex (``--feature NAME=REGEX``); the worker computes
        the feature with :func:`~factormap.engine.factor_map.user_features.regex_feature`.
    """

    token: str
    models: tuple[Model, ...]
    text: bytes
    regexes: dict[str, str] = field(default_factory=dict)


_CACHE_LOCK = threading.Lock()
_SESSIONS: dict[tuple[str, int], Session] = {}
_USER_FEATURES: dict[tuple[str, str], np.ndarray] = {}


def worker_session(inputs: SweepInputs, model: int) -> Session:
    """This process's session of ``inputs.models[model]`` on the text, made once per sweep (the
    sessions of an earlier sweep are closed and dropped)."""
    key = (inputs.token, model)
    with _CACHE_LOCK:
        for old in [k for k in _SESSIONS if k[0] != inputs.token]:
            _SESSIONS.pop(old).close()
        for old in [k for k in _USER_FEATURES if k[0] != inputs.token]:
            del _USER_FEATURES[old]
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = Session(inputs.models[model], inputs.text)
    return session


def _feature(inputs: SweepInputs, session: Session, name: str) -> str | np.ndarray:
    """A standard feature's name (streamed by the engine), or a user feature's (n,) array."""
    if name in STANDARD_FEATURES:
        return name
    with _CACHE_LOCK:
        values = _USER_FEATURES.get((inputs.token, name))
        if values is None:
            values = _USER_FEATURES[(inputs.token, name)] = regex_feature(session.text, inputs.regexes[name])
    return values


def feature_directions(session: Session, features: dict[str, str | np.ndarray]) -> dict[str, np.ndarray]:
    """name -> ``u_f = Cov(h, f)/||Cov(h, f)||`` (H,) float64 over the session's whole text, from one
    :func:`~factormap.engine.factor_map.compute.compute_factor_map` pass (the zero vector for a constant f).

    ``features``: name -> a standard feature's name or an (n,) array.
    """
    standard = tuple(n for n, f in features.items() if isinstance(f, str))
    extra = {n: f for n, f in features.items() if not isinstance(f, str)}
    fm = compute_factor_map(session, standard, extra_features=extra)
    return {name: np.asarray(fm.readouts[name].cov_direction, np.float64) for name in features}


def task_figures(session: Session, task: SweepTask, direction: np.ndarray | None = None,
                 feature: str | np.ndarray | None = None) -> dict:
    """The task's figures on ``session``: ``delta_bpc``, ``bpc``, ``baseline_bpc``, ``residual_r``
    (NaN but for per-step subtractions) and ``seconds`` (wall time of the edited pass).

    ``direction`` is the feature's ``u_f`` and ``feature`` its name or values (subtractions only).
    """
    for _ in session.run():
        pass
    start = time.perf_counter()
    r = math.nan
    if task.kind == ABLATE:
        result = intervention_delta(session, [AblateNeurons(units=(int(task.target),))], keep_delta_bits=False)
    elif task.kind == RANDOM:
        result = intervention_delta(session, [RandomDirection(int(task.target))], keep_delta_bits=False)
    elif task.kind == EACH_STEP:
        res = residual_readout(session, [SubtractEachStep(direction, f"u_{task.target}")], feature, str(task.target))
        result, r = res.result, res.r
    else:
        result = intervention_delta(session, [SubtractAtReadout(direction, f"u_{task.target}")], keep_delta_bits=False)
    return {"delta_bpc": result.delta_bpc, "bpc": result.bpc, "baseline_bpc": result.baseline_bpc,
            "residual_r": r, "seconds": time.perf_counter() - start}


def run_directions(inputs: SweepInputs, model: int, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Worker entry: :func:`feature_directions` of ``names`` for one model of the sweep."""
    session = worker_session(inputs, model)
    return feature_directions(session, {name: _feature(inputs, session, name) for name in names})


def run_task(inputs: SweepInputs, task: SweepTask, directions: dict[str, np.ndarray] | None = None) -> dict:
    """Worker entry: :func:`task_figures` of ``task`` (``directions``: the model's ``u_f`` by feature)."""
    session = worker_session(inputs, task.model)
    if not task.needs_direction:
        return task_figures(session, task)
    name = str(task.target)
    return task_figures(session, task, directions[name], _feature(inputs, session, name))
