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


def _music(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Generated music: a melody (or a sung vowel: a pulse train through the vowel's formants) over
    chords and a bass line in one key, notes on a beat of 70-160 bpm, with a drum on some beats.
    No recording: a stand-in for radio and television, which recorded noise rarely covers."""
    from scipy.signal import lfilter

    t = np.arange(n) / rate
    beat = int(rate * 60.0 / rng.uniform(70, 160))
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    scale = np.array([0, 2, 4, 5, 7, 9, 11] if rng.random() < 0.5 else [0, 2, 3, 5, 7, 8, 10])
    x = np.zeros(n)

    def tone(f0: float, m: int, harmonics: int, decay: float) -> np.ndarray:
        tt = t[:m]
        vib = 1 + 0.004 * np.sin(2 * np.pi * rng.uniform(4, 7) * tt)
        amps = rng.uniform(0.3, 1.0, harmonics) / np.arange(1, harmonics + 1)
        y = sum(a * np.sin(2 * np.pi * f0 * (k + 1) * tt * vib) for k, a in enumerate(amps) if f0 * (k + 1) < rate / 2)
        return y * np.exp(-tt * decay) * np.minimum(1, tt * 200)

    sung = rng.random() < 0.5
    formants = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410)]
    pos, bar = 0, 0
    while pos < n:
        chord = scale[rng.integers(0, 7)]
        m = min(4 * beat, n - pos)
        for step in (0, 2, 4):  # the bar's chord, held
            f = root * 2 ** ((chord + scale[(step + int(np.where(scale == chord)[0][0])) % 7] - chord) / 12)
            x[pos : pos + m] += 0.25 * tone(f * 2, m, 4, 0.5)
        x[pos : pos + m] += 0.5 * tone(root / 2 * 2 ** (chord / 12), m, 6, 1.5)  # bass
        for b in range(4):  # melody: one or two notes a beat
            for half in range(rng.integers(1, 3)):
                a = pos + b * beat + half * beat // 2
                mm = min(beat // 2 if half or rng.random() < 0.5 else beat, n - a)
                if mm <= 0:
                    continue
                f = root * 2 * 2 ** ((scale[rng.integers(0, 7)] + 12 * rng.integers(0, 2)) / 12)
                if sung:  # a glottal pulse train at the note's pitch through a vowel's formants
                    pulses = np.zeros(mm)
                    pulses[:: max(1, int(rate / f))] = 1.0
                    y = pulses
                    for fc in formants[rng.integers(len(formants))]:
                        r = np.exp(-np.pi * 80 / rate)
                        y = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * fc / rate), r * r], y)
                    x[a : a + mm] += (
                        8
                        * y
                        * np.minimum(1, np.arange(mm) / (0.03 * rate))
                        * np.minimum(1, (mm - np.arange(mm)) / (0.03 * rate))
                    )
                else:
                    x[a : a + mm] += tone(f, mm, 8, 2.0)
            if rng.random() < 0.6:  # drum: a thump and a burst of noise
                a = pos + b * beat
                mm = min(int(0.15 * rate), n - a)
                if mm > 0:
                    env = np.exp(-np.arange(mm) / (0.03 * rate))
                    x[a : a + mm] += env * (np.sin(2 * np.pi * 60 * t[:mm]) + 0.3 * rng.standard_normal(mm))
        pos += 4 * beat
        bar += 1
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
    elif kind == "music":
        x = _music(rng, n, rate)
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
