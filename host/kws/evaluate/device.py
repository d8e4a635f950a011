"""`kws device eval`: a labelled stream through a device over the serial protocol and through
the host reference pipeline; the diff (windows whose logits differ, events that differ) and
both sides' FA/hr, FRR and latency. Expected: zero differences."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from kws.audio import read_wav
from kws.data.streams import read_labels
from kws.evaluate.scoring import score
from kws.reference.pipeline import ReferencePipeline


def device_eval(
    spec,
    model_dir: Path,
    wav: Path,
    *,
    port: str | None = None,
    retries: int = 1,
    thresholds: dict[str, float] | None = None,
) -> dict:
    """``retries``: streams started again from the beginning after the device restarted
    mid-stream or frames were damaged or lost on the link (its results are void,
    kws.device.link.DeviceReset, LinkDamaged); each void attempt is reported.
    ``thresholds``: per keyword, for the device (set over the link for the session) and the
    reference alike, instead of the model's (kws.release.thresholds)."""
    from kws.device.connect import expected_hashes, open_link, thresholds_q
    from kws.device.link import stream_again_on_damage

    pcm = read_wav(wav, expected_rate=spec.frontend.sample_rate_hz)
    labels_path = Path(wav).with_name(Path(wav).stem + ".labels.csv")
    truth = read_labels(labels_path) if labels_path.exists() else []
    pipe = ReferencePipeline(spec, model_dir, thresholds=thresholds)
    ref_logits, ref_events = pipe.run(pcm)
    expect = expected_hashes(spec, pipe.model)
    with contextlib.ExitStack() as stack:
        link = open_link(stack, port, model=pipe.model.firmware)
        r, restarts = stream_again_on_damage(
            link,
            pcm,
            lambda: link.handshake(logits=True, expect=expect, thresholds=thresholds_q(spec, pipe.model, thresholds)),
            retries=retries,
        )
        stats = r.stats
    dev_logits = (
        np.frombuffer(b"".join(r.logits), dtype=np.int8).reshape(-1, ref_logits.shape[1])
        if r.logits
        else np.zeros((0, ref_logits.shape[1]), np.int8)
    )
    n = min(len(dev_logits), len(ref_logits))
    differ = [int(i) for i in np.nonzero(np.any(dev_logits[:n] != ref_logits[:n], axis=1))[0]]
    ref_ev = [(e.label, e.score_q, e.sample) for e in ref_events]
    dev_ev = list(r.events)
    rate = spec.frontend.sample_rate_hz

    def scored(events):
        return score([(pipe.labels[k], s) for k, _, s in events], truth, total_samples=pcm.size, rate=rate)

    dev_score = scored(dev_ev)
    delays = r.event_delays_ms()
    delay_of = {ev[2]: d for ev, d in zip(dev_ev, delays)}
    with_link = [lat + delay_of[s] for lat, s in zip(dev_score.latencies_ms, dev_score.detection_samples)]
    per = stats["fe_ticks"] + stats["net_ticks"] + stats["det_ticks"]
    return {
        "stream": str(wav),
        "thresholds": pipe.thresholds,
        "thresholds_set_at_run_time": thresholds is not None,
        "audio_seconds": pcm.size / rate,
        "link_seconds": r.seconds,
        "restarts": restarts,
        "windows": {"reference": len(ref_logits), "device": len(dev_logits), "differ": differ},
        "events": {
            "reference": len(ref_ev),
            "device": len(dev_ev),
            "differ": [list(e) for e in set(ref_ev) ^ set(dev_ev)],
        },
        "reference_score": scored(ref_ev).as_dict(),
        "device_score": dev_score.as_dict(),
        "device_latency_with_link_ms": _percentiles(with_link),
        "event_delay_ms": _percentiles(delays),
        "link_errors": r.errors,
        "link_damage": r.link,
        "device_counters": r.device_counters(),
        "device_ticks": per,
        "device_compute": _compute(stats, audio_s=pcm.size / rate, emulated=port is None),
    }


def _percentiles(ms: list[float]) -> dict:
    """p50 / p95 / max of a list of milliseconds (None when empty)."""
    if not ms:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {
        "n": len(ms),
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "max": float(max(ms)),
    }


def _compute(stats: dict, *, audio_s: float, emulated: bool) -> dict | None:
    """The device's compute by its own clock (STATS ticks, tick_hz): milliseconds per network
    window and the share of real time it spent; None for firmware that does not say its tick rate.
    ``emulated``: QEMU started here, whose clock is virtual — not a Cortex-M4's cycles (its
    instruction counts are in bench/stream_bitexact.py)."""
    hz = stats.get("tick_hz")
    if not hz or not stats.get("runs"):
        return None
    ticks = stats["fe_ticks"] + stats["net_ticks"] + stats["det_ticks"]
    return {
        "clock": "QEMU's virtual clock" if emulated else "the device's clock",
        "tick_hz": hz,
        "ms_per_window": ticks / stats["runs"] / hz * 1000.0,
        "network_ms_per_window": stats["net_ticks"] / stats["runs"] / hz * 1000.0,
        "share_of_real_time": ticks / hz / audio_s if audio_s else None,
    }
