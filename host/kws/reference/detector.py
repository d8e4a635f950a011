"""The streaming detector: the host reference of firmware/core/kws_detector.c, event for event.

Per network run (every ``stride_frames`` hops once ``window_frames`` frames exist):

1. posteriors: integer softmax of the int8 logits, ``p_i = floor(L[m - q_i] * 2^F / sum_j L[m - q_j])``
   with ``m = max q``, ``L[d] = round(exp(-d * output_scale) * 2^F)`` (256 entries, F =
   ``posterior_frac_bits``; generated with the network so both sides share it);
2. smoothing: per class, the sum of the last ``smooth_windows`` posteriors (fewer at the start);
3. decision: among keyword classes (not silence / unknown), the largest smoothed sum that
   reaches ``threshold_k * smooth_windows`` fires, unless within the refractory period of the
   previous event; ties go to the lower class index;
4. event: (class, score = smoothed sum // smooth_windows in Q(F), sample index = samples
   consumed when the window's last frame completed).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np


def exp_lut(output_scale: float, frac_bits: int) -> np.ndarray:
    """uint16 [256]: round(exp(-d * scale) * 2^frac_bits)."""
    d = np.arange(256, dtype=np.float64)
    return np.floor(np.exp(-d * float(np.float32(output_scale))) * (1 << frac_bits) + 0.5).astype(np.uint16)


def exp_lut_len(lut: np.ndarray) -> int:
    """Entries of ``lut`` up to its last non-zero one: the device stores only those and reads 0
    past them (the released commands model's table ends at entry 44: 424 B of flash less)."""
    nz = np.nonzero(lut)[0]
    return int(nz[-1]) + 1 if nz.size else 1


def threshold_q(threshold: float, frac_bits: int) -> int:
    return int(math.floor(threshold * (1 << frac_bits) + 0.5))


BACKGROUND_CLASSES = 2  # classes 0 and 1 (_silence_, _unknown_): never events; keywords follow


def class_thresholds_q(det, labels, calibrated: dict[str, float] | None = None) -> list[int]:
    """Q(frac) threshold per class: the model manifest's calibrated value for a keyword when it
    has one, else the spec's default; 0 for _silence_ and _unknown_ (classes 0 and 1, never
    events). The device's ``kws_det_threshold`` table is this list."""
    cal = calibrated or {}
    return [
        threshold_q(cal.get(lab, det.threshold), det.posterior_frac_bits) if i >= BACKGROUND_CLASSES else 0
        for i, lab in enumerate(labels)
    ]


def detector_hash32(det, calibrated: dict[str, float] | None = None) -> int:
    """The detector's identity in the device handshake: the spec's detector hash, combined with
    the calibrated thresholds when the model carries them (a device built with other thresholds
    would fire differently, so it must not pass for this one)."""
    if not calibrated:
        return int(det.hash[:8], 16)
    key = json.dumps(
        {"detector": det.hash, "thresholds": {k: float(v) for k, v in sorted(calibrated.items())}}, sort_keys=True
    )
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def refractory_runs(det, hop_samples: int, sample_rate: int) -> int:
    """Network runs covered by refractory_ms (ceiling)."""
    run_ms = det.stride_frames * hop_samples * 1000 / sample_rate
    return int(math.ceil(det.refractory_ms / run_ms)) if det.refractory_ms else 0


def posteriors(logits: np.ndarray, lut: np.ndarray, frac_bits: int) -> np.ndarray:
    """Integer softmax of int8 logits [..., classes] -> Q(frac_bits) int64."""
    q = logits.astype(np.int64)
    e = lut.astype(np.int64)[q.max(axis=-1, keepdims=True) - q]
    return (e << frac_bits) // e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Event:
    label: int
    score_q: int
    sample: int


class Detector:
    """Feed int8 logits of consecutive network runs; get events."""

    def __init__(
        self, det, *, keyword_classes: list[int], lut: np.ndarray, thresholds_q: dict[int, int], refractory: int
    ):
        self.det = det
        self.keywords = list(keyword_classes)
        self.lut = lut
        self.thr = thresholds_q
        self.refractory = refractory
        self.history: list[np.ndarray] = []
        self.hold = 0

    def push(self, logits: np.ndarray, end_sample: int) -> Event | None:
        p = posteriors(np.asarray(logits)[None, :], self.lut, self.det.posterior_frac_bits)[0]
        self.history.append(p)
        if len(self.history) > self.det.smooth_windows:
            self.history.pop(0)
        smooth = np.sum(self.history, axis=0)
        if self.hold > 0:
            self.hold -= 1
            return None
        best, best_sum = None, -1
        for k in self.keywords:
            if smooth[k] >= self.thr[k] * self.det.smooth_windows and smooth[k] > best_sum:
                best, best_sum = k, int(smooth[k])
        if best is None:
            return None
        self.hold = self.refractory
        return Event(best, best_sum // self.det.smooth_windows, end_sample)


def window_ends(num_frames: int, spec) -> list[int]:
    """Index of the last frame of every network window over ``num_frames`` frames."""
    f, s = spec.model.window_frames, spec.detector.stride_frames
    return list(range(f - 1, num_frames, s))


def run_stream(features: np.ndarray, infer, spec, detector: Detector) -> tuple[np.ndarray, list[Event]]:
    """Reference pipeline over a whole stream of int8 features [frames, cepstra]: every
    window's logits ([windows, classes]) and the events. ``infer`` maps int8 windows
    [N, frames, cepstra] to int8 logits [N, classes]."""
    ends = window_ends(features.shape[0], spec)
    f = spec.model.window_frames
    fe = spec.frontend
    if not ends:
        return np.zeros((0, 0), np.int8), []
    windows = np.stack([features[t - f + 1 : t + 1] for t in ends])
    logits = infer(windows)
    events = []
    for t, lg in zip(ends, logits):
        ev = detector.push(lg, t * fe.hop_samples + fe.window_samples)
        if ev is not None:
            events.append(ev)
    return logits, events


class BatchDetector:
    """The same decisions as :class:`Detector` over a whole stream of logits at once, for
    threshold sweeps: posteriors and smoothed sums are computed once (vectorized); each
    threshold set then needs one vectorized comparison and a walk over candidate windows only.
    Tests hold it equal to :class:`Detector`, event for event."""

    def __init__(self, det, logits: np.ndarray, *, keyword_classes: list[int], lut: np.ndarray, refractory: int):
        self.det = det
        self.keywords = np.asarray(keyword_classes)
        self.refractory = refractory
        p = posteriors(np.asarray(logits), lut, det.posterior_frac_bits)  # [runs, classes]
        c = np.cumsum(np.vstack([np.zeros((1, p.shape[1]), np.int64), p]), axis=0)
        w = det.smooth_windows
        idx = np.arange(p.shape[0])
        self.smooth = c[idx + 1] - c[np.maximum(idx + 1 - w, 0)]  # sum of the last <= w runs

    def events(self, thresholds_q: dict[int, int], end_samples) -> list[Event]:
        w = self.det.smooth_windows
        kw = self.keywords
        s = self.smooth[:, kw]
        thr = np.array([thresholds_q[int(k)] for k in kw], np.int64) * w
        ok = s >= thr[None, :]
        masked = np.where(ok, s, -1)
        cand = np.nonzero(ok.any(axis=1))[0]
        out, hold_until = [], -1
        for i in cand.tolist():
            if i <= hold_until:
                continue
            j = int(np.argmax(masked[i]))  # first maximum: the lower class index, as Detector
            out.append(Event(int(kw[j]), int(masked[i, j]) // w, int(end_samples[i])))
            hold_until = i + self.refractory
        return out
