"""Training, quantization, budget and release, end to end on a tiny corpus (few steps), plus
the refusals: wrong input shape, unsupported ops, bad calibration sets, an impossible budget."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from kws.data.task import load_task
from kws.errors import KwsError
from kws.train.provenance import NotMadeWith
from test_data_pipeline import model_table, small_task, without_model

pytestmark = pytest.mark.slow  # not in `make check`


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, spec):
    from kws.data.synth import synth

    d = tmp_path_factory.mktemp("train")
    task = small_task(d, renders_per_keyword=8, unknown_renders=40, silence_clips=16)
    synth(task, d / "data", workers=2, progress=False)
    tspec = task.spec(spec)
    tspec = dataclasses.replace(tspec, model=tspec.model.member)  # one of the task's networks: each test trains one
    tspec = dataclasses.replace(
        tspec, train=dataclasses.replace(spec.train, epochs=4, augment_copies=1, calibration_clips=24)
    )
    return tspec, task, d


@pytest.fixture(scope="module")
def trained(tiny):
    from kws.train.fit import train
    from kws.train.quantize import quantize

    spec, task, d = tiny
    metrics = train(spec, task, d / "data", d / "run", progress=False, epochs=3)  # as `kws train --epochs 3`
    q = quantize(spec, task, d / "run", d / "data", name="tiny", progress=False, calibration_dir=d / "cal")
    return spec, task, d, metrics, q


def test_training_writes_model_metrics_and_effective_config(trained):
    spec, task, d, metrics, _ = trained
    assert (d / "run" / "model.keras").exists()
    cfg = json.loads((d / "run" / "config.json").read_text())
    assert cfg["frontend"]["hash"] == spec.frontend.hash and cfg["train"]["epochs"] == 3 != spec.train.epochs
    assert cfg["data"]["manifest_hash"] == json.loads((d / "data" / "manifest.json").read_text())["hash"]
    assert metrics["epochs_run"] <= 3 and 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert set(metrics["test"]["per_class_recall"]) == set(task.labels)
    hist = json.loads((d / "run" / "history.json").read_text())
    assert len(hist["loss"]) == metrics["epochs_run"]
    # early stopping reads the voice-balanced validation accuracy, logged every epoch
    assert len(hist["val_voice_accuracy"]) == metrics["epochs_run"]
    assert 0.0 <= metrics["val"]["voice_balanced_accuracy"] <= 1.0
    # accuracy per context adds up to the whole: every test clip counted once, in its context
    ctx = metrics["test"]["per_context"]
    assert (
        "keyword alone" in ctx and "silence alone" in ctx and sum(c["n"] for c in ctx.values()) == metrics["test"]["n"]
    )
    assert (
        abs(sum(c["n"] * c["accuracy"] for c in ctx.values()) / metrics["test"]["n"] - metrics["test"]["accuracy"])
        < 1e-9
    )


def test_voice_balanced_accuracy_weighs_every_voice_the_same():
    from kws.train.metrics import voice_balanced_accuracy

    # voice a: 90 clips all right; voice b: 10 clips all wrong -> plain 90 %, balanced 50 %
    y = np.zeros(100, int)
    pred = np.r_[np.zeros(90, int), np.ones(10, int)]
    groups = np.array(["a"] * 90 + ["b"] * 10)
    assert np.mean(pred == y) == 0.9
    assert voice_balanced_accuracy(pred, y, groups) == 0.5


def test_int8_model_is_valid_and_matches_the_front_end(trained):
    from kws.reference.tflite_model import TFLiteModel
    from kws.train.quantize import SUPPORTED_OPS

    spec, task, d, _, q = trained
    m = TFLiteModel.from_bytes((d / "run" / "model.tflite").read_bytes())
    tin, tout = m.tensors[m.inputs[0]], m.tensors[m.outputs[0]]
    assert tin.dtype == np.int8 and tin.shape == (1, 49, 13, 1)
    assert float(tin.scale[0]) == spec.model.input_scale and int(tin.zero_point[0]) == 0
    assert tout.dtype == np.int8 and tout.shape == (1, len(task.labels))
    assert {op.name for op in m.operators} <= set(SUPPORTED_OPS)
    assert q["int8_reference"].startswith("TFLM")


def test_tflm_and_tflite_reference_kernels_agree_within_one_lsb(trained):
    """TFLM is the oracle for the firmware; TensorFlow Lite's reference kernels differ from it by
    at most 1 LSB (known FULLY_CONNECTED rounding difference) and give the same top-1 almost always."""
    import tensorflow as tf

    from kws.reference.tflm import tflm_logits
    from kws.train.features import build_features

    spec, task, d, _, _ = trained
    blob = (d / "run" / "model.tflite").read_bytes()
    x = build_features(d / "data", spec, task, augment_copies=1, cache_dir=d / "data" / "features", progress=False)[
        "x_test"
    ]
    a = tflm_logits(blob, x).astype(int)
    it = tf.lite.Interpreter(
        model_content=blob, experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF
    )
    it.allocate_tensors()
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    b = []
    for xi in x:
        it.set_tensor(ind["index"], xi[None, ..., None])
        it.invoke()
        b.append(it.get_tensor(outd["index"])[0].astype(int))
    b = np.stack(b)
    assert np.abs(a - b).max() <= 1
    assert np.mean(a.argmax(1) == b.argmax(1)) >= 0.95


def test_calibration_set_is_tracked_and_checked(trained):
    from kws.train.quantize import QuantizeError, calibration_ids

    spec, task, d, _, q = trained
    path = d / "cal" / "tiny" / "quant_cal_idxs.txt"
    text = path.read_text()
    assert f"# frontend {spec.frontend.hash}" in text
    ids = calibration_ids(spec, task, d / "data", path)
    assert len(ids) == q["calibration"]["clips"] > 0
    assert calibration_ids(spec, task, d / "data", path) == ids  # stable
    other = dataclasses.replace(
        spec, frontend=dataclasses.replace(spec.frontend, log=dataclasses.replace(spec.frontend.log, floor=2))
    )
    with pytest.raises(QuantizeError, match="made for front end"):
        calibration_ids(other, task, d / "data", path)
    empty = d / "cal" / "empty.txt"
    empty.write_text(f"# frontend {spec.frontend.hash}\n")
    with pytest.raises(QuantizeError, match="empty"):
        calibration_ids(spec, task, d / "data", empty)
    stranger = d / "cal" / "stranger.txt"
    stranger.write_text(f"# frontend {spec.frontend.hash}\nnot-a-clip\n")
    with pytest.raises(QuantizeError, match="not in the training split"):
        calibration_ids(spec, task, d / "data", stranger)


def test_wrong_input_shape_and_unsupported_ops_are_refused(tiny):
    import keras

    from kws.train.quantize import QuantizeError, check_tflite, convert

    spec, _, _ = tiny
    inp = keras.Input((40, 10, 1))
    bad = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
    with pytest.raises(QuantizeError, match=r"input shape \(40, 10, 1\) does not match"):
        convert(bad, spec, np.zeros((2, 49, 13), np.int8))
    import tensorflow as tf

    inp = keras.Input((49, 13, 1), batch_size=1)
    y = keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Reshape((49 * 13,))(inp)))
    conv = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, y))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: (
        [np.random.default_rng(0).uniform(-8, 8, (1, 49, 13, 1)).astype(np.float32)] for _ in range(4)
    )
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    with pytest.raises(QuantizeError, match=r"ops \['SOFTMAX'\] are not supported"):
        check_tflite(conv.convert(), spec)


def test_budget_reports_and_refuses_what_does_not_fit(trained):
    from kws.footprint import budget as b

    spec, _, d, _, _ = trained
    blob = (d / "run" / "model.tflite").read_bytes()
    items = b.model_items(blob, spec) + b.frontend_items() + b.placeholder_items()
    rep = b.report(items, spec)
    assert rep["fits"] and rep["total_bytes"] == rep["flash_bytes"] + rep["ram_bytes"]
    assert {i["source"] for i in rep["items"]} == {"measured", "estimated"} and not rep["all_measured"]
    weights = next(i for i in rep["items"] if i["name"].startswith("network weights"))["bytes"]
    from kws.train.model import parameter_count

    assert weights <= parameter_count(spec.model, 13, 12) <= weights + 2000  # int8 weights + int32 biases
    tight = dataclasses.replace(spec, budget=dataclasses.replace(spec.budget, island_bytes=10_000, target_bytes=9_000))
    with pytest.raises(b.BudgetError, match="over the 10,000 B budget"):
        b.check(b.report(items, tight))
    b.plot(rep, d / "budget.png")
    assert (d / "budget.png").stat().st_size > 1000
    assert "total" in b.format_table(rep)


def _release_tiny(trained, monkeypatch, out_dir: str, baseline_minutes: float, run=None):
    """Release the tiny trained model (or the training directory ``run``, quantized) under the tmp
    tree: (spec, task, tmp root, quantize.json, model bytes, release directory)."""
    from kws import release as rel
    from kws.footprint import budget as b

    spec, task, d, _, _ = trained
    run = run or d / "run"
    monkeypatch.setattr(rel, "REPO_ROOT", d)  # calibration path relative to the tmp tree
    q = json.loads((run / "quantize.json").read_text())
    q["calibration"]["path"] = str((d / "cal" / "tiny" / "quant_cal_idxs.txt").relative_to(d))
    (run / "quantize.json").write_text(json.dumps(q))
    blob = (run / "model.tflite").read_bytes()
    rep = b.report(b.model_items(blob, spec) + b.frontend_items() + b.placeholder_items(), spec)
    out = rel.release(
        spec,
        task,
        run,
        d / "data",
        name="tiny",
        budget=rep,
        out_dir=d / out_dir / "tiny",
        baseline_minutes=baseline_minutes,
    )
    return spec, task, d, q, blob, out


def test_release_manifest_validates_and_points_at_real_artifacts(trained, monkeypatch):
    from kws import release as rel

    spec, task, d, q, blob, out = _release_tiny(trained, monkeypatch, "models", 1.5)
    man = json.loads((out / "manifest.json").read_text())
    rel.validate(man, out)
    assert man["frontend"]["hash"] == spec.frontend.hash and man["labels"] == list(task.labels)
    # the [train] that ran (the command line's --epochs / --seed), not the spec's
    assert man["spec"]["train"] == json.loads((d / "run" / "config.json").read_text())["train"]
    assert man["spec"]["train"]["epochs"] == 3 != spec.train.epochs
    assert "Model card: tiny" in (out / "MODEL_CARD.md").read_text()
    from kws.reference.monitor.drift import Baseline

    base = Baseline.load(out / "feature_baseline.json", spec)  # drift baseline from training-split streams
    assert base.stats.frames >= 2 * base.period_frames and (base.alarm >= spec.monitor.psi_alarm).all()
    (out / "model.tflite").write_bytes(blob[:-1] + b"\\0")
    with pytest.raises(KwsError, match="does not match the manifest"):
        rel.validate(man, out)
    broken = dict(man, accuracy={"float_test": 2.0})
    with pytest.raises(KwsError, match="manifest invalid"):
        rel.validate(broken)


def test_releasing_the_same_file_again_keeps_its_thresholds_and_measured_budget(trained, monkeypatch):
    """A second `kws release` of the same model file keeps what was measured on it since (calibrated
    thresholds, the budget from its firmware); another file starts uncalibrated."""
    from kws import release as rel

    spec, task, d, q, blob, out = _release_tiny(trained, monkeypatch, "models_again", 0)
    cal = {
        "values": {k: 0.9 for k in task.keywords},
        "file": "calibration/tiny/thresholds.json",
        "target_fa_per_hour": 1.0,
        "fa_per_hour": 0.5,
        "frr": 0.4,
    }
    measured = dict(json.loads((out / "manifest.json").read_text())["budget"], all_measured=True, image="x.elf")
    rel.update_manifest(out, {"thresholds": cal, "budget": measured})
    rel.release(
        spec,
        task,
        d / "run",
        d / "data",
        name="tiny",
        budget=json.loads((out / "manifest.json").read_text())["budget"] | {"all_measured": False},
        out_dir=out,
        baseline_minutes=0,
    )
    man = json.loads((out / "manifest.json").read_text())
    assert man["thresholds"] == cal and man["budget"]["all_measured"] and man["budget"]["image"] == "x.elf"
    assert "0.5 FA/hr" in (out / "MODEL_CARD.md").read_text()
    # another model file: nothing carried over
    prev = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps(dict(prev, model=dict(prev["model"], sha256="0" * 64))))
    rel.release(
        spec,
        task,
        d / "run",
        d / "data",
        name="tiny",
        budget=prev["budget"] | {"all_measured": False},
        out_dir=out,
        baseline_minutes=0,
    )
    man = json.loads((out / "manifest.json").read_text())
    assert man["thresholds"] is None and not man["budget"]["all_measured"]


def test_a_release_that_fails_half_way_leaves_the_previous_one_whole(trained, monkeypatch):
    """The release is written beside the old one and renamed into place when complete: a failure
    after the model file was written leaves the previous release byte for byte and no staging
    directory; every reader checks the model file against the manifest."""
    from kws import release as rel
    from kws.cli import main
    from kws.released import ReleasedModel

    spec, task, d, q, blob, out = _release_tiny(trained, monkeypatch, "models_atomic", 0)
    before = {f.name: f.read_bytes() for f in out.iterdir()}

    def boom(man):
        raise KwsError("killed while writing the card")

    monkeypatch.setattr(rel, "model_card", boom)
    (d / "run" / "model.tflite").write_bytes(blob[:-4] + b"\x01\x02\x03\x04")  # a new model file
    with pytest.raises(KwsError, match="killed while writing the card"):
        rel.release(
            spec,
            task,
            d / "run",
            d / "data",
            name="tiny",
            budget=json.loads(before["manifest.json"])["budget"],
            out_dir=out,
            baseline_minutes=0,
        )
    (d / "run" / "model.tflite").write_bytes(blob)
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny"]
    assert ReleasedModel.load(out).sha256 == json.loads(before["manifest.json"])["model"]["sha256"]
    (out / "model.tflite").write_bytes(blob[: len(blob) // 2])  # a model copied half-way
    with pytest.raises(KwsError, match=r"model.tflite: its sha256 is .* the manifest's .*copied half-way"):
        ReleasedModel.load(out)
    assert main(["device", "info", "--model", str(out), "--port", "socket://127.0.0.1:9"]) == 2
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(KwsError, match=r"manifest.json: not a readable manifest"):
        ReleasedModel.load(out)


def test_remeasured_accuracy_equals_the_recorded_one_and_adds_new_figures(trained, monkeypatch):
    """`kws release --remeasure-accuracy`: the released file's int8 accuracy comes out as recorded,
    figures the release predates (per context) are added to manifest and card; another model's
    training directory, another data set or a different recorded figure are refused."""
    import shutil

    from kws import release as rel

    spec, task, d, q, blob, out = _release_tiny(trained, monkeypatch, "remeasure", 0)
    old = json.loads((out / "manifest.json").read_text())
    old["accuracy"].pop("per_context_int8")  # as released before per-context figures existed
    old["accuracy"].pop("per_voice_int8")  # and before per-voice ones
    (out / "manifest.json").write_text(json.dumps(old))
    new = rel.remeasure_accuracy(spec, task, out, d / "run", d / "data")
    assert new["accuracy"]["int8_test"] == q["int8_test"]["accuracy"] and new["accuracy"]["per_context_int8"]
    voices = new["accuracy"]["per_voice_int8"]
    assert sum(v["n"] for v in voices.values()) == q["int8_test"]["n"] and len(voices) > 1
    assert new == json.loads((out / "manifest.json").read_text())
    card = (out / "MODEL_CARD.md").read_text()
    assert "how the word is said" in card and "weakest of the" in card
    other = d / "remeasure" / "run_other"
    shutil.copytree(d / "run", other)
    (other / "model.tflite").write_bytes(blob + b"\0")
    with pytest.raises(KwsError, match="not the model released"):
        rel.remeasure_accuracy(spec, task, out, other, d / "data")
    wrong = dict(new, accuracy=dict(new["accuracy"], int8_test=new["accuracy"]["int8_test"] / 2))
    (out / "manifest.json").write_text(json.dumps(wrong))
    with pytest.raises(KwsError, match="not the same test"):
        rel.remeasure_accuracy(spec, task, out, d / "run", d / "data")
    data2 = d / "remeasure" / "data2"  # another version of the data set
    data2.mkdir()
    dm = json.loads((d / "data" / "manifest.json").read_text())
    (data2 / "manifest.json").write_text(json.dumps(dict(dm, hash="0" * 64)))
    with pytest.raises(KwsError, match="was released from"):
        rel.remeasure_accuracy(spec, task, out, d / "run", data2)


def test_picker_chooses_the_best_variant_within_budget(tiny, tmp_path):
    from kws.evaluate.pick import pick

    spec, task, d = tiny
    r = pick(
        spec, task, d / "data", tmp_path, widths=[8], blocks=[1], strides=[1, 2], seeds=[1, 2], epochs=1, progress=False
    )
    assert len(r["variants"]) == 4 and r["chosen"] is not None
    assert {(v["time_stride"], v["seed"]) for v in r["variants"]} == {(1, 1), (1, 2), (2, 1), (2, 2)}
    for v in r["variants"]:  # each variant trained with its own stride and seed
        cfg = json.loads((Path(v["dir"]) / "config.json").read_text())
        assert cfg["model"]["first_stride"][0] == v["time_stride"] and cfg["train"]["seed"] == v["seed"]
    fitting = [v for v in r["variants"] if v["fits"]]
    assert r["chosen"]["val_voice"] == max(v["val_voice"] for v in fitting)
    assert "best voice-balanced validation accuracy" in r["why"] and f"seed {r['chosen']['seed']}" in r["why"]
    assert json.loads((tmp_path / "pick.json").read_text())["chosen"] == r["chosen"]
    tight = dataclasses.replace(spec, budget=dataclasses.replace(spec.budget, island_bytes=5_000, target_bytes=4_000))
    r2 = pick(tight, task, d / "data", tmp_path / "t", widths=[8], blocks=[1], epochs=1, progress=False)
    assert r2["chosen"] is None and r2["why"] == "no variant fits the budget"


def test_a_sweep_trained_on_worker_processes_equals_one_trained_here(tiny, tmp_path):
    """kws pick --workers 2: the networks are trained on a local Dask cluster, one per task; every
    figure of every variant, and the choice, equal the same sweep trained in this process."""
    from kws import engine
    from kws.evaluate.pick import pick

    spec, task, d = tiny
    kw = dict(widths=[8], blocks=[1], strides=[1, 2], seeds=[3], epochs=2, progress=False)
    here = pick(spec, task, d / "data", tmp_path / "here", workers=1, **kw)
    spread = pick(spec, task, d / "data", tmp_path / "spread", workers=2, **kw)
    engine.close()

    def figures(r):
        return [{k: v for k, v in row.items() if k != "dir"} for row in r["variants"]]

    assert figures(spread) == figures(here) and len(here["variants"]) == 2
    assert spread["why"] == here["why"]
    for row in spread["variants"]:  # trained where the engine ran it, into the sweep's own directory
        assert Path(row["dir"]).is_relative_to(tmp_path / "spread") and (Path(row["dir"]) / "model.keras").exists()


def test_picker_sweeps_ensembles_and_can_keep_to_the_target(tiny, tmp_path):
    """Member counts are variants too: an ensemble variant is trained as kws train trains one (member
    k with seed + k, merged), ranked by the merged network's own validation figures, and measured as
    the merged int8 network. With within_target the choice keeps to the island target: a target
    between one network's estimate and two's leaves only the single network."""
    from kws.evaluate.pick import pick

    spec, task, d = tiny
    r = pick(
        spec, task, d / "data", tmp_path, widths=[8], blocks=[1], members=[1, 2], seeds=[3], epochs=1, progress=False
    )
    one, two = sorted(r["variants"], key=lambda v: v["members"])
    assert (one["members"], two["members"]) == (1, 2) and two["island_bytes"] > one["island_bytes"]
    cfg = json.loads((Path(two["dir"]) / "config.json").read_text())
    assert [m["seed"] for m in cfg["members"]] == [3, 4] and cfg["model"]["members"] == 2
    # each network trained once: the single variant is the pair's first member
    assert cfg["members"][0]["dir"] == one["dir"] and len(list((tmp_path / "networks").iterdir())) == 2
    merged = json.loads((Path(two["dir"]) / "metrics.json").read_text())
    assert two["val_voice"] == merged["val"]["voice_balanced_accuracy"]  # the merged network's own
    assert len(merged["members"]) == 2 and merged["test"]["accuracy"] > 0
    target = (one["island_bytes"] + two["island_bytes"]) // 2
    ts = dataclasses.replace(spec, budget=dataclasses.replace(spec.budget, target_bytes=target))
    r2 = pick(
        ts,
        task,
        d / "data",
        tmp_path,
        widths=[8],
        blocks=[1],
        members=[1, 2],
        seeds=[3],
        epochs=1,
        progress=False,
        within_target=True,
    )
    assert r2["chosen"]["members"] == 1 and f"the {target:,} B target" in r2["why"]
    assert [v["meets_target"] for v in sorted(r2["variants"], key=lambda v: v["members"])] == [True, False]


def test_picker_can_choose_by_the_streams_det_curve(tiny, tmp_path):
    """With streams, the picker ranks the variants by FRR within the target FA/hr along each int8
    model's DET curve (the host reference over the streams), not by clip accuracy."""
    from kws.data.streams import make_stream
    from kws.evaluate.pick import frr_within, pick

    assert (
        frr_within(
            [{"fa_per_hour": 9.0, "frr": 0.1}, {"fa_per_hour": 4.0, "frr": 0.5}, {"fa_per_hour": 1.0, "frr": 0.7}], 5.0
        )
        == 0.5
    )
    assert frr_within([{"fa_per_hour": 9.0, "frr": 0.1}], 5.0) == 1.0  # nothing within the target
    spec, task, d = tiny
    for kind in ("positive", "negative"):
        make_stream(d / "data", task, tmp_path / "streams", kind=kind, minutes=0.5, split="val")
    r = pick(
        spec,
        task,
        d / "data",
        tmp_path,
        widths=[8, 16],
        blocks=[1],
        epochs=1,
        progress=False,
        streams=tmp_path / "streams",
        target_fa=60.0,
    )
    for v in r["variants"]:
        det_all = json.loads((Path(v["dir"]) / "streams_eval" / "eval.json").read_text())["det_all"]
        assert v["streams"]["frr_within_target"] == frr_within(det_all, 60.0) and v["streams"]["minutes"] == 1.0
    fitting = [v for v in r["variants"] if v["fits"]]
    assert r["chosen"] == min(fitting, key=lambda v: (v["streams"]["frr_within_target"], v["island_bytes"]))
    assert "fewest missed keywords within 60 FA/hr" in r["why"] and r["criterion"].startswith("FRR within 60")


