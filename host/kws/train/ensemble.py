"""Ensembles: several networks of one task, trained apart (other seeds), merged into one.

The seed alone moves a network's false-accept curve by 10-20 points of FRR (docs/training.md):
each network is confidently wrong on a different handful of unheard voices' words. Averaging
the logits of several cancels much of that. The average of N DS-CNNs of width w is itself one
DS-CNN of width N·w: the first convolution's and the depthwise filters side by side, the 1x1
convolutions block-diagonal (each member reads only its own channels), batch norm per channel,
and one classifier over all channels with the members' weights divided by N. So the merged
network goes through the one pipeline every model takes — post-training int8 quantization,
TFLM as the oracle, the C generator (which stores and computes only the diagonal blocks of the
1x1 convolutions, ``kws.codegen.model.pw_groups``), the streaming firmware — unchanged.

``[model] members = N`` (spec or task): ``kws train`` trains member k with seed ``seed + k`` into
``<out>/member<k>/`` and merges them into ``<out>``; ``kws ensemble`` merges training
directories made apart (their seeds are recorded in ``config.json`` and the release manifest).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.train.provenance import check_made_with, read_config


def member_config(spec, task, member_dir: Path) -> dict:
    """A member's effective config (``kws train``'s config.json), checked against the
    ensemble's spec: one member network, the task's labels, the spec's front end."""
    cfg = read_config(member_dir, made_by="kws train")
    check_made_with(
        cfg,
        Path(member_dir) / "config.json",
        spec=spec,
        model=spec.model.member,
        task=task,
        model_is="the ensemble's members",
    )
    return cfg


def merged_weights(layer_kind: str, parts: list[list[np.ndarray]], width: int) -> list[np.ndarray]:
    """One merged layer's weights from its members' (same layer, member order)."""
    n = len(parts)
    if layer_kind == "BatchNormalization":
        return [np.concatenate(ws, axis=0) for ws in zip(*parts)]
    if layer_kind == "DepthwiseConv2D":
        return [np.concatenate([p[0] for p in parts], axis=2)]
    if layer_kind == "Conv2D" and parts[0][0].shape[:2] == (1, 1) and parts[0][0].shape[2] == width:
        k = np.zeros((1, 1, width * n, width * n), parts[0][0].dtype)
        for i, p in enumerate(parts):
            k[:, :, i * width : (i + 1) * width, i * width : (i + 1) * width] = p[0]
        return [k]
    if layer_kind == "Conv2D":  # the first convolution: filters side by side
        return [np.concatenate([p[0] for p in parts], axis=3)]
    if layer_kind == "Dense":  # mean of the members' logits
        return [np.concatenate([p[0] for p in parts], axis=0) / n, np.mean([p[1] for p in parts], axis=0)]
    raise KwsError(f"cannot merge a {layer_kind} layer")


