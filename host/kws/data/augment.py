"""Augmentation, reproducible: every random draw is seeded from (clip id, copy index, config).

One call turns a clip into one augmented copy: a voice shift on a share ``voice_prob`` of copies
(every frequency, pitch and formants, times a factor, the duration kept: a shorter or longer vocal
tract, as from a man's voice to a child's), speed perturbation (pitch and tempo), time
shift (kept within the clip's speech margins, so a word is moved, never cut; a share of copies
``end_align_prob`` puts the speech's end within ``end_align_ms`` of the clip's end, where a
streaming window sits when the detector should fire), simulated room reverberation (exponentially decaying noise impulse response with a
drawn RT60), gain, and background noise mixed at a drawn SNR (backgrounds must come from the
same split as the clip: the caller passes them).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
from scipy.signal import fftconvolve

from kws.data.quality import speech_bounds
from kws.data.tts import speed_perturb
from kws.spec import SAMPLE_RATE


def seed_for(clip_id: str, index: int, cfg) -> int:
    key = json.dumps([clip_id, index, cfg.key()], sort_keys=True)
    return int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)


def room_impulse_response(rt60_s: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Direct path plus exponentially decaying noise reaching -60 dB at ``rt60_s``."""
    n = int(rate * min(rt60_s * 1.2, 1.0))
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)
    tail[: int(0.002 * rate)] = 0.0  # pre-delay before reflections
    h = 0.3 * tail / (np.sqrt(np.sum(tail**2)) + 1e-12)
    h[0] = 1.0
    return h


def voice_shift(pcm: np.ndarray, factor: float) -> np.ndarray:
    """Every frequency of int16 ``pcm`` times ``factor`` with its duration kept: a WSOLA time
    stretch to ``factor`` times the duration (audiotsm; pitch kept), then played ``factor`` times
    faster by resampling; the same number of samples, aligned at the start. Deterministic."""
    from audiotsm import wsola
    from audiotsm.io.array import ArrayReader, ArrayWriter

    x = np.concatenate([np.asarray(pcm, dtype=np.float32) / 32768, np.zeros(2048, np.float32)])
    out = ArrayWriter(1)  # (audiotsm drops the last frame: the zeros)
    wsola(1, speed=1 / factor).run(ArrayReader(x[None, :]), out)
    y = speed_perturb(np.clip(np.round(out.data[0] * 32768), -32768, 32767).astype(np.int16), factor)[: pcm.size]
    return np.concatenate([y, np.zeros(pcm.size - y.size, np.int16)])