def test_quantization_aware_training_gives_a_device_exact_int8_model(trained, tmp_path, rng):
    """QAT (tf-keras + tensorflow-model-optimization in a child process) fine-tunes the trained
    model and converts it to a full-int8 model the firmware can run: the front end's exact input
    quantization, supported ops only, and the generated C equal to TFLM on it."""
    import shutil

    from kws.train.quantize import quantize
    from test_codegen_model import build as build_net
    from test_codegen_model import tflm_reference

    spec, task, d, _, ptq = trained
    run = tmp_path / "qat"
    shutil.copytree(d / "run", run)
    q = quantize(spec, task, run, d / "data", name="tiny", progress=False, calibration_dir=d / "cal", qat_epochs=1)
    assert q["method"] == "quantization-aware training" and len(q["qat"]["val_accuracy"]) == 1
    blob = (run / "model.tflite").read_bytes()
    assert blob != (d / "run" / "model.tflite").read_bytes()
    assert set(q["ops"]) <= set(ptq["ops"]) | {"PAD"}  # checked by check_tflite inside, too
    assert 0.0 <= q["int8_test"]["accuracy"] <= 1.0 and q["int8_test"]["n"] == ptq["int8_test"]["n"]
    net = build_net(blob, tmp_path / "gen", source="qat")
    x = rng.integers(-128, 128, (20, 1, 49, 13, 1)).astype(np.int8)
    np.testing.assert_array_equal(net.run(x), tflm_reference(blob, x))


