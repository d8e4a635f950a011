"""`kws release`: a trained, quantized model into ``models/<name>/`` with its manifest and card.

``manifest.json`` (schema ``models/manifest.schema.json``) ties the artifact to everything it
came from: front-end, model and training spec hashes, data manifest hash, code version, the
calibration set (path and sha256), quantization parameters, float and int8 accuracy, the
island budget breakdown and, once calibrated, the thresholds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path

from kws.data import manifest as mf
from kws.errors import KwsError
from kws.fsio import write_if_changed
from kws.paths import MODELS_DIR, REPO_ROOT
from kws.released import ReleasedModel
from kws.released import file_sha256 as _sha
from kws.train.metrics import NO_CONTEXT

SCHEMA = MODELS_DIR / "manifest.schema.json"


def validate(manifest: dict, model_dir: Path | None = None) -> None:
    """Schema check, plus: the hashes point at the real artifacts."""
    import jsonschema

    try:
        jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    except jsonschema.ValidationError as e:
        raise KwsError(
            f"model manifest invalid at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        ) from e
    if model_dir is not None:
        if _sha(model_dir / "model.tflite") != manifest["model"]["sha256"]:
            raise KwsError(f"{model_dir}/model.tflite does not match the manifest's sha256")
        fl = manifest.get("float_model")
        if fl and (not (model_dir / fl["file"]).is_file() or _sha(model_dir / fl["file"]) != fl["sha256"]):
            raise KwsError(f"{model_dir}/{fl['file']}: float network missing or not the one in the manifest")
        cal = REPO_ROOT / manifest["quantization"]["calibration"]["file"]
        if not cal.exists() or _sha(cal) != manifest["quantization"]["calibration"]["sha256"]:
            raise KwsError(f"{cal}: calibration set missing or changed since release")


def release(
    spec,
    task,
    train_dir: str | Path,
    data_dir: str | Path,
    *,
    name: str,
    budget: dict,
    out_dir: str | Path | None = None,
    baseline_minutes: float = 10.0,
) -> Path:
    from kws.train.provenance import check_trained_with

    train_dir, data_dir = Path(train_dir), Path(data_dir)
    check_trained_with(spec, train_dir)  # the manifest records the spec's [model] as the network's
    # written into a staging directory beside the release and renamed into place when complete:
    # a release that fails or is killed half-way leaves the previous one as it was
    final = Path(out_dir) if out_dir else MODELS_DIR / name
    out = _staging(final)
    try:
        _release_into(
            spec, task, train_dir, data_dir, out, final, name=name, budget=budget, baseline_minutes=baseline_minutes
        )
        _swap_into_place(out, final)
    finally:
        if out.exists():
            shutil.rmtree(out)
    return final


def _staging(final: Path) -> Path:
    """A hidden directory beside ``final`` holding a copy of the previous release (files a release
    does not rewrite, such as a drift baseline, stay), into which the new one is written."""
    out = final.with_name(f".{final.name}.release-{os.getpid()}")
    if out.exists():
        shutil.rmtree(out)
    if final.is_dir():
        shutil.copytree(final, out)
    else:
        out.mkdir(parents=True)
    return out


def _swap_into_place(staged: Path, final: Path) -> None:
    """The staged release replaces ``final`` by renames: a reader sees the old release or the new
    one, never a model file of one beside the manifest of the other."""
    old = final.with_name(f".{final.name}.previous-{os.getpid()}")
    if final.exists():
        os.rename(final, old)
    os.rename(staged, final)
    if old.exists():
        shutil.rmtree(old)


def _release_into(
    spec,
    task,
    train_dir: Path,
    data_dir: Path,
    out: Path,
    final: Path,
    *,
    name: str,
    budget: dict,
    baseline_minutes: float,
) -> None:
    from kws.reference.tflite_model import TFLiteModel
    from kws.train.model import parameter_count

    q = json.loads((train_dir / "quantize.json").read_text())
    blob = (train_dir / "model.tflite").read_bytes()
    m = TFLiteModel.from_bytes(blob)
    tin, tout = m.tensors[m.inputs[0]], m.tensors[m.outputs[0]]
    cal = REPO_ROOT / q["calibration"]["path"]
    shutil.copyfile(train_dir / "model.tflite", out / "model.tflite")
    shutil.copyfile(train_dir / "model.keras", out / "model.keras")
    cfg_path = train_dir / "config.json"
    trained_cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
    adapted, teacher = trained_cfg.get("adapt"), trained_cfg.get("teacher")
    data_man = mf.load(data_dir)
    manifest = {
        "schema": 1,
        "name": name,
        "task": {"name": task.name, "hash": task.hash},
        "labels": list(task.labels),
        "model": {
            "file": "model.tflite",
            "sha256": hashlib.sha256(blob).hexdigest(),
            "bytes": len(blob),
            "ops": [op.name for op in m.operators],
            "parameters": parameter_count(spec.model, spec.frontend.num_cepstra, len(task.labels)),
        },
        "frontend": {"hash": spec.frontend.hash, "name": spec.frontend.name, "version": spec.frontend.version},
        "spec": {
            "model": {"hash": spec.model.hash, **asdict(spec.model)},
            "train": _trained_with(spec, train_dir),
            **({"members": _members(train_dir)} if spec.model.members > 1 else {}),
            **({"teacher": teacher} if teacher else {}),
            **({"init": trained_cfg["init"]} if trained_cfg.get("init") else {}),
        },
        "data": {
            "manifest_hash": data_man["hash"],
            "clips": len(data_man["entries"]),
            "counts": data_man["counts"],
            "sources": _count(e["source"] for e in data_man["entries"]),
            "recorded": recorded_sources(data_man["entries"]),
        },
        "code": mf.code_version(),
        "quantization": {
            "input": {"scale": float(tin.scale[0]), "zero_point": int(tin.zero_point[0])},
            "output": {"scale": float(tout.scale[0]), "zero_point": int(tout.zero_point[0])},
            "calibration": {"file": q["calibration"]["path"], "sha256": _sha(cal), "clips": q["calibration"]["clips"]},
        },
        "accuracy": _accuracy(q),
        "budget": budget,
        "thresholds": None,
        "float_model": _float_model(out / "model.keras"),
        **({"adaptation": _adaptation(adapted, train_dir)} if adapted else {}),
    }
    _keep_measured(manifest, final / "manifest.json")
    validate(manifest)
    if baseline_minutes:
        from kws.reference.monitor.drift import baseline_from_wavs, reference_streams

        wavs = reference_streams(task, data_dir, train_dir / "baseline_streams", minutes=baseline_minutes)
        baseline_from_wavs(spec, wavs, period_s=spec.monitor.period_s).save(out / "feature_baseline.json")
    write_if_changed(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    write_if_changed(out / "MODEL_CARD.md", model_card(manifest))
    validate(manifest, out)


def _float_model(path: Path) -> dict:
    """The float network the int8 model was converted from: what `kws adapt` fine-tunes."""
    return {"file": path.name, "sha256": _sha(path), "bytes": path.stat().st_size}


def _adaptation(adapt: dict, train_dir: Path) -> dict:
    """A model adapted to a speaker (kws.train.adapt): its base model, the user's takes, and the
    before/after figures of ``adapt.json``."""
    res = json.loads((train_dir / "adapt.json").read_text())
    user = adapt["user_data"]
    return {
        "base_model": adapt["base_model"],
        "settings": adapt["settings"],
        "user_data": {
            **{k: user[k] for k in ("manifest_hash", "takes", "trained_on", "speakers")},
            **{k: user[k] for k in ("labels", "mined") if k in user},
        },
        "held_back": len(user["held_back"]),
        "before": res["before"],
        "after": res["after"],
    }


def attach_float_model(model_dir: Path, train_dir: Path) -> dict:
    """Adds the float network of the training directory a model was released from (checked: its
    model.tflite is the released one) to the release, for `kws adapt`."""
    _check_released_from(model_dir, Path(train_dir), ReleasedModel.load(model_dir))
    shutil.copyfile(Path(train_dir) / "model.keras", Path(model_dir) / "model.keras")
    return update_manifest(model_dir, {"float_model": _float_model(Path(model_dir) / "model.keras")})


def _members(train_dir: Path) -> list[dict]:
    """An ensemble's members (kws.train.ensemble): seed, epochs and sha256 of each float network."""
    from kws.errors import KwsError

    got = json.loads((train_dir / "config.json").read_text()).get("members")
    if not got:
        raise KwsError(
            f"{train_dir}/config.json lists no members: make an ensemble with kws train ([model] members) "
            "or kws ensemble"
        )
    return [
        {
            **{k: m[k] for k in ("seed", "epochs", "sha256")},
            **({"init": {k: m["init"].get(k) for k in ("sha256", "data")}} if m.get("init") else {}),
        }
        for m in got
    ]


