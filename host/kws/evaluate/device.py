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
from kws.pipeline import ReferencePipeline


def device_eval(spec, model_dir: Path, wav: Path, *, port: str | None = None, retries: int = 1) -> dict:
    """``retries``: streams started again from the beginning after the device restarted
    mid-stream (its results are void, kws.device.link.DeviceReset); each restart is reported."""
    from kws.device.connect import expected_hashes, open_link
    from kws.device.link import DeviceReset

    pcm = read_wav(wav, expected_rate=spec.frontend.sample_rate_hz)
    labels_path = Path(wav).with_name(Path(wav).stem + ".labels.csv")
    truth = read_labels(labels_path) if labels_path.exists() else []
    pipe = ReferencePipeline(spec, model_dir)
    ref_logits, ref_events = pipe.run(pcm)
    expect = expected_hashes(spec, pipe.manifest)
    restarts = []
    with contextlib.ExitStack() as stack:
        link = open_link(stack, port)
        while True:
            link.handshake(logits=True, expect=expect)
            try:
                r = link.stream(pcm)
                break
            except DeviceReset as e:
                if len(restarts) >= retries:
                    raise
                restarts.append(str(e))
        stats = link.stats()
    dev_logits = np.frombuffer(b"".join(r.logits), dtype=np.int8).reshape(-1, ref_logits.shape[1]) \
        if r.logits else np.zeros((0, ref_logits.shape[1]), np.int8)
    n = min(len(dev_logits), len(ref_logits))
    differ = [int(i) for i in np.nonzero(np.any(dev_logits[:n] != ref_logits[:n], axis=1))[0]]
    ref_ev = [(e.label, e.score_q, e.sample) for e in ref_events]
    dev_ev = list(r.events)
    rate = spec.frontend.sample_rate_hz

    def scored(events):
        return score([(pipe.labels[k], s) for k, _, s in events], truth, total_samples=pcm.size, rate=rate).as_dict()

    per = (stats["fe_ticks"] + stats["net_ticks"] + stats["det_ticks"])
    return {"stream": str(wav), "audio_seconds": pcm.size / rate, "link_seconds": r.seconds, "restarts": restarts,
            "windows": {"reference": len(ref_logits), "device": len(dev_logits), "differ": differ},
            "events": {"reference": len(ref_ev), "device": len(dev_ev),
                       "differ": [list(e) for e in set(ref_ev) ^ set(dev_ev)]},
            "reference_score": scored(ref_ev), "device_score": scored(dev_ev), "link_errors": r.errors,
            "device_counters": {k: stats[k] for k in ("bad_crc", "bad_frames", "seq_gaps", "rx_frames", "rx_lost")
                                if k in stats},
            "device_ticks": per}