def merge(spec, task, member_dirs: list[Path], out_dir: str | Path, *, data_dir: str | Path | None = None) -> dict:
    """Merge trained members into ``out_dir`` (model.keras, config.json, metrics.json): a training
    directory ``kws quantize`` and ``kws release`` take as any other. ``spec``: the task's, with
    ``[model] members`` = len(member_dirs). With ``data_dir`` (the members' data set), metrics.json
    also holds the merged network's own validation and test figures, as kws train writes them."""
    import keras

    from kws.train.model import build, custom_objects

    member_dirs = [Path(d) for d in member_dirs]
    if spec.model.members != len(member_dirs):
        raise KwsError(
            f"[model] members is {spec.model.members}, {len(member_dirs)} members given: set "
            f"members = {len(member_dirs)} in the task's [model]"
        )
    if len(member_dirs) < 2:
        raise KwsError("an ensemble needs at least two members")
    cfgs = [member_config(spec, task, d) for d in member_dirs]
    data = {c["data"]["manifest_hash"] for c in cfgs}
    if len(data) > 1:
        raise KwsError(
            f"members trained on different data sets ({', '.join(sorted(h[:12] for h in data))}): train them on one"
        )
    if data_dir is not None:
        from kws.data import manifest as mf

        if mf.load(data_dir)["hash"] != cfgs[0]["data"]["manifest_hash"]:
            raise KwsError(
                f"{data_dir} is not the data set the members were trained on "
                f"(theirs: manifest {cfgs[0]['data']['manifest_hash'][:12]})"
            )
    models = [
        keras.models.load_model(d / "model.keras", custom_objects=custom_objects(), compile=False) for d in member_dirs
    ]
    merged = build(spec.model, spec.frontend.num_cepstra, len(task.labels))

    def weighted(m):
        return [ly for ly in m.layers if ly.get_weights()]

    for layer, *parts in zip(weighted(merged), *[weighted(m) for m in models], strict=True):
        layer.set_weights(merged_weights(type(layer).__name__, [p.get_weights() for p in parts], spec.model.width))
    # the merged network must be the members' mean, or it is not the ensemble that was measured
    x = np.random.default_rng(0).integers(-128, 128, (32, spec.model.window_frames, spec.frontend.num_cepstra, 1))
    x = x.astype(np.float32) * spec.model.input_scale
    want = np.mean([m.predict(x, verbose=0) for m in models], axis=0)
    got = merged.predict(x, verbose=0)
    err = float(np.abs(got - want).max())
    if err > 1e-4 * max(1.0, float(np.abs(want).max())):
        raise KwsError(f"merged network differs from the members' mean logits by {err:g}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save(out_dir / "model.keras")
    members = [
        {
            "dir": str(d),
            "seed": c["train"]["seed"],
            "epochs": c["train"]["epochs"],
            "sha256": hashlib.sha256((d / "model.keras").read_bytes()).hexdigest(),
            **({"init": c["init"]} if c.get("init") else {}),
        }  # the weights each member started from
        for d, c in zip(member_dirs, cfgs)
    ]
    config = {
        **{k: v for k, v in cfgs[0].items() if k != "init"},  # a start is each member's own
        "model": {"hash": spec.model.hash, **dataclasses.asdict(spec.model)},
        "members": members,
        "merge_max_abs_error": err,
    }
    metrics = {"members": []}
    if data_dir is not None:
        from kws.train.features import build_features
        from kws.train.fit import split_metrics

        feats = build_features(
            data_dir,
            spec,
            task,
            augment_copies=spec.train.augment_copies,
            cache_dir=Path(data_dir) / "features",
            progress=False,
        )
        metrics.update(split_metrics(merged, spec, task.labels, Path(data_dir), feats))
    for d in member_dirs:
        mm = json.loads((d / "metrics.json").read_text()) if (d / "metrics.json").exists() else {}
        metrics["members"].append(
            {
                "dir": str(d),
                "val_voice_balanced_accuracy": mm.get("val", {}).get("voice_balanced_accuracy"),
                "test_accuracy": mm.get("test", {}).get("accuracy"),
                "epochs_run": mm.get("epochs_run"),
            }
        )
    write_if_changed(out_dir / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    write_if_changed(out_dir / "config.json", json.dumps(config, indent=1) + "\n")
    return config


def train_members(
    spec,
    task,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    epochs: int | None = None,
    progress: bool = True,
    init: str | Path | None = None,
    **teach,
) -> dict:
    """``kws train`` for ``[model] members`` > 1: member k with seed ``seed + k`` into
    ``<out>/member<k>/`` (skipped when already trained with that seed, start, teacher and settings),
    then :func:`merge`. ``init``: an ensemble's training directory; member k starts from the weights
    of its ``member<k>/`` (e.g. pre-trained on another data set). ``teach``: ``teacher`` and
    ``distill`` for every member (kws.train.fit.train)."""
    from kws.train.distill import model_sha256, taught_as
    from kws.train.fit import train

    out_dir = Path(out_dir)
    member_spec = dataclasses.replace(spec, model=spec.model.member)
    starts = [None] * spec.model.members
    if init is not None:  # checked before any work
        starts = [Path(init) / f"member{k}" for k in range(spec.model.members)]
        missing = [str(s) for s in starts if not (s / "model.keras").is_file()]
        if missing:
            raise KwsError(
                f"{init}: no trained {', '.join(missing)}: --init for an ensemble of {spec.model.members} "
                f"networks takes the training directory of one (kws train with [model] members = "
                f"{spec.model.members})"
            )
    dirs = []
    for k in range(spec.model.members):
        d = out_dir / f"member{k}"
        seed = spec.train.seed + k
        cfg = d / "config.json"
        old = json.loads(cfg.read_text()) if cfg.exists() and (d / "model.keras").exists() else None
        started = (old or {}).get("init", {}).get("sha256")
        done = (
            old is not None
            and old["train"]["seed"] == seed
            and started == (model_sha256(starts[k]) if starts[k] is not None else None)
            and taught_as(old.get("teacher"), teach.get("teacher"), teach.get("distill"))
        )
        if not done:
            if progress:
                print(
                    f"member {k + 1} of {spec.model.members} (seed {seed}"
                    + (f", from {starts[k]})" if starts[k] is not None else ")")
                )
            train(
                member_spec,
                task,
                data_dir,
                d,
                epochs=epochs,
                seed=seed,
                progress=progress,
                **({"init": starts[k]} if starts[k] is not None else {}),
                **teach,
            )
        dirs.append(d)
    return merge(spec, task, dirs, out_dir, data_dir=data_dir)