def _trained_with(spec, train_dir: Path) -> dict:
    """The [train] the model was trained with: the training directory's effective config (a seed
    or epoch count given on the command line included), else the spec's."""
    cfg = train_dir / "config.json"
    got = json.loads(cfg.read_text()).get("train") if cfg.exists() else None
    return got or {"hash": spec.train.hash, **asdict(spec.train)}


def _accuracy(q: dict) -> dict:
    """The manifest's accuracy block from a quantize.json-like record."""
    return {
        "float_test": q["float_test"]["accuracy"],
        "int8_test": q["int8_test"]["accuracy"],
        "int8_test_balanced": q["int8_test"].get("balanced_accuracy"),
        "int8_reference": q["int8_reference"],
        "test_clips": q["int8_test"]["n"],
        "per_source_int8": q["int8_test"].get("per_source"),
        "per_context_int8": q["int8_test"].get("per_context"),
        "per_voice_int8": q["int8_test"].get("per_voice"),
        "per_class_recall_int8": q["int8_test"]["per_class_recall"],
        "confusion_int8": q["int8_test"]["confusion"],
        "test_voices": "held out: never heard in training (speaker-disjoint split)",
    }


def remeasure_accuracy(spec, task, model_dir: Path, train_dir: Path, data_dir: Path) -> dict:
    """Measures a released model's test accuracy again — float from the Keras model of the training
    directory it was released from, int8 from the released file in TFLM — on the data set it was
    released from, and rewrites the manifest's accuracy and the card: for figures added after the
    release (per-context accuracy) without re-quantizing (a new conversion need not give the same
    bytes). The int8 accuracy must come out as recorded: same file, clips and interpreter."""
    import keras

    from kws.train.model import custom_objects
    from kws.train.quantize import test_metrics

    model_dir, train_dir, data_dir = Path(model_dir), Path(train_dir), Path(data_dir)
    rm = ReleasedModel.load(model_dir)
    man = rm.manifest
    data_hash = mf.load(data_dir)["hash"]
    if data_hash != man["data"]["manifest_hash"]:
        raise KwsError(
            f"{data_dir}: data set {data_hash[:16]}, but {model_dir} was released from "
            f"{man['data']['manifest_hash'][:16]}"
        )
    _check_released_from(model_dir, train_dir, rm)
    model = keras.models.load_model(train_dir / "model.keras", custom_objects=custom_objects(), compile=False)
    fl, q = test_metrics(spec, task, model, rm.blob(), data_dir, progress=False)
    if q["accuracy"] != man["accuracy"]["int8_test"] or q["n"] != man["accuracy"]["test_clips"]:
        raise KwsError(
            f"{model_dir}: int8 accuracy measured {q['accuracy']:.4%} on {q['n']} clips, recorded "
            f"{man['accuracy']['int8_test']:.4%} on {man['accuracy']['test_clips']}: not the same test"
        )
    return update_manifest(
        model_dir,
        {
            "accuracy": _accuracy(
                {"float_test": fl, "int8_test": q, "int8_reference": man["accuracy"]["int8_reference"]}
            )
        },
    )


