"""`kws eval`: the host reference pipeline over evaluation streams — FA/hr on keyword-free
streams, FRR and latency on streams with inserted keywords, accuracy on the test clips — plus
DET curves and per-keyword thresholds calibrated to a target FA/hr.

Network logits are computed once per stream; the detector (cheap) is re-run for every
threshold of the sweep. Engine: the firmware's front end and streaming network C built for the
host (bit-exact with the Python front end and TFLM: tests/test_frontend_bitexact.py,
tests/test_codegen_model.py), or the Python front end and TFLM itself with ``engine="tflm"``
(slow). ``throughput_x_realtime``: seconds of audio per second of feature + network compute.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from kws.audio import read_wav
from kws.data.streams import read_beds, read_column, read_contexts, read_labels, read_words
from kws.evaluate import stats, triggers
from kws.evaluate.scoring import score
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT
from kws.reference import detector as det
from kws.reference.pipeline import ReferencePipeline

# Thresholds swept for DET curves and calibration. Wake words live at posteriors of 0.99 and above, so
# past 0.995 the grid steps evenly in log(1 - p), ten steps per decade, up to 0.99997 (one step of the
# detector's Q15 below 1).
SWEEP = np.unique(
    np.concatenate(
        [
            np.round(np.linspace(0.3, 0.9, 13), 4),
            np.round(np.linspace(0.92, 0.995, 16), 4),
            np.round(1 - 10.0 ** -np.arange(2.4, 4.55, 0.1), 5),
        ]
    )
)


def windowed(infer, feats: np.ndarray, ends: list[int], frames: int) -> np.ndarray:
    """Logits of the windows ending at ``ends``, window by window (in batches of 2048)."""
    return np.concatenate(
        [
            infer(np.stack([feats[t - frames + 1 : t + 1] for t in ends[i : i + 2048]]))
            for i in range(0, len(ends), 2048)
        ]
    )


class NativeEngine:
    """The firmware's own C on the host: the front end (kws_frontend.c) and the network's
    streaming form (each row computed once), both bit-exact with the Python/TFLM reference
    (tests/test_frontend_bitexact.py, tests/test_codegen_model.py). Networks padded along time
    run window by window."""

    name = "native"

    def __init__(self, pipe: ReferencePipeline):
        import hashlib

        from kws.codegen import model as cgm
        from kws.reference.native import NativeFrontend, NativeNet, build_host

        d = REPO_ROOT / "build" / "native_net" / hashlib.sha256(pipe.blob).hexdigest()[:16]
        cgm.generate(
            pipe.blob,
            d,
            frontend_hash32=pipe.spec.frontend.hash32,
            source=str(pipe.model_dir / "model.tflite"),
            stride_frames=pipe.spec.detector.stride_frames,
        )
        self.net = NativeNet(d)
        self.fe = NativeFrontend(pipe.spec.frontend, build_host())
        self.spec = pipe.spec
        self.threads = max(1, min(8, os.cpu_count() or 1))

    def _parallel(self, fn, parts: int):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(parts) as ex:  # ctypes releases the GIL: real parallelism
            return list(ex.map(fn, range(parts)))

    def features(self, pcm: np.ndarray) -> np.ndarray:
        """Frames in independent chunks (frame i reads samples [i * hop, i * hop + window))."""
        fe = self.spec.frontend
        n = fe.num_frames(pcm.size)
        parts = self.threads if n > 4 * self.threads else 1
        cuts = [n * k // parts for k in range(parts + 1)]
        chunks = self._parallel(
            lambda k: self.fe.run(
                pcm[cuts[k] * fe.hop_samples : (cuts[k + 1] - 1) * fe.hop_samples + fe.window_samples]
            )[1],
            parts,
        )
        return np.concatenate(chunks) if chunks else np.zeros((0, fe.num_cepstra), np.int8)

    def logits(self, feats: np.ndarray, ends: list[int]) -> np.ndarray:
        if self.net.streaming:
            # windows in independent runs: each run starts at its first window's first frame, a
            # multiple of the stride (so of the stream step), and warms up inside that window
            f, stride = self.spec.model.window_frames, self.spec.detector.stride_frames
            parts = self.threads if len(ends) > 4 * self.threads else 1
            cuts = [len(ends) * k // parts for k in range(parts + 1)]
            outs = self._parallel(
                lambda k: self.net.stream(feats[ends[cuts[k]] - f + 1 : ends[cuts[k + 1] - 1] + 1], stride), parts
            )
            out = np.concatenate(outs)
            assert out.shape[0] == len(ends)
            return out
        return windowed(self.net.run, feats, ends, self.spec.model.window_frames)


class TflmEngine:
    """The Python front end and TFLM's interpreter, window by window (the oracle; slow)."""

    name = "tflm"

    def __init__(self, pipe: ReferencePipeline):
        self.pipe = pipe

    def features(self, pcm: np.ndarray) -> np.ndarray:
        from kws.frontend import fixed

        fe = self.pipe.spec.frontend
        return fixed.quantize_cepstra(fixed.cepstra(pcm, fe), fe)

    def logits(self, feats: np.ndarray, ends: list[int]) -> np.ndarray:
        return windowed(self.pipe.infer, feats, ends, self.pipe.spec.model.window_frames)