def test_qat_refuses_zero_epochs_and_names_missing_packages(trained, monkeypatch):
    import keras

    from kws.train import qat
    from kws.train.model import custom_objects

    spec, task, d, _, _ = trained
    model = keras.models.load_model(d / "run" / "model.keras", custom_objects=custom_objects())
    with pytest.raises(KwsError, match="at least 1"):
        qat.qat_tflite(model, spec, task, d / "data", d / "qat0", epochs=0)
    monkeypatch.setattr(qat, "PACKAGES", ("tf_keras", "no_such_qat_package"))
    with pytest.raises(KwsError, match="no_such_qat_package.*requirements/qat.txt"):
        qat.qat_tflite(model, spec, task, d / "data", d / "qat0", epochs=1)


def test_a_spec_whose_network_differs_from_the_trained_one_is_refused(trained, tiny):
    """The converter rebuilds the network from the spec's [model]: a time stride (or, in the temporal
    form, a padding along cepstra) that differs keeps every weight's shape, so without these checks
    it converted another network, silently (int8 77 % against float 86 % on the commands task,
    once found that way)."""
    import keras

    from kws.train.model import build
    from kws.train.quantize import QuantizeError, convert, quantize

    spec, task, d, _, _ = trained
    # a change that keeps every weight's shape: the padding along cepstra of a temporal network (its
    # 3x13 kernel then sees 13 columns), the time stride of the spec's form
    st = spec.model.first_stride
    field, value = (
        ("cepstra_padding", "same")
        if spec.model.cepstra_padding == "valid"
        else ("first_stride", (st[0] % 2 + 1, st[1]))
    )
    own = d / "own_network.toml"  # a task that sets its own network ([model] in the task)
    own.write_text(
        without_model(Path(task.source).read_text()) + model_table(dataclasses.replace(spec.model, **{field: value}))
    )
    other = load_task(own).spec(spec)
    assert other.model == dataclasses.replace(spec.model, **{field: value})
    with pytest.raises(
        NotMadeWith, match=rf"trained with another network than this spec's \[model\] \(differs in {field}\).*--task"
    ):
        quantize(other, task, d / "run", d / "data", name="tiny", progress=False, calibration_dir=d / "cal")
    from kws import release as rel

    with pytest.raises(NotMadeWith, match=f"differs in {field}"):
        rel.release(other, task, d / "run", d / "data", name="tiny", budget={}, out_dir=d / "refused")
    assert not (d / "refused").exists()
    from kws.spec import load_spec

    text = (Path(spec.source).read_text()).replace("high_hz = 4000.0", "high_hz = 7600.0")
    assert "7600.0" in text
    (d / "wide.toml").write_text(text)
    wide = dataclasses.replace(load_spec(d / "wide.toml"), model=spec.model, train=spec.train)
    with pytest.raises(NotMadeWith, match="trained on the features of front end .*, this spec computes"):
        quantize(wide, task, d / "run", d / "data", name="tiny", progress=False, calibration_dir=d / "cal_wide")
    # without a training directory: the rebuilt network is checked against the trained one's logits
    keras.utils.set_random_seed(0)
    trained_other = build(other.model, 13, len(task.labels), mask=False)  # initialized weights: a real network
    cal = np.random.default_rng(0).integers(-60, 60, (8, 49, 13)).astype(np.int8)
    with pytest.raises(QuantizeError, match="computes other logits than the trained one"):
        convert(trained_other, spec, cal)
    assert isinstance(convert(trained_other, other, cal), bytes)


