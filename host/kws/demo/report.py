"""The demo's evaluation stages and figures: a demo-sized stream evaluation with its DET curve,
the device's duty cycle and feature statistics (drift) from a semihosted run in QEMU, score
traces of the demo stream, the confusion matrix and the footprint breakdown. Each returns the
figures for the report and writes its PNG next to it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kws.spec import SAMPLE_RATE

CLOCK_HZ = 64e6  # the duty-cycle reference clock
VOICES = ["en+m3", "en+f2", "en-us+m1", "en+klatt2", "en+f4", "en-gb-x-rp+m7"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}.png")
    fig.savefig(tmp, dpi=90)
    _plt().close(fig)
    os.replace(tmp, path)


def small_streams(
    keywords: list[str], near_misses: list[str], out: Path, *, seconds: int = 120, seed: int = 11
) -> None:
    """A positive stream (the task's keywords) and a negative one (its near-misses), both over
    low pink noise, with label and words files (kws.data.streams), spoken by espeak-ng voices.
    Demo-sized: minutes, not hours, so its FA/hr is a smoke test, not a measurement
    (bench/eval_24h.py is)."""
    from kws.audio import write_wav
    from kws.data import tts
    from kws.data.noise import background
    from kws.data.quality import speech_bounds
    from kws.data.streams import WORDS_HEADER, write_csv

    out.mkdir(parents=True, exist_ok=True)
    for kind, words in (("positive", keywords), ("negative", near_misses)):
        rng = np.random.default_rng([seed, 0 if kind == "negative" else 1])
        n = seconds * SAMPLE_RATE
        x = background("pink", n, SAMPLE_RATE, -55, rng).astype(np.float64)
        rows, said, pos = [], [], int(rng.integers(4000, 12000))
        while True:
            w = str(rng.choice(words))
            clip = tts.espeak(w, voice=str(rng.choice(VOICES)), speed=int(rng.integers(130, 180)))
            if pos + clip.size + SAMPLE_RATE >= n:
                break
            x[pos : pos + clip.size] += clip
            a, b = speech_bounds(clip, SAMPLE_RATE)
            if kind == "positive":
                rows.append(f"{w},{pos + a},{pos + b},{w}")
            said.append(
                [pos + a, pos + b, w if kind == "positive" else "_unknown_", w, w, "alone", int(kind == "negative"), w]
            )
            pos += clip.size + int(rng.integers(SAMPLE_RATE, 40000))
        write_wav(out / f"{kind}.wav", np.clip(np.round(x), -32768, 32767).astype(np.int16), SAMPLE_RATE)
        (out / f"{kind}.labels.csv").write_text(
            "label,start_sample,end_sample,clip_id\n" + "".join(r + "\n" for r in rows)
        )
        write_csv(out / f"{kind}.words.csv", WORDS_HEADER, said)


def eval_stage(spec, model_dir: Path, out_dir: Path, task) -> dict:
    """kws eval on the demo-sized streams: DET curve, calibrated thresholds, FA/FRR, latency,
    what the false accepts heard."""
    from kws.evaluate.run import evaluate

    streams = out_dir / "streams"
    if not (streams / "negative.words.csv").exists():
        small_streams(list(task.keywords), list(task.synth.near_misses), streams)
    r = evaluate(spec, model_dir, streams, out_dir / "eval", target_fa_per_hour=1.0)
    return {
        "at_default": r["at_default_threshold"],
        "at_calibrated": r["at_calibrated"],
        "false_accepts_heard": r["false_accepts_heard"]["at_default_threshold"],
        "throughput_x_realtime": r["throughput_x_realtime"],
        "det_png": str(out_dir / "eval" / "det.png"),
        "minutes": r["audio_seconds"] / 60,
    }


def device_run_stage(spec, model_dir: Path, wav: Path, out_dir: Path) -> dict:
    """The keyword spotter on the emulated Cortex-M4F over semihosting (the fast path for long
    audio): instructions per second of audio per stage -> duty cycle at 64 MHz, and the feature
    statistics it kept, checked for drift against the model's baseline."""
    from kws.audio import read_wav
    from kws.device.qemu import run_app
    from kws.reference.monitor.drift import Baseline, compare
    from kws.released import ReleasedModel

    pcm = read_wav(wav, expected_rate=spec.frontend.sample_rate_hz)
    dev = run_app(pcm, out_dir / "semihosted", model=ReleasedModel.load(model_dir).firmware)
    st = dev["stats"]
    secs = pcm.size / spec.frontend.sample_rate_hz
    per_s = {k: st[f"{k}_instructions"] / secs for k in ("fe", "net", "det")}
    total = sum(per_s.values())
    out = {
        "instructions_per_second": {k: round(v) for k, v in per_s.items()},
        "duty_cycle_at_64MHz": total / CLOCK_HZ,
        "stack_bytes": st["stack"],
        "drift": None,
    }
    base = Path(model_dir) / "feature_baseline.json"
    if base.exists() and dev["monitor"] is not None:
        b = Baseline.load(base, spec)
        rep = compare(b, dev["monitor"], min_fraction=0.0)
        out["drift"] = {"status": rep.status, "reason": rep.reason, "frames": rep.frames}
    return out


def plot_scores(spec, model_dir: Path, wav: Path, labels_csv: Path, path: Path) -> None:
    """Posterior of every keyword over the demo stream (the host reference, which the device
    equals window by window), with the spoken keywords shaded and the detections marked."""
    from kws.audio import read_wav
    from kws.data.streams import read_labels
    from kws.reference import detector as det
    from kws.reference.pipeline import ReferencePipeline

    pipe = ReferencePipeline(spec, model_dir)
    pcm = read_wav(wav, expected_rate=spec.frontend.sample_rate_hz)
    logits, events = pipe.run(pcm)
    post = det.posteriors(
        logits, det.exp_lut(pipe.out_scale, spec.detector.posterior_frac_bits), spec.detector.posterior_frac_bits
    ) / (1 << spec.detector.posterior_frac_bits)
    fe = spec.frontend
    ends = np.array(det.window_ends(fe.num_frames(pcm.size), spec))
    t = (ends * fe.hop_samples + fe.window_samples) / fe.sample_rate_hz
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    said: dict[tuple[int, int], list[str]] = {}
    for lab, a, b in read_labels(labels_csv):
        said.setdefault((a, b), []).append(lab)  # a phrase may say two keywords
    for (a, b), labs in said.items():
        ax.axvspan(a / fe.sample_rate_hz, b / fe.sample_rate_hz, color="0.92")
        ax.text(a / fe.sample_rate_hz, 1.03, "said: " + " + ".join(labs), fontsize=7, color="0.35")
    thr = pipe.thresholds or {}
    for k in range(2, len(pipe.labels)):
        lab = pipe.labels[k]
        if post[:, k].max() > 0.2:
            (line,) = ax.plot(
                t, post[:, k], lw=1, label=f"{lab} (threshold {thr.get(lab, spec.detector.threshold):.3f})"
            )
            ax.axhline(thr.get(lab, spec.detector.threshold), color=line.get_color(), ls=":", lw=0.9)
    for e in events:
        ax.axvline(e.sample / fe.sample_rate_hz, color="k", ls="--", lw=0.8)
        ax.text(e.sample / fe.sample_rate_hz, -0.07, pipe.labels[e.label], fontsize=7, ha="center")
    ax.set_title(
        "What the model heard in the demo stream: each keyword's posterior, the threshold it fires at "
        "(dotted, its colour)",
        fontsize=9,
    )
    ax.set_xlabel("seconds (grey: a keyword was said; dashed: a detection, named below)")
    ax.set_ylabel("posterior")
    ax.set_ylim(-0.1, 1.12)
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    _save(fig, path)


def plot_confusion(model, path: Path) -> None:
    """The int8 confusion matrix a release (kws.released.ReleasedModel) records for its test clips."""
    acc = model.manifest["accuracy"]
    cm = np.asarray(acc["confusion_int8"], dtype=float)
    labels = model.labels
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=60, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(
                    j,
                    i,
                    int(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    ax.set_xlabel("predicted (int8, TFLM)")
    ax.set_ylabel("true")
    ax.set_title(f"held-out voices: {acc['int8_test']:.1%} of {acc['test_clips']} clips", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def plot_footprint(spec, elf: Path, path: Path) -> dict:
    from kws.footprint import budget as b
    from kws.footprint.budget import measured_budget

    rep = measured_budget(spec, elf)
    b.plot(rep, path)
    return rep