def _keep_measured(manifest: dict, previous: Path) -> None:
    """Releasing the same model file again (to add figures, or after a code change) keeps what was
    measured on it since: its calibrated thresholds and the budget measured from its firmware.
    Another file starts uncalibrated and estimated, as every new release does."""
    if not previous.is_file():
        return
    old = json.loads(previous.read_text())
    if (
        old.get("model", {}).get("sha256") != manifest["model"]["sha256"]
        or old.get("frontend", {}).get("hash") != manifest["frontend"]["hash"]
    ):
        return
    if old.get("thresholds"):
        manifest["thresholds"] = old["thresholds"]
    if old.get("budget", {}).get("all_measured") and not manifest["budget"].get("all_measured"):
        manifest["budget"] = old["budget"]


def recorded_sources(entries: list[dict]) -> dict:
    """Per recorded source (not the TTS corpus or its generated noise): its clips, a sha256 over
    its files' sha256 (the recordings' identity, not the recordings) and the credit it is owed."""
    from kws.data.sources import CREDITS

    by: dict[str, list[str]] = {}
    by_file: dict[str, bool] = {}
    train_only: dict[str, bool] = {}
    for e in entries:
        if not e["source"].startswith("tts:") and e["source"] != "noise":
            by.setdefault(e["source"], []).append(e["source_sha256"])
            by_file[e["source"]] = by_file.get(e["source"], True) and ":file:" in e["speaker"]
            train_only[e["source"]] = train_only.get(e["source"], True) and e["split"] == "train"
    return {
        src: {
            "clips": len(h),
            "files_sha256": hashlib.sha256("".join(sorted(h)).encode()).hexdigest(),
            "credit": CREDITS.get(src, "a recorded source with no credit on record"),
            "split": "training only"
            if train_only[src]
            else "by file (no speaker ids: one person may be on both sides)"
            if by_file[src]
            else "by speaker or recording",
        }
        for src, h in sorted(by.items())
    }