def test_an_ensemble_trains_its_members_merges_quantizes_and_releases(tiny, tmp_path, monkeypatch):
    """[model] members = 2: kws train's path trains member k with seed + k, merges them into one
    network, and that network quantizes (int8, TFLM-checked accuracy) and releases with its members
    named; a rerun reuses the trained members."""
    from kws import release as rel
    from kws.footprint import budget as b
    from kws.train.ensemble import train_members
    from kws.train.quantize import quantize

    spec, task, d = tiny
    es = dataclasses.replace(spec, model=dataclasses.replace(spec.model, width=16, members=2))
    cfg = train_members(es, task, d / "data", tmp_path / "ens", epochs=2, progress=False)
    assert [m["seed"] for m in cfg["members"]] == [spec.train.seed, spec.train.seed + 1]
    members = [tmp_path / "ens" / f"member{k}" for k in range(2)]
    assert all(json.loads((m / "config.json").read_text())["model"]["hash"] == es.model.member.hash for m in members)
    stamp = [(m / "model.keras").stat().st_mtime_ns for m in members]
    train_members(es, task, d / "data", tmp_path / "ens", epochs=2, progress=False)
    assert [(m / "model.keras").stat().st_mtime_ns for m in members] == stamp  # not trained again
    q = quantize(es, task, tmp_path / "ens", d / "data", name="ens", progress=False, calibration_dir=tmp_path / "cal")
    assert 0.0 <= q["int8_test"]["accuracy"] <= 1.0 and q["int8_test"]["n"] > 0
    with pytest.raises(KwsError, match="quantization-aware training of an ensemble"):
        quantize(
            es,
            task,
            tmp_path / "ens",
            d / "data",
            name="ens",
            progress=False,
            calibration_dir=tmp_path / "cal",
            qat_epochs=1,
        )
    monkeypatch.setattr(rel, "REPO_ROOT", tmp_path)
    qj = json.loads((tmp_path / "ens" / "quantize.json").read_text())
    qj["calibration"]["path"] = str((tmp_path / "cal" / "ens" / "quant_cal_idxs.txt").relative_to(tmp_path))
    (tmp_path / "ens" / "quantize.json").write_text(json.dumps(qj))
    blob = (tmp_path / "ens" / "model.tflite").read_bytes()
    rep = b.report(b.model_items(blob, es) + b.frontend_items() + b.placeholder_items(), es)
    out = rel.release(
        es, task, tmp_path / "ens", d / "data", name="ens", budget=rep, out_dir=tmp_path / "rel", baseline_minutes=0
    )
    man = json.loads((out / "manifest.json").read_text())
    assert [m["seed"] for m in man["spec"]["members"]] == [spec.train.seed, spec.train.seed + 1]
    assert man["spec"]["model"]["members"] == 2 and man["model"]["parameters"] > 0
    assert "an ensemble of 2 networks" in (out / "MODEL_CARD.md").read_text()
    # the single-network training directory is refused as this ensemble (another [model])
    with pytest.raises(KwsError, match="another network than this spec.s \\[model\\]"):
        quantize(es, task, members[0], d / "data", name="ens", progress=False, calibration_dir=tmp_path / "cal")


