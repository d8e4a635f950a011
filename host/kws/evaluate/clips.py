"""`kws eval --clips DIR`: a released model's int8 accuracy on the clips of any data set.

The clips of one split (or all) of a data set made by ``kws data synth`` or ``kws data ingest``
(Speech Commands, MSWC, your own recordings) go through the spec's integer front end and the
released ``model.tflite`` in TFLM's host interpreter — the computation the firmware equals bit
for bit — and are scored as training scores its test split: accuracy, per-class recall,
confusion matrix, and accuracy per source, per context (a keyword alone or in a phrase) and per
voice. This is how a model trained on one corpus is measured on another: on a user's own
recordings, or a released model on a re-rendered corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from kws.data import manifest as mf
from kws.data.voices import group_of
from kws.errors import KwsError
from kws.evaluate.stats import occurrences_key

SPLITS = ("train", "val", "test", "all")


def clip_accuracy(spec, model_dir: str | Path, data_dir: str | Path, *, split: str = "test") -> dict:
    """int8 metrics of the released model in ``model_dir`` on the ``split`` clips of ``data_dir``."""
    from kws.quantize import tflm_logits
    from kws.release import load_manifest
    from kws.train.features import clip_features, read_clip
    from kws.train.fit import contexts, evaluate_logits, voice_groups

    model_dir, data_dir = Path(model_dir), Path(data_dir)
    if split not in SPLITS:
        raise KwsError(f"split {split!r}: one of {', '.join(SPLITS)}")
    man = load_manifest(model_dir)
    if "frontend" not in man or not (model_dir / "model.tflite").is_file():
        raise KwsError(f"{model_dir}: not a released model (its manifest.json names no front end, or there is no "
                       "model.tflite); `kws release` makes one")
    if man["frontend"]["hash"] != spec.frontend.hash:
        raise KwsError(f"{model_dir} was trained on front end {man['frontend']['hash'][:12]}, this spec computes "
                       f"{spec.frontend.hash[:12]}: use its spec (kws --spec)")
    data = mf.load(data_dir)
    entries = [e for e in data["entries"] if split == "all" or e["split"] == split]
    if not entries:
        have = sorted({e["split"] for e in data["entries"]})
        raise KwsError(f"{data_dir}: no clips in split {split!r} (it has {', '.join(have) or 'none'}; --split all)")
    labels = list(man["labels"])
    foreign = sorted({e["label"] for e in entries} - set(labels))
    if foreign:
        raise KwsError(f"{data_dir}: labels {foreign} are not among {model_dir}'s classes {labels}")
    samples = sf.info(str(data_dir / entries[0]["path"])).frames     # the data set's clip length, for every clip
    pcm = [read_clip(data_dir / e["path"], samples) for e in entries]
    x = clip_features(np.stack(pcm), spec.frontend, spec.model.window_frames)
    logits = tflm_logits((model_dir / "model.tflite").read_bytes(), x).astype(np.float32)
    ids = [e["id"] for e in entries]
    y = np.array([labels.index(e["label"]) for e in entries])
    out = evaluate_logits(logits, y, labels, np.array([e["source"] for e in entries]), contexts(data_dir, ids),
                          voice_groups(data_dir, ids))
    # each clip's outcome and voice, for paired comparisons of two models (kws eval --compare)
    paired = {"clip_ids_key": occurrences_key([[i] for i in ids]),
              "outcomes": "".join("1" if c else "0" for c in np.argmax(logits, axis=1) == y),
              "clip_voices": [group_of(e["speaker"]) for e in entries]}
    return {"model": str(model_dir), "data": str(data_dir), "data_hash": data["hash"], "split": split, **out, **paired}