def _count(items) -> dict[str, int]:
    from collections import Counter

    return dict(sorted(Counter(items).items()))


def _block_kernel(sm: dict) -> str:
    k = sm.get("block_kernel") or (3, 3)
    return "" if tuple(k) == (3, 3) else f" ({k[0]}×{k[1]} depthwise kernels)"


def _temporal(sm: dict) -> str:
    """The first convolution's padding along cepstra, when not SAME (a kernel as wide as the
    cepstra then makes them the channels of a temporal network: docs/training.md)."""
    return "" if sm.get("cepstra_padding", "same") == "same" else " without padding along cepstra"


def _people_lines(per_source: dict) -> str:
    """What the card says of human speech: the held-out recorded speakers' figures where the test
    split has recorded speech, else that only synthetic voices were measured."""
    real = {
        k: v
        for k, v in per_source.items()
        if "per_class_recall" in v
        and any(  # recorded speech, not noise
            r is not None for c, r in v["per_class_recall"].items() if c != "_silence_"
        )
    }
    lines = []
    for src, v in sorted(real.items()):
        w = v.get("test_set_weighted_accuracy")
        lines.append(
            f"- {src}: {v['accuracy']:.1%} of {v['n']} clips"
            + (f" ({w:.1%} weighed as the published Speech Commands test set)" if w is not None else "")
            + f", class-balanced {v['balanced_accuracy']:.1%}"
        )
    if lines:
        return (
            'On held-out recorded speakers and takes (int8, never heard in training; docs/data.md, "Real '
            'speakers"):\n\n' + "\n".join(lines) + "\n\nMeasure it on your own recordings too (`kws data "
            "ingest recordings`, then `kws eval --clips DIR --split all`) before you ship."
        )
    return (
        "Synthetic voices are not people: this model's data held no recorded speech, so its accuracy on human "
        "speech is not measured in this card. Measure it on your own recordings (`kws data ingest recordings`, "
        "then `kws eval --clips DIR --split all`) before you ship."
    )