def lpc_vocode(pcm: np.ndarray, rng: np.random.Generator, rate: int = SAMPLE_RATE) -> np.ndarray:
    """int16 ``pcm`` resynthesized the way LPC diphone voices speak (festival's ``kal_diphone``,
    flite's ``kal16`` and ``rms``): per 10 ms hop an all-pole filter (order drawn from 12-18, from
    the autocorrelation of a 20 ms Hann window) excited by a pulse train at the residual's pitch
    where it is voiced, white noise where not, each with the residual's energy; loudness kept.
    The spectral envelope is the clip's own, the excitation the buzz of a vocoder."""
    from scipy.linalg import solve_toeplitz
    from scipy.signal import lfilter

    x = np.asarray(pcm, dtype=np.float64) / 32768
    order = int(rng.integers(12, 19))
    hop, win = rate // 100, rate // 50
    lo, hi = rate // 400, rate // 60  # pitch 60-400 Hz
    pad = np.concatenate([np.zeros(win), x, np.zeros(win)])
    w = np.hanning(win)
    y = np.zeros(x.size)
    zi = np.zeros(order)
    next_pulse = 0
    for a0 in range(0, x.size, hop):
        seg = pad[a0 + win - win // 2 + hop // 2 : a0 + win + win // 2 + hop // 2] * w
        r = np.correlate(seg, seg, "full")[win - 1 : win + order]
        if r[0] < 1e-10:
            y[a0 : a0 + hop] = 0.0
            continue
        r[0] *= 1.0001  # white-noise correction: a stable filter
        a = np.concatenate([[1.0], solve_toeplitz(r[:order], -r[1 : order + 1])])
        cur = pad[a0 + win - order : a0 + win + hop]
        e = lfilter(a, [1.0], cur)[order:]  # the residual over this hop
        n = e.size
        energy = float(np.sum(e**2))
        seg_e = lfilter(a, [1.0], seg)
        ac = np.correlate(seg_e, seg_e, "full")[win - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        exc = np.zeros(n)
        if ac[0] > 0 and ac[lag] / ac[0] > 0.3:  # voiced: pulses at the residual's period
            while next_pulse < a0 + n:
                if next_pulse >= a0:
                    exc[next_pulse - a0] = 1.0
                next_pulse += lag
        else:
            exc = rng.standard_normal(n)
            next_pulse = a0 + n
        exc *= np.sqrt(energy / max(float(np.sum(exc**2)), 1e-12))
        out, zi = lfilter([1.0], a, exc, zi=zi)
        y[a0 : a0 + n] = out
    rms_in, rms_out = np.sqrt(np.mean(x**2)), np.sqrt(np.mean(y**2))
    y *= rms_in / rms_out if rms_out > 0 else 0.0
    peak = np.max(np.abs(y)) if y.size else 0.0
    if peak > 0.9:  # pulses are peakier than speech: no clipping
        y *= 0.9 / peak
    return np.clip(np.round(y * 32768), -32768, 32767).astype(np.int16)


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if x.size >= n:
        a = (x.size - n) // 2
        return x[a : a + n]
    out = np.zeros(n, dtype=x.dtype)
    a = (n - x.size) // 2
    out[a : a + x.size] = x
    return out


def augment(
    pcm: np.ndarray,
    *,
    clip_id: str,
    index: int,
    cfg,
    backgrounds: list[np.ndarray],
    is_speech: bool = True,
    rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """One augmented int16 copy of ``pcm`` (same length), deterministic for its arguments."""
    rng = np.random.default_rng(seed_for(clip_id, index, cfg))
    n = pcm.size
    x = np.asarray(pcm, dtype=np.int16)
    if cfg.voice_prob and is_speech and rng.random() < cfg.voice_prob:  # no draw while off: older bytes kept
        x = voice_shift(x, float(np.exp(rng.uniform(*np.log(cfg.voice_shift)))))
    if cfg.lpc_prob and is_speech and rng.random() < cfg.lpc_prob:  # no draw while off: older bytes kept
        x = lpc_vocode(x, rng)
    x = _fit(speed_perturb(x, rng.uniform(*cfg.speed_range)), n).astype(np.float64)
    shift = int(rng.uniform(-cfg.shift_ms, cfg.shift_ms) * rate / 1000)
    end_gap = int(rng.uniform(0, cfg.end_align_ms) * rate / 1000) if rng.random() < cfg.end_align_prob else None
    if is_speech:  # move the speech, never out of the clip: a cut word is another word
        a, b = speech_bounds(np.clip(np.round(x), -32768, 32767).astype(np.int16), rate)
        if end_gap is not None:  # the speech just ended: the window a streaming detector fires on
            shift = n - end_gap - b
        shift = int(np.clip(shift, min(0, -a), max(0, n - b)))
    x = np.roll(x, shift)
    if shift > 0:
        x[:shift] = 0
    elif shift < 0:
        x[shift:] = 0
    if rng.random() < cfg.reverb_prob:
        x = fftconvolve(x, room_impulse_response(rng.uniform(*cfg.rt60_s), rate, rng))[:n]
    x *= 10 ** (rng.uniform(*cfg.gain_db) / 20)
    if backgrounds and rng.random() < cfg.noise_prob:
        bg = backgrounds[rng.integers(len(backgrounds))].astype(np.float64)
        if bg.size < n:
            bg = np.tile(bg, n // bg.size + 1)
        start = rng.integers(0, bg.size - n + 1)
        bg = bg[start : start + n]
        snr = rng.uniform(*cfg.snr_db)
        if is_speech:
            a, b = speech_bounds(np.clip(np.round(x), -32768, 32767).astype(np.int16), rate)
            p_sig = np.mean(x[a:b] ** 2) if b > a else np.mean(x**2)
        else:
            p_sig = np.mean(x**2) + (32768 * 10 ** (-50 / 20)) ** 2
        p_bg = np.mean(bg**2) + 1e-12
        x = x + bg * np.sqrt(p_sig / p_bg / 10 ** (snr / 10))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)
