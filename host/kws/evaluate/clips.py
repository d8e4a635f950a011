"""`kws eval --clips DIR`: a released model's int8 accuracy on the clips of any data set.

The clips of one split (or all) of a data set made by ``kws data synth`` or ``kws data ingest``
(Speech Commands, MSWC, your own recordings) go through the spec's integer front end and the
released ``model.tflite`` in TFLM's host interpreter — the computation the firmware equals bit
for bit — and are scored as training scores its test split: accuracy, per-class recall,
confusion matrix, and accuracy per source, per context (a keyword alone or in a phrase) and per
voice. This is how a model trained on one corpus is measured on another: on a user's own
recordings, or a released model on a re-rendered corpus.

Clips of any length are scored, by one rule (:func:`clip_logits`): a clip of one window (the
data set's 1 s clips) is that window; a shorter one is padded with digital silence at its end to
one window; a longer one is cut into windows every detector stride (and one ending at its last
frame), and the clip is what its most confident keyword window says — among the windows whose
most likely class is a keyword, the one whose top logit leads the runner-up by the most (the
first of equals) — or, when no window's most likely class is a keyword, its most confident
window by the same measure. Each clip is checked first (mono 16-bit PCM at the
spec's rate, readable, not truncated): a bad one is named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kws.data import manifest as mf
from kws.data.voices import group_of
from kws.errors import KwsError
from kws.evaluate.stats import occurrences_key

SPLITS = ("train", "val", "test", "all")


def clip_accuracy(spec, model_dir: str | Path, data_dir: str | Path, *, split: str = "test") -> dict:
    """int8 metrics of the released model in ``model_dir`` on the ``split`` clips of ``data_dir``."""
    from kws.released import ReleasedModel
    from kws.train.features import read_clip
    from kws.train.metrics import contexts, evaluate_logits, voice_groups

    model_dir, data_dir = Path(model_dir), Path(data_dir)
    if split not in SPLITS:
        raise KwsError(f"split {split!r}: one of {', '.join(SPLITS)}")
    rm = ReleasedModel.load(model_dir)
    rm.check_frontend(spec)
    data = mf.load(data_dir)
    entries = [e for e in data["entries"] if split == "all" or e["split"] == split]
    if not entries:
        have = sorted({e["split"] for e in data["entries"]})
        raise KwsError(f"{data_dir}: no clips in split {split!r} (it has {', '.join(have) or 'none'}; --split all)")
    labels = list(rm.labels)
    foreign = sorted({e["label"] for e in entries} - set(labels))
    if foreign:
        raise KwsError(f"{data_dir}: labels {foreign} are not among {model_dir}'s classes {labels}")
    pcm = [read_clip(data_dir / e["path"], None, rate=spec.frontend.sample_rate_hz) for e in entries]
    logits = clip_logits((model_dir / "model.tflite").read_bytes(), pcm, spec)
    ids = [e["id"] for e in entries]
    y = np.array([labels.index(e["label"]) for e in entries])
    out = evaluate_logits(
        logits,
        y,
        labels,
        np.array([e["source"] for e in entries]),
        contexts(data_dir, ids),
        voice_groups(data_dir, ids),
    )
    # each clip's outcome and voice, for paired comparisons of two models (kws eval --compare)
    paired = {
        "clip_ids_key": occurrences_key([[i] for i in ids]),
        "outcomes": "".join("1" if c else "0" for c in np.argmax(logits, axis=1) == y),
        "clip_voices": [group_of(e["speaker"]) for e in entries],
    }
    return {"model": str(model_dir), "data": str(data_dir), "data_hash": data["hash"], "split": split, **out, **paired}


def window_samples(spec) -> int:
    """Samples of one network window: the fewest that give ``window_frames`` frames."""
    fe = spec.frontend
    return (spec.model.window_frames - 1) * fe.hop_samples + fe.window_samples


def clip_logits(model: bytes, pcm: list[np.ndarray], spec) -> np.ndarray:
    """float32 [clips, classes]: the int8 logits (TFLM) that score each clip, by the rule of the
    module's docstring. Clips of one window's length take one batch, as training computes them."""
    from kws.frontend import fixed
    from kws.reference.detector import BACKGROUND_CLASSES
    from kws.reference.tflm import tflm_logits
    from kws.train.features import clip_features

    frames, fe = spec.model.window_frames, spec.frontend
    if len({x.size for x in pcm}) == 1 and fe.num_frames(pcm[0].size) == frames:
        return tflm_logits(model, clip_features(np.stack(pcm), fe, frames)).astype(np.float32)
    need, stride = window_samples(spec), spec.detector.stride_frames
    windows, owner = [], []
    for i, x in enumerate(pcm):
        if x.size < need:
            x = np.concatenate([x, np.zeros(need - x.size, np.int16)])
        q = fixed.quantize_cepstra(fixed.cepstra_from_frames(fixed.frame_view(np.ascontiguousarray(x), fe), fe), fe)
        starts = sorted(set(range(0, q.shape[0] - frames + 1, stride)) | {q.shape[0] - frames})
        windows += [q[s : s + frames] for s in starts]
        owner += [i] * len(starts)
    wl = tflm_logits(model, np.stack(windows)).astype(np.float32)
    owner = np.array(owner)
    ranked = np.sort(wl, axis=1)
    top, conf = wl.argmax(axis=1), ranked[:, -1] - ranked[:, -2]  # int8 logits: a lead never saturates
    out = np.empty((len(pcm), wl.shape[1]), np.float32)
    for i in range(len(pcm)):
        idx = np.nonzero(owner == i)[0]
        kw = idx[top[idx] >= BACKGROUND_CLASSES]
        pool = kw if kw.size else idx
        out[i] = wl[pool[np.argmax(conf[pool])]]
    return out
