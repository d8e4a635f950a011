"""Deterministic test signals: the corner cases of a fixed-point front end.

Shared by the golden vectors, the tests and the benchmark, so every one of them exercises
the same inputs.
"""

from __future__ import annotations

import numpy as np


def corner_cases(n: int, rate: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Named int16 signals of ``n`` samples: silence, extremes, clipping, DC, noise, tones."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    out = {
        "silence": np.zeros(n, dtype=np.int16),
        "square_fullscale": np.where((t // 25) % 2 == 0, 32767, -32768).astype(np.int16),
        "min_value": np.full(n, -32768, dtype=np.int16),
        "dc_offset": np.full(n, 9000, dtype=np.int16) + rng.integers(-40, 41, n).astype(np.int16),
        "clipped_sine": np.clip(np.round(100000 * np.sin(2 * np.pi * 440 * t / rate)), -32768, 32767).astype(np.int16),
        "white_noise": rng.integers(-32768, 32768, n).astype(np.int16),
        "quiet_noise": rng.integers(-3, 4, n).astype(np.int16),
        "impulses": np.zeros(n, dtype=np.int16),
        "chirp": np.round(20000 * np.sin(2 * np.pi * (50 + 3950 * t / (2 * n)) * t / rate)).astype(np.int16),
    }
    out["impulses"][::997] = -32768
    out["impulses"][500::1499] = 32767
    return out
