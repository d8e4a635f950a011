"""`kws listen`: the host reference pipeline on a microphone, printing detections as they
happen: what the device would report for the same sound, computed on the PC."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from kws.live.mic import open_input, read_block
from kws.reference.pipeline import ReferencePipeline
from kws.release.thresholds import threshold_overrides


@dataclass
class ListenResult:
    events: list = field(default_factory=list)  # (seconds, label, score)
    samples: int = 0
    overflows: int = 0
    interrupted: bool = False


def _level_line(block: np.ndarray, score: float, label: str) -> str:
    rms = math.sqrt(float(np.mean(block.astype(np.float64) ** 2))) if block.size else 0.0
    db = 20 * math.log10(max(rms, 1.0) / 32768)
    bar = "#" * int(max(0.0, db + 90) / 3)
    return f"\r{db:6.1f} dBFS {bar:<30s} top {label:>10s} {score:.2f} "


def listen(
    spec,
    model_dir,
    *,
    device=None,
    seconds: float | None = None,
    level: bool = False,
    threshold: float | None = None,
    thresholds_file=None,
    out=print,
    err=sys.stderr,
) -> ListenResult:
    """Runs until ``seconds`` of audio were heard, or Ctrl-C (the stream is closed either way).
    ``threshold``: one posterior threshold for every keyword instead of the model's calibrated ones;
    ``thresholds_file``: per-keyword ones from a calibration (kws.release.thresholds)."""
    pipe = ReferencePipeline(spec, model_dir)
    override = threshold_overrides(pipe.model, threshold=threshold, file=thresholds_file)
    if override is not None:
        pipe.thresholds = override
    ps = pipe.stream()
    fe = spec.frontend
    rate = fe.sample_rate_hz
    block = fe.hop_samples * spec.detector.stride_frames  # one network run per block
    res = ListenResult()
    limit = int(round(seconds * rate)) if seconds else None
    stream = open_input(device, rate=rate, block=block)
    out(
        f"listening on {device if device is not None else 'the default input'} ({rate} Hz) with "
        f"{pipe.model.name}: {', '.join(pipe.labels[2:])}, "
        + (
            f"threshold {threshold} for every keyword"
            if threshold is not None
            else f"the thresholds of {thresholds_file}"
            if thresholds_file is not None
            else "its calibrated thresholds"
            if pipe.thresholds
            else f"the default threshold {spec.detector.threshold}"
        )
        + "; Ctrl-C to stop"
    )
    t0 = time.monotonic()
    try:
        with stream:
            while limit is None or res.samples < limit:
                n = block if limit is None else min(block, limit - res.samples)
                pcm, overflowed = read_block(stream, n)
                res.overflows += overflowed
                res.samples += pcm.size
                for ev in ps.push(pcm):
                    t = ev.sample / rate
                    score = ev.score_q / (1 << spec.detector.posterior_frac_bits)
                    res.events.append((t, pipe.labels[ev.label], score))
                    if level:
                        err.write("\n")
                    out(f"{t:9.2f} s  {pipe.labels[ev.label]:10s} score {score:.3f}  (sample {ev.sample})")
                if level and ps.last_logits is not None:
                    from kws.reference.detector import posteriors

                    p = posteriors(ps.last_logits[None], ps.detector.lut, spec.detector.posterior_frac_bits)[0]
                    k = int(np.argmax(p[2:])) + 2
                    err.write(_level_line(pcm, p[k] / (1 << spec.detector.posterior_frac_bits), pipe.labels[k]))
                    err.flush()
    except KeyboardInterrupt:
        res.interrupted = True
    if level:
        err.write("\n")
    wall = time.monotonic() - t0
    out(
        f"{len(res.events)} detections in {res.samples / rate:.1f} s of audio ({wall:.1f} s wall)"
        + (f"; {res.overflows} input overflows (audio lost: the host was too slow)" if res.overflows else "")
    )
    return res
