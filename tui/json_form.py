"""The one JSON convention of every command's ``--json`` and of the dashboard's saved numbers.

- One object; related quantities nest under the name of what they belong to
  (``{"word_len": {"cov_direction": {"r": 0.93}}}``); a dotted name in the documentation
  (``word_len.cov_direction.r``) is the path to a value, never a key.
- Keys are snake_case names of the quantity; numbers are JSON numbers, a quantity that does not
  exist (NaN) or overflowed (±Inf) is ``null``; arrays are lists; positions are 0-based.
- A byte is a number 0..255; a byte string is a string of one character per byte, U+0000..U+00FF
  (``s.encode("latin-1")`` gives the bytes back exactly), never a display escape.
"""

from __future__ import annotations

import math

import numpy as np


def json_ready(obj):
    """``obj`` with numpy arrays and scalars as plain lists and numbers, NaN and Inf as None (JSON null),
    bytes as latin-1 strings (one character per byte), and dotted keys as nested objects
    (``{"band.min": x}`` becomes ``{"band": {"min": x}}``)."""
    if isinstance(obj, dict):
        return nested({str(k): json_ready(v) for k, v in obj.items()})
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("latin-1")
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def nested(flat: dict) -> dict:
    """``flat`` with every dotted key split into nested objects, in first-seen order.

    Raises:
        ValueError: when a dotted path passes through a key that already holds a value (the
            figure would be lost); a command's keys must name distinct paths.
    """
    out: dict = {}
    for key, value in flat.items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"JSON key {key!r} passes through {part!r}, which holds a value")
        if last in node and isinstance(node[last], dict) and isinstance(value, dict):
            node[last].update(value)
        elif last in node:
            raise ValueError(f"JSON key {key!r} is given twice")
        else:
            node[last] = value
    return out
