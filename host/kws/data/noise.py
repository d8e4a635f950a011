"""Background and silence generators: white, pink, brown, hum, clicks, babble.

All seeded; all return int16 at a requested RMS level in dBFS.
"""

from __future__ import annotations

import numpy as np

KINDS = ("white", "pink", "brown", "hum", "clicks", "babble")


def _colored(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f^exponent (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    spec /= f ** (exponent / 2)
    return np.fft.irfft(spec, n)


def _hum(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    base = rng.choice([50.0, 60.0])
    t = np.arange(n) / rate
    x = sum(
        rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 8)
    )
    return x + 0.05 * rng.standard_normal(n)


def _clicks(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    x = 0.02 * rng.standard_normal(n)
    for _ in range(rng.integers(2, 12)):
        at = rng.integers(0, n)
        length = int(rate * rng.uniform(0.001, 0.01))
        seg = rng.standard_normal(min(length, n - at)) * np.exp(-np.arange(min(length, n - at)) / (length / 4))
        x[at : at + seg.size] += rng.uniform(5, 30) * seg
    return x


def scale_to_dbfs(x: np.ndarray, dbfs: float) -> np.ndarray:
    rms = np.sqrt(np.mean(x**2)) + 1e-12
    y = x / rms * (32768.0 * 10 ** (dbfs / 20))
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def background(
    kind: str,
    n: int,
    rate: int,
    dbfs: float,
    rng: np.random.Generator,
    speech: list[np.ndarray] | None = None,
    recorded: list[np.ndarray] | None = None,
) -> np.ndarray:
    """``n`` samples of one kind of background at ``dbfs`` RMS. ``babble`` overlaps 4-8 of the
    given speech clips at random offsets (it needs them); ``recorded`` plays recorded noise clips
    one after another from a random one (it needs them)."""
    if kind == "recorded":
        if not recorded:
            raise ValueError("recorded needs noise recordings")
        parts, have, i = [], 0, int(rng.integers(len(recorded)))
        while have < n:
            parts.append(recorded[i % len(recorded)].astype(np.float64))
            have += parts[-1].size
            i += 1
        x = np.concatenate(parts)[:n]
    elif kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        x = _colored(rng, n, 1.0)
    elif kind == "brown":
        x = _colored(rng, n, 2.0)
    elif kind == "hum":
        x = _hum(rng, n, rate)
    elif kind == "clicks":
        x = _clicks(rng, n, rate)
    elif kind == "babble":
        if not speech:
            raise ValueError("babble needs speech clips")
        x = np.zeros(n)
        for _ in range(rng.integers(4, 9)):
            s = speech[rng.integers(len(speech))].astype(np.float64)
            s = s / (np.sqrt(np.mean(s**2)) + 1e-9)
            if s.size < n:
                s = np.tile(s, n // s.size + 1)
            start = rng.integers(0, s.size - n + 1)
            x += np.roll(s[start : start + n], rng.integers(n))
    else:
        raise ValueError(f"unknown background kind {kind!r}; known {KINDS}")
    return scale_to_dbfs(x, dbfs)