def test_distillation_loss_is_kl_at_temperature_plus_label_cross_entropy():
    """The loss over packed targets: zero teacher term when the student equals the teacher, the
    labels' cross-entropy alone at alpha 0, Hinton's T²-scaled KL at alpha 1 (against numpy)."""
    from kws.train.distill import Distill, loss_fn, pack

    rng = np.random.default_rng(3)
    teacher, student = rng.normal(0, 3, (8, 5)).astype(np.float32), rng.normal(0, 3, (8, 5)).astype(np.float32)
    y = rng.integers(0, 5, 8)

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    ce = -log_softmax(student)[np.arange(8), y]
    t = 3.0
    p = np.exp(log_softmax(teacher / t))
    kl = (p * (log_softmax(teacher / t) - log_softmax(student / t))).sum(axis=1) * t * t
    got = np.asarray(loss_fn(Distill(temperature=t, alpha=0.25))(pack(y, teacher), student))
    np.testing.assert_allclose(got, 0.25 * kl + 0.75 * ce, rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(loss_fn(Distill(temperature=t, alpha=1.0))(pack(y, teacher), teacher)), 0, atol=1e-5
    )
    with pytest.raises(KwsError, match="alpha"):
        Distill(alpha=1.5)
    with pytest.raises(KwsError, match="temperature"):
        Distill(temperature=0)


