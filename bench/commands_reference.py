"""Benchmark (not a test): the MLPerf Tiny keyword-spotting reference model beside the released
commands model, on the same held-out real speakers.

The MLPerf Tiny reference DS-CNN (int8, 12 classes, 52.7 KB of weights) was trained on the whole
Speech Commands v0.02 training list: about 2,600 speakers and 85 k clips, against the 130 training
speakers and 2,396 keyword and other-word clips of the real data set the released commands model
learns from. Its front end is a float MFCC of the same shape as the product's spec (30 ms Hann
window, 20 ms hop, 512-point FFT, 40 mel bands from 20 Hz to 4 kHz, 49 frames; 10 cepstra of a
magnitude spectrum where the spec keeps 13 of a power spectrum). Scoring both on the same clips
therefore separates what the data gives from what the front end and network give.

Clips: the test split of the real data set that ``bench/real_speakers.py`` builds (the 42
Speech Commands test-list speakers, silence cut from the set's ``_background_noise_``). The
reference model's features are computed exactly as its own evaluation computes them (the clip
peak-normalised by its maximum sample, ``tf.signal`` STFT, mel, log(+1e-6), DCT, first 10
cepstra; quantized by truncation as its ``eval_quantized_model.py`` does, clipped to int8) and
run in TensorFlow Lite's interpreter. The model is read from the reference artefacts kept beside
the checkout (``shared/anchors``); without them the benchmark exits with the reason.

    python bench/commands_reference.py --out bench/results/commands_reference.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np

from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT

ANCHOR = REPO_ROOT.parent / "shared" / "anchors" / "mlperf_tiny_kws_ref_model.tflite"
# the reference model's output order (its get_dataset.py: word_labels), in the product's label names
REFERENCE_LABELS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "_silence_", "_unknown_")


def reference_features(pcm: np.ndarray) -> np.ndarray:
    """[n, 49, 10] float MFCC of int16 clips [n, 16000], as the reference's data pipeline makes them."""
    import tensorflow as tf

    x = pcm.astype(np.float32)
    peak = x.max(axis=1, keepdims=True)
    x = x / np.where(peak > 0, peak, 1.0)  # their wav / reduce_max(wav); a silent clip stays 0
    stft = tf.signal.stft(x, frame_length=480, frame_step=320, fft_length=None, window_fn=tf.signal.hann_window)
    spec = tf.abs(stft)
    mel = tf.tensordot(spec, tf.signal.linear_to_mel_weight_matrix(40, spec.shape[-1], 16000, 20.0, 4000.0), 1)
    return tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + 1e-6))[..., :10].numpy()


def reference_logits(model: bytes, feats: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    it = tf.lite.Interpreter(model_content=model)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    scale, zero = inp["quantization"]
    q = np.clip(feats / scale + zero, -128, 127).astype(np.int8)  # their cast truncates toward zero
    res = []
    for row in q:
        it.set_tensor(inp["index"], row.reshape(inp["shape"]))
        it.invoke()
        res.append(it.get_tensor(out["index"]).reshape(-1).astype(np.float32))
    return np.stack(res)


def main() -> None:
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    from kws.data import manifest as mf
    from kws.data.task import load_task
    from kws.spec import load_spec
    from kws.train.features import read_clip
    from kws.train.metrics import evaluate_logits
    from real_speakers import SPEECH, build_real, clip_figures

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/commands")
    ap.add_argument("--out", default="bench/results/commands_reference.json")
    args = ap.parse_args()
    if not (SPEECH / "speech_commands" / "testing_list.txt").exists() or not ANCHOR.exists():
        sys.exit(f"{SPEECH} or {ANCHOR}: the real-speech recordings or the reference model are not beside the checkout")
    task = load_task("commands")
    data = build_real(task, REPO_ROOT / "build" / "real")
    entries = [e for e in mf.load(data)["entries"] if e["split"] == "test" and e["source"] == "speech_commands"]
    pcm = np.stack([read_clip(data / e["path"], 16000) for e in entries])
    y = np.array([REFERENCE_LABELS.index(e["label"]) for e in entries])
    ref_bytes = ANCHOR.read_bytes()
    logits = reference_logits(ref_bytes, reference_features(pcm))
    ref = evaluate_logits(logits, y, list(REFERENCE_LABELS))
    ours = clip_figures(task.spec(load_spec()), REPO_ROOT / args.model, data)
    speakers = sorted({e["speaker"] for e in entries if e["label"] != "_silence_"})
    result = {
        "benchmark": "commands_reference",
        "clips": {
            "n": len(entries),
            "speakers": len(speakers),
            "data_manifest_hash": mf.load(data)["hash"],
            "what": "test split of the real data set: Speech Commands v0.02 test-list speakers (re-split by speaker), "
            "silence cut from its _background_noise_",
        },
        "reference": {
            "model": "MLPerf Tiny KWS reference DS-CNN (mlcommons/tiny, trained_models/kws_ref_model.tflite)",
            "model_sha256": hashlib.sha256(ref_bytes).hexdigest(),
            "trained_on": "Speech Commands v0.02 training list (about 2,600 speakers, 85 k clips)",
            "accuracy": ref["accuracy"],
            "test_set_weighted_accuracy": ref.get("test_set_weighted_accuracy"),
            "balanced_accuracy": ref["balanced_accuracy"],
            "per_class_recall": ref["per_class_recall"],
            "confusion": ref["confusion"],
            "labels": list(REFERENCE_LABELS),
        },
        "released": {
            "model": args.model,
            **{
                k: ours[k]
                for k in ("clips", "accuracy", "test_set_weighted_accuracy", "balanced_accuracy", "per_class_recall")
            },
        },
    }
    write_if_changed(REPO_ROOT / args.out, json.dumps(result, indent=1) + "\n")
    for name in ("reference", "released"):
        r = result[name]
        print(
            f"{name}: {len(entries)} clips of {len(speakers)} held-out speakers: {r['accuracy']:.1%}, weighed as the "
            f"test set {r['test_set_weighted_accuracy']:.1%}, class-balanced {r['balanced_accuracy']:.1%}"
        )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