def _recorded_lines(data: dict) -> str:
    """The recordings the model was trained and measured on, credited as their licences ask."""
    rec = data.get("recorded") or {}
    if not rec:
        return ""
    return (
        "\n\nRecorded speech and noise (the files' sha256 in the manifest, the files not in the repository):\n\n"
        "| source | clips | split | credit |\n| --- | --- | --- | --- |\n"
        + "\n".join(f"| {k} | {v['clips']:,} | {v.get('split', '')} | {v['credit']} |" for k, v in rec.items())
    )


def _sources_line(data: dict) -> str:
    """What the data set was made of, by source (manifests written before the count: the built-in corpus)."""
    src = data.get("sources")
    if not src:
        return "Built-in TTS corpus (espeak-ng, flite, festival, Piper)"
    tts = [k for k in src if k.startswith("tts:")]
    if not tts:
        return "Data set (" + ", ".join(f"{k} {v:,} clips" for k, v in src.items()) + ")"
    rest = "".join(f", {k} {v:,}" for k, v in src.items() if k not in tts)
    return "Built-in TTS corpus (" + ", ".join(f"{k[4:]} {src[k]:,}" for k in tts) + f" clips{rest})"


def _check_released_from(model_dir: Path, train_dir: Path, rm: ReleasedModel) -> None:
    """``train_dir`` is the training directory ``model_dir`` was released from: its model.tflite is the released file."""
    trained = train_dir / "model.tflite"
    if not trained.is_file() or _sha(trained) != rm.sha256:
        raise KwsError(
            f"{train_dir}: its model.tflite is not the model released in {model_dir}; give the training "
            "directory it was released from"
        )


def update_manifest(model_dir: Path, changes: dict) -> dict:
    """Sets top-level ``changes`` in a released model's manifest, re-validated against the schema
    and the artifacts, and rewrites its card."""
    model_dir = Path(model_dir)
    man = {**ReleasedModel.load(model_dir).manifest, **changes}
    validate(man, model_dir)
    write_if_changed(model_dir / "manifest.json", json.dumps(man, indent=1) + "\n")
    write_if_changed(model_dir / "MODEL_CARD.md", model_card(man))
    return man


def record_budget(model_dir: Path, budget: dict) -> Path:
    """The island measured from the firmware built for this model, into its manifest and card."""
    if not budget.get("all_measured"):
        raise KwsError(f"{model_dir}: only a budget measured from the linked firmware is recorded")
    update_manifest(model_dir, {"budget": budget})
    return Path(model_dir) / "manifest.json"