def test_a_distilled_network_follows_its_teacher_and_records_it(trained, tmp_path):
    """kws train --teacher: with alpha 1 the student learns the teacher's posteriors, not the labels —
    a teacher made to favour one class makes a student that says that class where the same seed
    trained on labels does not; config.json names the teacher by its file's hash; a teacher trained
    on another data set is refused before any work."""
    import hashlib
    import shutil

    import keras

    from kws.train.distill import Distill, taught_as
    from kws.train.features import build_features
    from kws.train.fit import train
    from kws.train.model import custom_objects

    spec, task, d, _, _ = trained
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    shutil.copy(d / "run" / "config.json", teacher / "config.json")
    net = keras.models.load_model(d / "run" / "model.keras", custom_objects=custom_objects(), compile=False)
    w, b = net.get_layer("logits").get_weights()
    favoured = task.labels.index("_unknown_") + 1  # a keyword: not the majority class
    b[:] = 0.0
    b[favoured] = 8.0
    net.get_layer("logits").set_weights([w * 0.1, b])
    net.save(teacher / "model.keras")

    seed = spec.train.seed + 7
    train(
        spec,
        task,
        d / "data",
        tmp_path / "kd",
        progress=False,
        epochs=3,
        seed=seed,
        teacher=teacher,
        distill=Distill(temperature=1.0, alpha=1.0),
    )
    train(spec, task, d / "data", tmp_path / "plain", progress=False, epochs=3, seed=seed)
    cfg = json.loads((tmp_path / "kd" / "config.json").read_text())
    assert cfg["teacher"]["sha256"] == hashlib.sha256((teacher / "model.keras").read_bytes()).hexdigest()
    assert cfg["teacher"]["alpha"] == 1.0 and cfg["teacher"]["temperature"] == 1.0 and cfg["train"]["seed"] == seed
    assert "teacher" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    # what lets a rerun of a members > 1 task reuse a member: the same teacher file and settings
    assert taught_as(cfg["teacher"], teacher, Distill(temperature=1.0, alpha=1.0))
    assert not taught_as(cfg["teacher"], teacher, Distill(temperature=2.0, alpha=1.0))
    assert not taught_as(cfg["teacher"], d / "run", Distill(temperature=1.0, alpha=1.0))  # another file
    assert (
        not taught_as(None, teacher, None) and not taught_as(cfg["teacher"], None, None) and taught_as(None, None, None)
    )

    feats = build_features(
        d / "data",
        spec,
        task,
        augment_copies=spec.train.augment_copies,
        cache_dir=d / "data" / "features",
        progress=False,
    )
    x = feats["x_train"].astype(np.float32)[..., None] * spec.model.input_scale

    def share_favoured(run):
        m = keras.models.load_model(tmp_path / run / "model.keras", custom_objects=custom_objects(), compile=False)
        return float(np.mean(m.predict(x, verbose=0).argmax(axis=1) == favoured))

    assert share_favoured("kd") > 0.9 and share_favoured("plain") < 0.5

    # released, the student names its teacher in the manifest and the model card
    from kws import release as rel
    from kws.footprint import budget as b
    from kws.train.quantize import quantize

    quantize(spec, task, tmp_path / "kd", d / "data", name="kd", progress=False, calibration_dir=tmp_path / "cal")
    qj = json.loads((tmp_path / "kd" / "quantize.json").read_text())
    qj["calibration"]["path"] = str((tmp_path / "cal" / "kd" / "quant_cal_idxs.txt").relative_to(tmp_path))
    (tmp_path / "kd" / "quantize.json").write_text(json.dumps(qj))
    blob = (tmp_path / "kd" / "model.tflite").read_bytes()
    rep = b.report(b.model_items(blob, spec) + b.frontend_items() + b.placeholder_items(), spec)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rel, "REPO_ROOT", tmp_path)
        out = rel.release(
            spec, task, tmp_path / "kd", d / "data", name="kd", budget=rep, out_dir=tmp_path / "rel", baseline_minutes=0
        )
        man = json.loads((out / "manifest.json").read_text())
        rel.validate(man, out)
    assert man["spec"]["teacher"] == cfg["teacher"]
    assert (
        f"distilled from a teacher (kws train --teacher: width {spec.model.width}, `{cfg['teacher']['sha256'][:12]}"
        in (out / "MODEL_CARD.md").read_text().replace("\n", " ")
    )

    other = tmp_path / "other_teacher"
    shutil.copytree(teacher, other)
    c = json.loads((other / "config.json").read_text())
    c["data"]["manifest_hash"] = "0" * 64
    (other / "config.json").write_text(json.dumps(c))
    with pytest.raises(KwsError, match="trained on data set 000000000000.*a teacher must learn"):
        train(spec, task, d / "data", tmp_path / "refused", progress=False, epochs=1, teacher=other)
    assert not (tmp_path / "refused").exists()


