"""A PyTorch char-RNN state_dict, as the five arrays ``Wx, Wh, bh, Wy, by`` of this tool's model.

What is understood (under any prefix, in nested dicts whose keys are joined with ``.``):

- one ``nn.RNN(nonlinearity='tanh')`` layer: ``weight_ih_l0`` (H, I), ``weight_hh_l0`` (H, H) and
  the optional ``bias_ih_l0``, ``bias_hh_l0``; then ``Wh = weight_hh_l0`` and
  ``bh = bias_ih_l0 + bias_hh_l0``;
- its input: one-hot bytes (I = 256, ``Wx = weight_ih_l0``) or an ``nn.Embedding(256, I)`` with
  weight E (256, I), folded in as ``Wx = weight_ih_l0 @ E.T``.

``bh`` and a folded ``Wx`` are computed and returned in float64 (the caller rounds them to its
precision once), the other arrays in the type they were given in;
- one ``nn.Linear(H, 256)`` readout: ``Wy = weight`` (256, H), ``by = bias`` (zeros without one);
- or the native names ``Wx, Wh, bh, Wy, by`` themselves.

Anything else (an LSTM or GRU, a second layer, a bidirectional or projected RNN, a vocabulary other
than 256 bytes, two candidate readouts) is refused in one sentence that names what was found and
what would work. Nothing here checks values (the model does: NaN, Inf).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from factormap.engine.config import VOCAB
from factormap.engine.errors import ModelError

NATIVE_NAMES = ("Wx", "Wh", "bh", "Wy", "by")

_RNN_SUFFIXES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")

_COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}

_WORKS = "a single-layer nn.RNN(nonlinearity='tanh') over one-hot bytes or an nn.Embedding(256, E), and an nn.Linear(H, 256)"


def to_numpy(value) -> np.ndarray:
    """``value`` as a numpy array: a torch tensor (detached and moved to the CPU first) or any array-like."""
    for step in ("detach", "cpu"):
        method = getattr(value, step, None)
        if callable(method) and not isinstance(value, np.ndarray):
            value = method()
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    return np.asarray(value)


def flatten(state: Mapping, prefix: str = "") -> dict[str, object]:
    """``state`` with nested mappings flattened into one level, their keys joined with ``.``."""
    flat: dict[str, object] = {}
    for key, value in state.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _one(arrays: dict[str, np.ndarray], suffix: str, source: str) -> str | None:
    keys = [k for k in arrays if k == suffix or k.endswith(f".{suffix}")]
    if len(keys) > 1:
        raise ModelError(f"{source}: {len(keys)} recurrent layers ({', '.join(keys)}); this tool reads one: {_WORKS}")
    return keys[0] if keys else None


def _refuse_other_recurrences(arrays: dict[str, np.ndarray], source: str) -> None:
    layers = sorted({k.rsplit("_l", 1)[1].split("_")[0] for k in arrays if "weight_hh_l" in k})
    if len(layers) > 1 or any(layer != "0" for layer in layers):
        count = _COUNT_WORDS.get(len(layers), str(len(layers))) + (" layers" if len(layers) > 1 else " layer")
        raise ModelError(f"{source}: an RNN of {count} (weight_hh_l{', _l'.join(layers)}); "
                         f"this tool reads {_WORKS}")
    extra = [k for k in arrays if k.endswith("_reverse") or "weight_hr_l" in k]
    if extra:
        raise ModelError(f"{source}: a bidirectional or projected RNN ({extra[0]}); this tool reads {_WORKS}")


def _linear_pairs(arrays: dict[str, np.ndarray], skip: set[str]) -> list[tuple[str, str | None]]:
    """(weight key, bias key or None) of every 2-D ``*weight`` array not in ``skip``."""
    pairs = []
    for key, arr in arrays.items():
        if key in skip or arr.ndim != 2 or not (key == "weight" or key.endswith(".weight")):
            continue
        bias = key[: -len("weight")] + "bias"
        pairs.append((key, bias if bias in arrays else None))
    return pairs


def _readout(arrays, skip, hidden, source) -> tuple[str, str | None]:
    candidates = [(w, b) for w, b in _linear_pairs(arrays, skip) if arrays[w].shape[1] == hidden
                  and (b is not None or arrays[w].shape[0] == VOCAB)]
    with_bias = [c for c in candidates if c[1] is not None]
    if len(with_bias) == 1:
        candidates = with_bias
    if len(candidates) != 1:
        found = ", ".join(f"{w} {arrays[w].shape}" for w, _ in candidates) or "none"
        raise ModelError(f"{source}: needs one nn.Linear(H={hidden}, 256) readout, found {found}")
    weight, bias = candidates[0]
    if arrays[weight].shape[0] != VOCAB:
        raise ModelError(f"{source}: the readout {weight} predicts {arrays[weight].shape[0]} symbols; "
                         f"this tool models a vocabulary of 256 bytes")
    return weight, bias


def _input_weights(arrays, w_ih_key, skip, source) -> tuple[np.ndarray, set[str]]:
    w_ih = arrays[w_ih_key]
    width = w_ih.shape[1]
    embeds = [w for w, b in _linear_pairs(arrays, skip) if b is None and arrays[w].shape[1] == width
              and (arrays[w].shape[0] == VOCAB or "emb" in w or "encoder" in w)]
    if width == VOCAB and not embeds:
        return w_ih, set()
    if len(embeds) != 1:
        found = ", ".join(f"{w} {arrays[w].shape}" for w in embeds) or "no embedding"
        raise ModelError(f"{source}: {w_ih_key} reads {width} inputs and {found} matches; this tool reads "
                         f"one-hot bytes (width 256) or one nn.Embedding(256, {width})")
    table = arrays[embeds[0]]
    if table.shape[0] != VOCAB:
        raise ModelError(f"{source}: the embedding {embeds[0]} has {table.shape[0]} rows; this tool models "
                         f"a vocabulary of 256 bytes")
    return w_ih.astype(np.float64) @ table.astype(np.float64).T, {embeds[0]}


def arrays_from_state_dict(state: Mapping, source: str = "<state_dict>") -> dict[str, np.ndarray]:
    """The arrays ``Wx, Wh, bh, Wy, by`` of the char RNN described by ``state`` (see the module doc).

    Parameters
    ----------
    state
        parameter name -> tensor or array-like, possibly nested (``{'rnn': {...}, 'lin': {...}}``).
    source
        the file or object named in error messages.

    Raises
    ------
    ModelError
        the parameters are not one supported RNN with a 256-byte readout.
    """
    arrays = {k: to_numpy(v) for k, v in flatten(state).items()}
    if all(n in arrays for n in NATIVE_NAMES):
        return {n: arrays[n] for n in NATIVE_NAMES}
    _refuse_other_recurrences(arrays, source)
    keys = {s: _one(arrays, s, source) for s in _RNN_SUFFIXES}
    if keys["weight_hh_l0"] is None or keys["weight_ih_l0"] is None:
        names = ", ".join(list(arrays)[:6]) + (", ..." if len(arrays) > 6 else "")
        raise ModelError(f"{source}: no weight_ih_l0/weight_hh_l0 and not the arrays {', '.join(NATIVE_NAMES)} "
                         f"(found {names or 'nothing'}); this tool reads {_WORKS}")
    w_hh = arrays[keys["weight_hh_l0"]]
    hidden = w_hh.shape[1] if w_hh.ndim == 2 else -1
    if w_hh.ndim != 2 or w_hh.shape[0] != hidden:
        gates = {4 * hidden: "an LSTM (4 gates)", 3 * hidden: "a GRU (3 gates)"}.get(w_hh.shape[0], "not square")
        raise ModelError(f"{source}: {keys['weight_hh_l0']} is {'x'.join(map(str, w_hh.shape))}: {gates}; "
                         f"this tool reads {_WORKS}")
    used = {k for k in keys.values() if k}
    wx, embed = _input_weights(arrays, keys["weight_ih_l0"], used, source)
    used |= embed
    weight, bias = _readout(arrays, used, hidden, source)
    bh = np.zeros(hidden, np.float64)
    for k in (keys["bias_ih_l0"], keys["bias_hh_l0"]):
        if k:
            bh = bh + arrays[k].astype(np.float64)
    by = arrays[bias] if bias else np.zeros(VOCAB, w_hh.dtype)
    return {"Wx": wx, "Wh": w_hh, "bh": bh, "Wy": arrays[weight], "by": by}
