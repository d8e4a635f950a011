"""TFLM's host interpreter, the oracle the firmware's network must equal bit for bit: int8 logits
of a ``.tflite`` for int8 feature windows."""

from __future__ import annotations

import numpy as np

TFLM_ARENA = 256 * 1024  # bytes of tensor arena: ample for every network the island holds


def tflm_logits(blob: bytes, x: np.ndarray) -> np.ndarray:
    """int8 outputs of TFLM's host interpreter (the firmware's reference) for int8 features [N, F, C]."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(blob, arena_size=TFLM_ARENA)
    out = []
    for xi in x:
        it.set_input(xi[None, ..., None].astype(np.int8), 0)
        it.invoke()
        out.append(it.get_output(0)[0].copy())
    return np.stack(out)