def test_distillation_settings_without_a_teacher_are_refused(tiny, tmp_path, capsys):
    from kws.cli import main

    spec, task, d = tiny
    assert main(["train", "--data", str(d / "data"), "--out", str(tmp_path / "x"), "--distill-alpha", "0.5"]) == 2
    assert "--distill-temperature and --distill-alpha need --teacher" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_picker_sweeps_the_blocks_kernel_along_time(tiny, tmp_path, capsys, monkeypatch):
    """Block kernels are variants too (`kws pick --block-kernels 9,5`): each variant's depthwise
    kernels take that time extent and keep the task's cepstral extent (the temporal form's 9x1 and
    5x1); pick.json, the reason and the command's table name the kernel."""
    import kws.evaluate.pick as pk
    from kws.cli import main

    spec, task, d = tiny
    r = pk.pick(
        spec, task, d / "data", tmp_path, widths=[8], blocks=[1], block_kernels=[9, 5], epochs=1, progress=False
    )
    kw = spec.model.block_kernel[1]
    assert [v["block_kernel"] for v in r["variants"]] == [[9, kw], [5, kw]]
    for v in r["variants"]:
        cfg = json.loads((Path(v["dir"]) / "config.json").read_text())
        assert cfg["model"]["block_kernel"] == v["block_kernel"] and f"_k{v['block_kernel'][0]}_" in v["dir"]
    assert r["variants"][0]["parameters"] > r["variants"][1]["parameters"]  # 9-tap against 5-tap depthwise
    assert f"block kernel {r['chosen']['block_kernel'][0]}x{kw}" in r["why"]
    # a kernel the window cannot hold (4 blocks of 15 rows) is refused before anything trains
    from kws.errors import SpecError

    with pytest.raises(SpecError, match=r"kws pick variant: .*block kernel 15.*leaves no rows"):
        pk.pick(
            spec,
            task,
            d / "data",
            tmp_path / "long",
            widths=[8],
            blocks=[4],
            block_kernels=[9, 15],
            epochs=1,
            progress=False,
        )
    assert not (tmp_path / "long").exists()
    # the command passes the kernels on and prints them (its training is the call above)
    import kws.train.fit

    seen = {}
    monkeypatch.setattr(pk, "pick", lambda *a, **k: seen.update(k) or r)
    monkeypatch.setattr(kws.train.fit, "set_threads", lambda: None)  # TensorFlow already runs in this process
    assert (
        main(
            [
                "pick",
                "--data",
                str(d / "data"),
                "--out",
                str(tmp_path),
                "--widths",
                "8",
                "--blocks",
                "1",
                "--block-kernels",
                "9,5",
            ]
        )
        == 0
    )
    assert seen["block_kernels"] == [9, 5] and f"9x{kw}" in capsys.readouterr().out


def test_mixup_trains_records_itself_and_refuses_a_teacher(trained, tmp_path):
    """[train] mixup: the network trains on blended batches (its history and metrics as without),
    config.json records the setting (and a changed training hash); with a teacher it is refused
    before any work."""
    from kws.train.fit import train

    spec, task, d, _, _ = trained
    mixed = dataclasses.replace(spec, train=dataclasses.replace(spec.train, mixup=0.4))
    m = train(mixed, task, d / "data", tmp_path / "mix", progress=False, epochs=2)
    cfg = json.loads((tmp_path / "mix" / "config.json").read_text())
    assert cfg["train"]["mixup"] == 0.4 and cfg["train"]["hash"] != spec.train.hash
    hist = json.loads((tmp_path / "mix" / "history.json").read_text())
    assert len(hist["accuracy"]) == m["epochs_run"] == len(hist["val_voice_accuracy"])
    assert 0.0 <= m["test"]["accuracy"] <= 1.0 and (tmp_path / "mix" / "model.keras").exists()
    with pytest.raises(KwsError, match="mixup and a teacher"):
        train(mixed, task, d / "data", tmp_path / "no", progress=False, epochs=1, teacher=d / "run")
    assert not (tmp_path / "no").exists()