def stream_logits(pipe: ReferencePipeline, wav: Path, engine) -> tuple[np.ndarray, list[int], int]:
    spec = pipe.spec
    pcm = read_wav(wav, expected_rate=spec.frontend.sample_rate_hz)
    feats = engine.features(pcm)
    ends = det.window_ends(feats.shape[0], spec)
    logits = engine.logits(feats, ends) if ends else np.zeros((0, len(pipe.labels)), np.int8)
    samples = [t * spec.frontend.hop_samples + spec.frontend.window_samples for t in ends]
    return logits, samples, pcm.size


_ENGINES: dict = {}  # per process: (pipeline, engine) by (model, engine name), built once


def _logits_of_stream(wav: str, shared: tuple) -> tuple[np.ndarray, list[int], int]:
    """One stream's logits, wherever it runs (kws.engine): ``shared`` = (spec, model dir, engine
    name, threads per stream)."""
    spec, model_dir, engine, threads = shared
    key = (str(model_dir), engine)
    if key not in _ENGINES:
        pipe = ReferencePipeline(spec, Path(model_dir))
        _ENGINES[key] = (pipe, NativeEngine(pipe) if engine == "native" else TflmEngine(pipe))
    pipe, eng = _ENGINES[key]
    if hasattr(eng, "threads"):
        eng.threads = threads
    return stream_logits(pipe, Path(wav), eng)


def batch_detector(pipe: ReferencePipeline, logits) -> det.BatchDetector:
    d = pipe.spec.detector
    return det.BatchDetector(
        d,
        logits,
        keyword_classes=list(range(2, len(pipe.labels))),
        lut=det.exp_lut(pipe.out_scale, d.posterior_frac_bits),
        refractory=det.refractory_runs(d, pipe.spec.frontend.hop_samples, pipe.spec.frontend.sample_rate_hz),
    )


def detect(
    pipe: ReferencePipeline, bd: det.BatchDetector, samples, thresholds: dict[str, float]
) -> list[tuple[str, int]]:
    d = pipe.spec.detector
    thr = {
        i: det.threshold_q(thresholds.get(lab, d.threshold), d.posterior_frac_bits) for i, lab in enumerate(pipe.labels)
    }
    return [(pipe.labels[e.label], e.sample) for e in bd.events(thr, samples)]


