"""Training features: the integer front end's int8 output, exactly what the device computes.

A data set split becomes int8 ``[clips, window_frames, num_cepstra]`` through
:mod:`kws.frontend.fixed`; training clips are joined by ``augment_copies`` augmented copies
(kws.data.augment, seeded per clip). Results are cached in ``.npz`` files keyed by the data
manifest hash, the front-end hash and the augmentation settings, so a second run is instant
and a changed input can never reuse stale features.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from kws.audio import read_wav
from kws.data import manifest as mf
from kws.engine import default_workers, run_map
from kws.errors import KwsError
from kws.frontend import fixed
from kws.spec import SAMPLE_RATE

SPLITS = ("train", "val", "test")


def clip_features(pcm: np.ndarray, fe_spec, frames: int) -> np.ndarray:
    """int8 [N, frames, cepstra] of int16 clips [N, samples] (each exactly ``frames`` frames)."""
    n, samples = pcm.shape
    if fe_spec.num_frames(samples) != frames:
        raise KwsError(
            f"clips of {samples} samples give {fe_spec.num_frames(samples)} frames, the model needs "
            f"{frames}: set the task's clip_seconds to match model.window_frames"
        )
    out = np.empty((n, frames, fe_spec.num_cepstra), dtype=np.int8)
    per = max(1, fixed.BATCH_FRAMES // frames)
    for a in range(0, n, per):
        block = pcm[a : a + per]
        fr = np.concatenate([fixed.frame_view(np.ascontiguousarray(c), fe_spec) for c in block])
        q = fixed.quantize_cepstra(fixed.cepstra_from_frames(fr, fe_spec), fe_spec)
        out[a : a + block.shape[0]] = q.reshape(block.shape[0], frames, -1)
    return out


def read_clip(path: Path, samples: int | None, *, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A data set clip as int16, mono 16-bit PCM at ``rate``, exactly ``samples`` long unless
    None (else a clear error naming it and what is wrong)."""
    x = read_wav(path, expected_rate=rate)
    if samples is not None and x.size != samples:
        raise KwsError(
            f"{path}: {x.size} samples, the data set's clips have {samples} (run it through kws data ingest)"
        )
    return x


def _aug_one(job: tuple, shared: tuple) -> list[np.ndarray]:
    """One clip's augmented copies; ``shared``: (backgrounds, augmentation config, copies, speech labels)."""
    from kws.data.augment import augment

    clip_id, label, pcm = job
    backgrounds, cfg, copies, speech = shared
    return [
        augment(pcm, clip_id=clip_id, index=k, cfg=cfg, backgrounds=backgrounds, is_speech=label in speech)
        for k in range(copies)
    ]


def split_audio(
    data_dir: Path,
    task,
    split: str,
    *,
    man: dict | None = None,
    augment_copies: int = 0,
    workers: int | None = None,
    progress: bool = True,
):
    """(pcm [N, samples] int16, labels, clip ids, sources) of one split: its clips, then
    ``augment_copies`` augmented copies of each (kws.data.augment, seeded by clip id and copy),
    the examples training sees in this order (features, and a teacher's logits, follow it)."""
    from kws.progress import bar

    data_dir = Path(data_dir)
    man = man or mf.load(data_dir)
    samples = int(round(task.clip_seconds * SAMPLE_RATE))
    label_ix = {lab: i for i, lab in enumerate(task.labels)}
    ents = [e for e in man["entries"] if e["split"] == split]
    if not ents:
        raise KwsError(f"{data_dir}: split {split!r} is empty")
    pcm = np.stack(
        [
            read_clip(data_dir / e["path"], samples)
            for e in bar(ents, desc=f"read {split}", unit="clip", progress=progress)
        ]
    )
    y = np.array([label_ix[e["label"]] for e in ents], dtype=np.int32)
    ids = np.array([e["id"] for e in ents])
    src = np.array([e["source"] for e in ents])
    if augment_copies:
        bgs = [pcm[i] for i, e in enumerate(ents) if e["label"] == task.silence_label]
        speech = {lab for lab in task.labels if task.is_speech(lab)}
        jobs = [(e["id"], e["label"], pcm[i]) for i, e in enumerate(ents)]
        copies = list(
            bar(
                run_map(
                    _aug_one,
                    jobs,
                    shared=(bgs, task.augment, augment_copies, speech),
                    workers=workers or default_workers(),
                    what="an augmentation",
                ),
                total=len(jobs),
                desc="augment",
                unit="clip",
                progress=progress,
            )
        )
        aug = np.stack([c for group in copies for c in group])
        pcm = np.concatenate([pcm, aug])
        y = np.concatenate([y, np.repeat(y, augment_copies)])
        ids = np.concatenate([ids, np.repeat(ids, augment_copies)])
        src = np.concatenate([src, np.repeat(src, augment_copies)])
    return pcm, y, ids, src


def features_key(man: dict, spec, task, augment_copies: int) -> str:
    """What a data set's training features depend on: its manifest, the front end, the window,
    the augmentation (copies and settings)."""
    return hashlib.sha256(
        json.dumps(
            {
                "manifest": man["hash"],
                "frontend": spec.frontend.hash,
                "frames": spec.model.window_frames,
                "copies": augment_copies,
                "augment": task.augment.key(),
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()[:20]


def build_features(
    data_dir: str | Path,
    spec,
    task,
    *,
    augment_copies: int,
    cache_dir: str | Path,
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Features and labels of every split (train with augmented copies), cached."""

    data_dir = Path(data_dir)
    man = mf.load(data_dir)
    if man["labels"] != list(task.labels):
        raise KwsError(
            f"{data_dir}: data set labels {man['labels']} differ from task {task.name!r} {list(task.labels)}"
        )
    key = features_key(man, spec, task, augment_copies)
    cache = Path(cache_dir) / f"features_{key}.npz"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    out: dict[str, np.ndarray] = {}
    for split in SPLITS:
        pcm, y, ids, src = split_audio(
            data_dir,
            task,
            split,
            man=man,
            augment_copies=augment_copies if split == "train" else 0,
            workers=workers,
            progress=progress,
        )
        out[f"x_{split}"] = clip_features(pcm, spec.frontend, spec.model.window_frames)
        out[f"y_{split}"] = y
        out[f"id_{split}"] = ids
        out[f"source_{split}"] = src
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + f".tmp{os.getpid()}.npz")
    np.savez(tmp, **out)
    os.replace(tmp, cache)
    return out
