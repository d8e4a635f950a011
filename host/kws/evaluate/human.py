"""A released model on recorded human speech (kws.data.alsa_voice: alsa-utils' speaker-test voice):
what the detector finds at the model's calibrated thresholds and at the spec's default, along the
threshold sweep, what its false accepts heard, and optionally the keyword-spotter firmware in
QEMU against the host on the same stream. Used by bench/human_voice.py and kws demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kws.audio import read_wav
from kws.data.alsa_voice import make_stream
from kws.evaluate.run import evaluate
from kws.reference.pipeline import ReferencePipeline


def _point(tot: dict) -> dict:
    return {k: tot[k] for k in ("frr", "false_accepts", "occurrences", "latency_ms_p50", "latency_ms_p95")}


def human_voice(spec, model_dir: str | Path, work_dir: str | Path, *, device: bool = True) -> dict:
    model_dir, work_dir = Path(model_dir), Path(work_dir)
    pipe = ReferencePipeline(spec, model_dir)
    streams = work_dir / "streams"
    summary = make_stream(streams, pipe.labels)
    released = pipe.model.thresholds
    res = evaluate(spec, model_dir, streams, work_dir / "eval", fixed_thresholds=released)
    at_released = res["at_fixed"] if released else res["at_default_threshold"]
    out = {
        "model": str(model_dir),
        "stream": summary,
        "released_thresholds": released,
        "default_threshold": spec.detector.threshold,
        "at_released_thresholds": _point(at_released),
        "at_default_threshold": _point(res["at_default_threshold"]),
        "false_accepts_heard_at_default": res.get("false_accepts_heard", {}).get("at_default_threshold"),
        "det_all": [{k: p[k] for k in ("threshold", "frr", "false_accepts")} for p in res["det_all"]],
        "note": "one recorded speaker, six keywords: a sanity check, not an accuracy figure",
    }
    if device:
        from kws.device.qemu import run_app

        pcm = read_wav(streams / f"{summary['name']}.wav", expected_rate=spec.frontend.sample_rate_hz)
        logits, events = pipe.run(pcm)
        dev = run_app(pcm, work_dir / "qemu", model=pipe.model.firmware)
        got = dev["logits"].reshape(-1, logits.shape[1])
        host_events = [(e.label, e.score_q, e.sample) for e in events]
        out["device_qemu"] = {
            "windows": int(logits.shape[0]),
            "windows_equal": int(np.sum(np.all(got == logits, axis=1))) if got.shape == logits.shape else 0,
            "events_host": host_events,
            "events_device": dev["events"],
            "events_equal": host_events == dev["events"],
        }
    return out