def evaluate(
    spec,
    model_dir: Path,
    streams_dir: Path,
    out_dir: Path,
    *,
    target_fa_per_hour: float = 1.0,
    engine: str = "native",
    fixed_thresholds: dict[str, float] | None = None,
    workers: int | None = None,
) -> dict:
    """``fixed_thresholds``: also score these (e.g. calibrated on other streams) as ``at_fixed``.
    ``workers``: streams computed on that many worker processes (kws.engine; KWS_CLUSTER: a
    cluster's), each stream on the cores a worker has; default this process, every core on each
    stream. The figures are the same either way."""
    import time

    from kws import engine as engines

    pipe = ReferencePipeline(spec, model_dir)
    eng = NativeEngine(pipe) if engine == "native" else TflmEngine(pipe)
    _ENGINES[(str(model_dir), engine)] = (pipe, eng)
    workers = workers or 1
    threads = max(1, (os.cpu_count() or 1) // workers) if workers > 1 else getattr(eng, "threads", 1)
    keywords = pipe.labels[2:]
    streams = sorted(Path(streams_dir).glob("*.wav"))
    if not streams:
        from kws.errors import KwsError

        raise KwsError(f"{streams_dir}: no .wav streams (make them with `kws data streams`)")
    data = []
    voices = []  # per stream, the voice (split key) of each label row; "" unknown
    beds: dict[str, list | None] = {}  # per stream, its background beds (kws.data.streams.read_beds)
    t0 = time.perf_counter()
    from kws.progress import bar

    computed = bar(
        engines.run_map(
            _logits_of_stream,
            [str(w) for w in streams],
            shared=(spec, str(model_dir), engine, threads),
            workers=workers,
            chunk=1,
            what="stream scoring",
        ),
        total=len(streams),
        desc="score",
        unit="stream",
    )
    for wav, (logits, samples, n) in zip(streams, computed):
        labels = wav.with_name(wav.stem + ".labels.csv")
        truth = read_labels(labels) if labels.exists() else []
        ctx = read_contexts(labels) if labels.exists() else []
        voices.append(read_column(labels, "voice") if labels.exists() else [])
        words_csv = wav.with_name(wav.stem + ".words.csv")
        words = read_words(words_csv) if words_csv.exists() else None
        beds_csv = wav.with_name(wav.stem + ".beds.csv")
        beds[wav.name] = read_beds(beds_csv) if beds_csv.exists() else None
        data.append((wav.name, batch_detector(pipe, logits), samples, n, truth, ctx, words))
    compute_s = time.perf_counter() - t0
    rate = spec.frontend.sample_rate_hz
    audio_s = sum(d[3] for d in data) / rate
    contexts = sorted({c for d in data for c in d[5] if c})

    def total(thresholds, only=None, context=None):
        """Totals over the streams; ``context``: only occurrences said that way (their FRR and
        latency; false accepts are then not meaningful)."""
        ev_all = [
            (
                detect(pipe, bd, sm, thresholds),
                [t for t, c in zip(tr, cx or [""] * len(tr)) if context is None or c == context],
                n,
            )
            for _, bd, sm, n, tr, cx, _ in data
        ]
        s = [score(ev, tr, total_samples=n, rate=rate, only=only) for ev, tr, n in ev_all]
        occ = sum(x.occurrences for x in s)
        hit = sum(x.detected for x in s)
        fa = sum(x.false_accepts for x in s)
        hours = sum(x.hours for x in s)
        lat = [v for x in s for v in x.latencies_ms]
        out = stats.with_intervals(
            {
                "frr": 1 - hit / occ if occ else 0.0,
                "fa_per_hour": fa / hours if hours else 0.0,
                "occurrences": occ,
                "false_accepts": fa,
                "hours": hours,
                "latency_ms_p50": float(np.percentile(lat, 50)) if lat else None,
                "latency_ms_p95": float(np.percentile(lat, 95)) if lat else None,
            }
        )
        if only is None and context is None:  # every occurrence, in occurrences_key's order: paired comparisons
            out["hits"] = "".join(x.hits for x in s)
        return out

    det_curves = {k: [{"threshold": float(t), **total({k: float(t)}, only=k)} for t in SWEEP] for k in keywords}
    # one threshold for every keyword: the model's DET curve as a whole (compares models)
    det_all = [{"threshold": float(t), **total({k: float(t) for k in keywords})} for t in SWEEP]
    thresholds = {}
    for k in keywords:
        ok = [p for p in det_curves[k] if p["fa_per_hour"] <= target_fa_per_hour / len(keywords)]
        thresholds[k] = min(ok, key=lambda p: (p["frr"], p["threshold"]))["threshold"] if ok else float(SWEEP[-1])
    default = total({})
    calibrated = total(thresholds)
    fixed = total(fixed_thresholds) if fixed_thresholds else None

    def by_context(thr):
        return {
            c: {k: v for k, v in total(thr, context=c).items() if k not in ("false_accepts", "fa_per_hour")}
            for c in contexts
        }

    def heard(thr):
        """What the false accepts heard (streams with a words file only)."""
        recs, said, seconds = [], [], 0.0
        bed_seconds: dict[str, float] = {}
        for name, bd, sm, n, tr, _, words in data:
            if words is not None:
                fa = score(detect(pipe, bd, sm, thr), tr, total_samples=n, rate=rate).false_accept_events
                recs += triggers.attribute(fa, words, triggers.window_span(spec), beds[name])
                said += words
                seconds += n / rate
                for a, b, kind in beds[name] or ():
                    bed_seconds[kind] = bed_seconds.get(kind, 0.0) + (b - a) / rate
        return triggers.summarize(recs, said, hours=seconds / 3600.0, bed_seconds=bed_seconds or None)

    with_words = [d[0] for d in data if d[6] is not None]
    occurrences = stats.occurrences_key(
        [(name, *t) for name, _, _, _, tr, _, _ in data for t in sorted(tr, key=lambda t: t[1])]
    )
    # each occurrence's voice, in the same order (score() sorts by start, stably): keywords of one
    # voice are not independent, and paired comparisons test voices (kws.evaluate.stats)
    groups = [
        v
        for (_, _, _, _, tr, _, _), vs in zip(data, voices)
        for _, v in sorted(zip(tr, vs or [""] * len(tr)), key=lambda x: x[0][1])
    ]

    def by_voice(tot: dict) -> dict:
        """Misses per voice of a total (its hits, in occurrence order): which speakers a model
        fails (streams whose label files name the voices; else empty)."""
        return stats.misses_by_voice(tot["hits"], groups) if groups and all(groups) else {}

    if groups and all(groups):  # every speaker weighing the same (kws.evaluate.stats)
        for tot in (default, calibrated, fixed):
            if tot is not None and tot["occurrences"]:
                tot["frr_voice_mean"] = stats.voice_mean_frr(tot["hits"], groups)
    result = {
        "model": str(model_dir),
        "model_sha256": pipe.model.sha256,
        "streams": [d[0] for d in data],
        "engine": engine,
        "occurrences_key": occurrences,
        "occurrence_voices": groups if groups and all(groups) else None,
        "target_fa_per_hour": target_fa_per_hour,
        "default_threshold": spec.detector.threshold,
        "at_default_threshold": default,
        "calibrated_thresholds": thresholds,
        "at_calibrated": calibrated,
        "by_context": {"at_default_threshold": by_context({}), "at_calibrated": by_context(thresholds)},
        "by_voice": {
            "at_default_threshold": by_voice(default),
            "at_calibrated": by_voice(calibrated),
            **({"at_fixed": by_voice(fixed)} if fixed_thresholds else {}),
        },
        **(
            {
                "false_accepts_heard": {
                    "streams": with_words,
                    "at_default_threshold": heard({}),
                    "at_calibrated": heard(thresholds),
                    **({"at_fixed": heard(fixed_thresholds)} if fixed_thresholds else {}),
                }
            }
            if with_words
            else {}
        ),
        # the recordings the keyword-free streams repeat: the fitted FA/hr rests on them
        "negative_takes": triggers.negative_takes([d[6] for d in data if d[6] is not None and not d[4]]),
        "audio_seconds": audio_s,
        "throughput_x_realtime": audio_s / compute_s if compute_s else None,
        **({"fixed_thresholds": fixed_thresholds, "at_fixed": fixed} if fixed_thresholds else {}),
        "det": det_curves,
        "det_all": det_all,
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_if_changed(out_dir / "eval.json", json.dumps(result, indent=1) + "\n")
    plot_det(det_curves, thresholds, out_dir / "det.png", det_all, hours=default["hours"])
    return result


def plot_det(
    curves: dict, chosen: dict, path: Path, overall: list | None = None, *, hours: float | None = None
) -> None:
    """FRR against FA/hr: every keyword (thin) and all keywords at one threshold (thick), the
    thresholds chosen circled. ``hours`` of negatives set the curve's step: one false accept is
    1/hours FA/hr, and "none" is drawn at half of that step, labelled as such."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step = 1.0 / hours if hours else 0.02
    zero = step / 2

    def fx(v: float) -> float:
        return max(v, zero)

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for k, pts in curves.items():
        (line,) = ax.plot(
            [fx(p["fa_per_hour"]) for p in pts], [p["frr"] for p in pts], ".-", lw=0.8, ms=3, label=k, alpha=0.7
        )
        c = next((p for p in pts if p["threshold"] == chosen.get(k)), None)
        if c:
            ax.plot([fx(c["fa_per_hour"])], [c["frr"]], "o", color=line.get_color(), ms=9, mfc="none")
    if overall:
        ax.plot(
            [fx(p["fa_per_hour"]) for p in overall],
            [p["frr"] for p in overall],
            "k-",
            lw=2.5,
            label="all keywords, one threshold",
        )
    ax.axvline(zero, color="0.6", lw=0.6, ls=":")
    ax.text(zero, 1.02, " none", fontsize=7, color="0.4", transform=ax.get_xaxis_transform())
    ax.set_xscale("log")
    span = f"{hours * 60:.0f} min" if hours and hours < 2 else f"{hours:.1f} h" if hours else "the streams"
    ax.set_xlabel(
        f"false accepts per hour (log). Over {span} of negatives one false accept is {step:.3g} FA/hr: "
        "the curve moves in such steps",
        fontsize=8,
    )
    ax.set_ylabel("false reject rate (share of keywords missed)")
    ax.set_title(f"Detection error trade-off over {span} (circles: the thresholds chosen)", fontsize=10)
    ax.legend(fontsize=7, ncol=3, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_calibration(spec, model_dir: Path, result: dict) -> Path:
    """Thresholds (with the DET data they came from) into calibration/<model>/thresholds.json and
    the model manifest's ``thresholds``; the manifest is re-validated."""
    from kws.release import update_manifest
    from kws.released import ReleasedModel

    model_dir = Path(model_dir)
    path = REPO_ROOT / "calibration" / model_dir.name / "thresholds.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = {
        "model_sha256": ReleasedModel.load(model_dir).sha256,
        "frontend_hash": spec.frontend.hash,
        "detector_hash": spec.detector.hash,
        "target_fa_per_hour": result["target_fa_per_hour"],
        "thresholds": result["calibrated_thresholds"],
        "at_calibrated": result["at_calibrated"],
        "streams": result["streams"],
        "det": result["det"],
    }
    write_if_changed(path, json.dumps(rec, indent=1) + "\n")
    update_manifest(
        model_dir,
        {
            "thresholds": {
                "values": result["calibrated_thresholds"],
                "file": str(path.relative_to(REPO_ROOT)),
                "target_fa_per_hour": result["target_fa_per_hour"],
                "fa_per_hour": result["at_calibrated"]["fa_per_hour"],
                "frr": result["at_calibrated"]["frr"],
            }
        },
    )
    return path