def test_a_network_can_start_from_another_trained_one(trained, tmp_path, monkeypatch):
    """kws train --init DIR: the network starts from DIR's weights (pre-trained elsewhere, e.g. on
    the TTS corpus) — at a learning rate too small to move them it ends where DIR ended, where the
    same seed from random weights does not — config.json, the release manifest and the model card
    name the start and the data set it was trained on, and a start made with another network is
    refused before any work."""
    import shutil

    import keras

    from kws.train.fit import train
    from kws.train.model import custom_objects

    spec, task, d, _, _ = trained
    still = dataclasses.replace(spec, train=dataclasses.replace(spec.train, learning_rate=1e-6))

    def logits_kernel(run):
        net = keras.models.load_model(run / "model.keras", custom_objects=custom_objects(), compile=False)
        return net.get_layer("logits").get_weights()[0]

    train(still, task, d / "data", tmp_path / "ft", progress=False, epochs=1, init=d / "run")
    np.testing.assert_allclose(logits_kernel(tmp_path / "ft"), logits_kernel(d / "run"), atol=1e-3)
    train(still, task, d / "data", tmp_path / "scratch", progress=False, epochs=1)
    assert not np.allclose(logits_kernel(tmp_path / "scratch"), logits_kernel(d / "run"), atol=1e-3)
    cfg = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert (
        cfg["init"]["dir"] == str(d / "run")
        and len(cfg["init"]["sha256"]) == 64
        and "init" not in json.loads((tmp_path / "scratch" / "config.json").read_text())
    )
    start = json.loads((d / "run" / "config.json").read_text())
    assert cfg["init"]["data"] == start["data"] and cfg["init"]["train"] == start["train"]
    from kws.train.quantize import quantize

    quantize(still, task, tmp_path / "ft", d / "data", name="tiny", progress=False, calibration_dir=d / "cal")
    *_, out = _release_tiny((still, task, d, None, None), monkeypatch, "released_ft", 1.5, run=tmp_path / "ft")
    man = json.loads((out / "manifest.json").read_text())
    assert man["spec"]["init"] == cfg["init"]
    card = (out / "MODEL_CARD.md").read_text()
    assert (
        f"starting from the weights of a network trained on another data set (kws train --init: "
        f"`{cfg['init']['sha256'][:12]}…`, data set {start['data']['manifest_hash'][:12]}…)" in card
    )
    other = tmp_path / "other"
    shutil.copytree(d / "run", other)
    c = json.loads((other / "config.json").read_text())
    c["model"] = {**c["model"], "hash": "0" * 64, "width": c["model"]["width"] + 8}
    (other / "config.json").write_text(json.dumps(c))
    with pytest.raises(NotMadeWith, match=r"another network than this spec's \[model\] \(differs in width\)"):
        train(still, task, d / "data", tmp_path / "no", progress=False, epochs=1, init=other)
    assert not (tmp_path / "no").exists()


def test_a_float_only_run_trains_a_start_and_leaves_calibration_alone(tiny, tmp_path, monkeypatch, capsys):
    """kws train --float-only: a pre-training stage (a start for --init, or a teacher) writes the
    float network and its metrics but no int8 model, and neither reads nor writes the task's
    calibration set, which belongs to the data set the released network is trained on."""
    import kws.train.fit
    import kws.train.quantize
    from kws.cli import main

    spec, task, d = tiny
    monkeypatch.setattr(kws.train.fit, "set_threads", lambda: None)  # TensorFlow already runs in this process
    monkeypatch.setattr(kws.train.quantize, "CALIBRATION_DIR", tmp_path / "calibration")
    out = tmp_path / "start"
    assert (
        main(
            [
                "train",
                "--task",
                str(d / "commands_small.toml"),
                "--data",
                str(d / "data"),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--float-only",
            ]
        )
        == 0
    )
    assert (out / "model.keras").exists() and (out / "metrics.json").exists()
    assert not (out / "model.tflite").exists() and not (tmp_path / "calibration").exists()
    assert f"--init {out}" in capsys.readouterr().out


def test_an_ensemble_starts_each_member_from_the_same_member_of_another(trained, tmp_path):
    """kws train --init on an ensemble ([model] members = 2): member k starts from the init's
    member<k>/ (at a learning rate too small to move it, it ends there), records that start, is
    reused on a rerun with the same start, and an init without the members is refused before any
    work."""
    import shutil

    import keras

    from kws.errors import KwsError
    from kws.train.ensemble import train_members
    from kws.train.fit import train
    from kws.train.model import custom_objects

    spec, task, d, _, _ = trained
    still = dataclasses.replace(
        spec,
        train=dataclasses.replace(spec.train, learning_rate=1e-6),
        model=dataclasses.replace(spec.model, members=2),
    )
    start = tmp_path / "start"
    shutil.copytree(d / "run", start / "member0")
    train(
        spec, task, d / "data", start / "member1", progress=False, epochs=1, seed=spec.train.seed + 7
    )  # another start

    def logits_kernel(run):
        net = keras.models.load_model(run / "model.keras", custom_objects=custom_objects(), compile=False)
        return net.get_layer("logits").get_weights()[0]

    cfg = train_members(still, task, d / "data", tmp_path / "ens", epochs=1, progress=False, init=start)
    for k in (0, 1):
        run = tmp_path / "ens" / f"member{k}"
        np.testing.assert_allclose(logits_kernel(run), logits_kernel(start / f"member{k}"), atol=1e-3)
        assert json.loads((run / "config.json").read_text())["init"]["dir"] == str(start / f"member{k}")
    assert not np.allclose(logits_kernel(start / "member0"), logits_kernel(start / "member1"), atol=1e-3)
    assert len(cfg["members"]) == 2 and "init" not in cfg  # the merged network: each member's own start
    from kws.train.distill import model_sha256

    assert [m["init"]["sha256"] for m in cfg["members"]] == [model_sha256(start / f"member{k}") for k in (0, 1)]
    before = (tmp_path / "ens" / "member0" / "model.keras").stat().st_mtime_ns
    train_members(still, task, d / "data", tmp_path / "ens", epochs=1, progress=False, init=start)
    assert (tmp_path / "ens" / "member0" / "model.keras").stat().st_mtime_ns == before  # reused
    shutil.rmtree(start / "member1")
    with pytest.raises(KwsError, match=r"no trained .*member1: --init for an ensemble of 2 networks"):
        train_members(still, task, d / "data", tmp_path / "no", epochs=1, progress=False, init=start)
    assert not (tmp_path / "no").exists()