def model_card(man: dict) -> str:
    acc = man["accuracy"]
    ps = acc.get("per_source_int8") or {}
    rows = "\n".join(f"| {s} | {v['accuracy']:.1%} | {v['n']} |" for s, v in sorted(ps.items()))
    pc = acc.get("per_context_int8") or {}
    ctx = (
        (
            "\n\n| how the word is said | int8 accuracy | clips |\n| --- | --- | --- |\n"
            + "\n".join(f"| {c} | {v['accuracy']:.1%} | {v['n']} |" for c, v in sorted(pc.items()))
        )
        if set(pc) - {NO_CONTEXT}
        else ""
    )
    pv = {v: r for v, r in (acc.get("per_voice_int8") or {}).items() if not v.startswith(("noise", "recorded_noise"))}
    weakest = sorted(pv.items(), key=lambda kv: (kv[1]["accuracy"], kv[0]))[:5]
    voices = (
        (
            f"\n\nThe {len(weakest)} weakest of the {len(pv)} test voices (a recorded speaker, an espeak-ng "
            "variant across its accents, or an engine's voice; docs/evaluation.md):\n\n| voice | int8 accuracy | clips |\n| --- | --- | --- |\n"
            + "\n".join(f"| {v} | {r['accuracy']:.1%} | {r['n']} |" for v, r in weakest)
        )
        if weakest
        else ""
    )
    sm = man["spec"]["model"]
    b = man["budget"]
    ms = man["spec"].get("members")
    members = (
        f"an ensemble of {len(ms)} networks trained apart and merged into one (the mean of their logits; "
        "docs/training.md), each a "
        if ms
        else ""
    )
    epochs = sorted({m["epochs"] for m in ms or []})
    trained = (
        f"members trained with seeds {', '.join(str(m['seed']) for m in ms)} for up to "
        f"{', '.join(map(str, epochs))} epochs{' each' if len(epochs) == 1 else ''}"
        if ms
        else f"trained with seed {man['spec']['train'].get('seed', '?')} for up to "
        f"{man['spec']['train'].get('epochs', '?')} epochs"
    )
    t = man["spec"].get("teacher")
    if t and t.get("kind") == "speech-embedding":
        trained += (
            f", distilled from a teacher that never runs on the device (kws teach: a {t['hidden']}-unit "
            "classifier on Google's speech embedding as openWakeWord ships it, fitted to the same training "
            f"clips; `{t['sha256'][:12]}…`, temperature {t['temperature']:g}, teacher's share {t['alpha']:g})"
        )
    elif t:
        trained += (
            f", distilled from a teacher (kws train --teacher: width {t['width']}"
            f"{' x ' + str(t['members']) + ' members' if t.get('members', 1) > 1 else ''}, "
            f"`{t['sha256'][:12]}…`, temperature {t['temperature']:g}, teacher's share {t['alpha']:g})"
        )
    i = man["spec"].get("init")
    starts = [m["init"] for m in (ms or []) if m.get("init")]
    if i:
        trained += (
            f", starting from the weights of a network trained on another data set (kws train --init: "
            f"`{i['sha256'][:12]}…`, data set {((i.get('data') or {}).get('manifest_hash') or '?')[:12]}…)"
        )
    elif starts:
        shas = ", ".join("`" + s["sha256"][:12] + "…`" for s in starts)
        data = ", ".join(sorted({((s.get("data") or {}).get("manifest_hash") or "?")[:12] + "…" for s in starts}))
        trained += (
            ", each member starting from the weights of a network trained on another data set (kws train "
            f"--init: {shas}; data set {data})"
        )
    return f"""# Model card: {man["name"]}

**Task**: {man["task"]["name"]} — {", ".join(man["labels"])}.
**Network**: {members}DS-CNN, width {sm["width"]}, {sm["blocks"]} depthwise-separable blocks{_block_kernel(sm)} after a
{sm["first_kernel"][0]}×{sm["first_kernel"][1]} convolution with stride {sm["first_stride"][0]}×{
        sm["first_stride"][1]
    } (time × cepstra){_temporal(sm)}, {man["model"]["parameters"]:,}
parameters, {trained}, full int8 ({man["model"]["bytes"]:,} B `.tflite`; ops {
        ", ".join(sorted(set(man["model"]["ops"])))
    }).
**Input**: the fixed-point 13-MFCC front end `{man["frontend"]["name"]}` v{man["frontend"]["version"]}
(sha256 `{man["frontend"]["hash"][:16]}…`), {sm["window_frames"]} frames (1 s), int8 with scale
{man["quantization"]["input"]["scale"]} and zero point {man["quantization"]["input"]["zero_point"]}: exactly the
integers the device computes. Output: int8 logits.

## Data
{_sources_line(man["data"])}, data manifest `{man["data"]["manifest_hash"][:16]}…`,
{man["data"]["clips"]:,} clips. Test voices are held out: never heard in training.{
        _adaptation_lines(man.get("adaptation"))
    }{_recorded_lines(man["data"])}

## Accuracy (test split, held-out voices)
float {acc["float_test"]:.1%}, int8 {acc["int8_test"]:.1%} ({acc["int8_reference"]}), {acc["test_clips"]} clips;
int8 balanced accuracy (mean per-class recall) {(acc.get("int8_test_balanced") or 0):.1%}.

| source | int8 accuracy | clips |
| --- | --- | --- |
{rows}{ctx}{voices}

{_people_lines(ps)}

## Footprint
{b["total_bytes"]:,} B of the {b["budget_bytes"]:,} B island budget ({
        ("all measured" + (f" from `{b['image']}`" if b.get("image") else ""))
        if b["all_measured"]
        else "estimated from the model; the linked firmware gives the measured figure: `kws budget --elf build/qemu/kws_app.elf`"
    }).

## Provenance
Calibration set `{man["quantization"]["calibration"]["file"]}` ({man["quantization"]["calibration"]["clips"]} clips),
code {man["code"].get("git_commit", man["code"]["kws"])[:12]}. Thresholds: {_thresholds_line(man.get("thresholds"))}.
"""


