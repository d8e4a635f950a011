"""Clip quality figures and the validation rules that quarantine bad clips.

Figures are computed on 16 kHz int16 audio with 20 ms frames (10 ms hop):

- ``snr_db``: speech level (95th percentile frame energy) over the noise floor (10th
  percentile), capped at 100 dB (digital silence has no floor);
- ``speech_ms``: span from the first to the last frame within 40 dB of the speech level and
  6 dB above the floor (an energy detector);
- ``clip_ratio``: fraction of samples at full scale; ``dc_offset``: |mean| / 32768;
  ``peak_dbfs``: peak level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_MS, HOP_MS = 20, 10
SNR_CAP_DB = 100.0


@dataclass(frozen=True)
class Quality:
    duration_s: float
    snr_db: float
    speech_ms: float
    clip_ratio: float
    dc_offset: float
    peak_dbfs: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(float(v), 4) for k, v in self.__dict__.items()}


def frame_energy_db(pcm: np.ndarray, rate: int) -> np.ndarray:
    n, h = rate * FRAME_MS // 1000, rate * HOP_MS // 1000
    x = pcm.astype(np.float64) / 32768.0
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::h]
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def _levels(e: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(noise floor, speech level, indices of active frames) of frame energies in dB."""
    floor, level = float(np.percentile(e, 10)), float(np.percentile(e, 95))
    return floor, level, np.nonzero(e > max(floor + 6.0, level - 40.0))[0]


def measure(pcm: np.ndarray, rate: int) -> Quality:
    e = frame_energy_db(pcm, rate)
    floor, level, active = _levels(e)
    snr = min(SNR_CAP_DB, level - floor) if floor > -119 else SNR_CAP_DB
    speech_ms = (active[-1] - active[0]) * HOP_MS + FRAME_MS if active.size else 0.0
    a = np.abs(pcm.astype(np.int32))
    peak = a.max() if a.size else 0
    return Quality(
        duration_s=pcm.size / rate,
        snr_db=float(snr),
        speech_ms=float(speech_ms),
        clip_ratio=float(np.mean(a >= 32767)) if a.size else 0.0,
        dc_offset=float(abs(pcm.astype(np.float64).mean()) / 32768.0) if a.size else 0.0,
        peak_dbfs=float(20 * np.log10(max(peak, 1) / 32768.0)),
    )


def speech_bounds(pcm: np.ndarray, rate: int) -> tuple[int, int]:
    """(first, last) sample of the detected speech region (whole clip if none)."""
    _, _, active = _levels(frame_energy_db(pcm, rate))
    if not active.size:
        return 0, pcm.size
    h, n = rate * HOP_MS // 1000, rate * FRAME_MS // 1000
    return int(active[0] * h), int(min(pcm.size, active[-1] * h + n))


def violations(q: Quality, *, label_kind: str, cfg) -> list[tuple[str, str]]:
    """Rules broken by a clip: [(reason code, human detail)]. ``label_kind`` is keyword,
    unknown or silence; ``cfg`` a :class:`kws.data.task.ValidateConfig`."""
    out = []
    if q.duration_s < cfg.min_duration_s:
        out.append(("too_short", f"{q.duration_s:.3f} s < {cfg.min_duration_s} s"))
    if q.duration_s > cfg.max_duration_s:
        out.append(("too_long", f"{q.duration_s:.3f} s > {cfg.max_duration_s} s"))
    if q.clip_ratio > cfg.max_clip_ratio:
        out.append(("clipping", f"{q.clip_ratio:.2%} of samples at full scale > {cfg.max_clip_ratio:.2%}"))
    if q.dc_offset > cfg.max_dc_offset:
        out.append(("dc_offset", f"DC offset {q.dc_offset:.3f} of full scale > {cfg.max_dc_offset}"))
    if label_kind != "silence":
        if q.peak_dbfs < cfg.min_peak_dbfs:
            out.append(("silent", f"peak {q.peak_dbfs:.1f} dBFS < {cfg.min_peak_dbfs} dBFS"))
        elif q.snr_db < cfg.min_snr_db:
            out.append(("low_snr", f"estimated SNR {q.snr_db:.1f} dB < {cfg.min_snr_db} dB"))
    if label_kind == "keyword":
        lo, hi = cfg.keyword_speech_ms
        if q.speech_ms < lo or q.speech_ms > hi:
            out.append(("speech_duration", f"speech {q.speech_ms:.0f} ms outside [{lo:.0f}, {hi:.0f}] ms"))
    return out