def _adaptation_lines(a: dict | None) -> str:
    if not a:
        return ""

    def pct(v):
        return "–" if v is None else f"{v:.1%}"

    b, f = a["before"], a["after"]
    mined = a["user_data"].get("mined")
    if mined:
        fa = sum(m["false_accepts"] for m in mined)
        kw = sum(m["keyword_windows"] for m in mined)
        hours = sum(m["hours"] for m in mined)
        streams = sum(len(m["streams"]) for m in mined)
        thr = ", ".join(sorted({format(m["threshold"], "g") for m in mined}))
        after = "; ".join(sorted({", ".join(map(str, m["after_ms"])) for m in mined}))
        return (
            f"\n\n**Fine-tuned on streaming windows** (`kws data mine`, then `kws adapt`) from "
            f"`{a['base_model']['name']}` (`{a['base_model']['sha256'][:12]}…`): {fa:,} false accepts of that "
            f"model at posterior {thr} as "
            f"`_unknown_` and {kw:,} keyword windows (ending "
            f"{after} ms after each keyword), "
            f"cut from {hours:.1f} h of {streams} streams of the training speakers (their sha256 in the "
            f"manifest; data `{a['user_data']['manifest_hash'][:16]}…`), with {a['settings']['rehearsal']:,} "
            f"examples of the base training set; the base network's batch-norm statistics kept. On "
            f"{a['held_back']} takes held back from it: int8 {pct(b['user_held_back_int8'])} before, "
            f"{pct(f['user_held_back_int8'])} after. Test accuracy below: the base data set's held-out voices "
            f"(base model {pct(b['base_test_int8'])})."
        )
    return (
        f"\n\n**Adapted to a speaker** (`kws adapt`) from `{a['base_model']['name']}` "
        f"(`{a['base_model']['sha256'][:12]}…`) on {a['user_data']['trained_on']} takes of "
        f"{', '.join(a['user_data']['speakers'])} (data `{a['user_data']['manifest_hash'][:16]}…`); on "
        f"{a['held_back']} takes held back from it: int8 {pct(b['user_held_back_int8'])} before, "
        f"{pct(f['user_held_back_int8'])} after. Test accuracy below: the base data set's held-out voices "
        f"(base model {pct(b['base_test_int8'])})."
    )


def _thresholds_line(t: dict | None) -> str:
    if not t:
        return "not yet calibrated (the detector uses the spec's default)"
    vals = ", ".join(f"{k} {v:g}" for k, v in t["values"].items())
    return (
        f"calibrated to {t['target_fa_per_hour']:g} FA/hr (`{t['file']}`: {t['fa_per_hour']:.1f} FA/hr at "
        f"{t['frr']:.1%} FRR on its streams); the host reference uses them and `kws codegen model` "
        f"compiles them into the device detector: {vals}. A device runs others without being rebuilt "
        f"(`--threshold`, `--thresholds` on `kws device`; docs/live.md)"
    )
