"""Ensembles ([model] members, kws.train.ensemble): networks trained apart, merged into one DS-CNN
whose logits are the mean of theirs; its 1x1 convolutions are block-diagonal, and the C
generator stores and computes only the blocks — bit-exact with TFLM's dense computation on the
host (portable kernels, streaming) and on the emulated Cortex-M4F (SIMD kernels)."""

import dataclasses
import json

import numpy as np
import pytest

from kws.codegen import model as cgm
from kws.data.task import load_task
from kws.errors import KwsError
from kws.reference.native import NativeNet
from test_codegen_model import tflm_reference


@pytest.fixture(scope="module")
def task():
    return load_task("wakeword")


def _member(tmp_path, spec, task, ms, seed: int, data_hash: str = "d" * 64):
    """A training directory as kws train leaves it: a float network with batch-norm statistics
    that make every channel carry signal, and its effective config."""
    import keras

    from kws.train.model import build

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = build(ms, spec.frontend.num_cepstra, len(task.labels))
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            g, b, mean, var = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 2, g.shape),
                    rng.normal(0, 0.5, b.shape),
                    rng.normal(0, 0.5, mean.shape),
                    rng.uniform(0.5, 2, var.shape),
                ]
            )
    d = tmp_path / f"m{seed}"
    d.mkdir()
    model.save(d / "model.keras")
    cfg = {
        "frontend": {"hash": spec.frontend.hash},
        "model": {"hash": ms.hash, **dataclasses.asdict(ms)},
        "train": {"seed": seed, "epochs": 1},
        "task": {"name": task.name, "labels": list(task.labels)},
        "data": {"manifest_hash": data_hash},
    }
    (d / "config.json").write_text(json.dumps(cfg))
    return d


def _walk(rng, n):
    """Features that wander over time (a random walk plus noise), as speech does."""
    return np.clip(np.cumsum(rng.normal(0, 12, (n, 13)), 0) + rng.normal(0, 20, (n, 13)), -128, 127).astype(np.int8)


@pytest.fixture(scope="module")
def merged(tmp_path_factory, spec, task, two_d_model):
    """Three members of width 16 (time stride 1, two blocks), merged and quantized."""
    import keras

    from kws.train.ensemble import merge
    from kws.train.model import custom_objects
    from kws.train.quantize import convert

    tmp = tmp_path_factory.mktemp("ens")
    ms = dataclasses.replace(two_d_model, width=16, blocks=2, first_stride=(1, 2))
    es = dataclasses.replace(spec, model=dataclasses.replace(ms, members=3))
    members = [_member(tmp, spec, task, ms, seed) for seed in (5, 6, 7)]
    cfg = merge(es, task, members, tmp / "merged")
    model = keras.models.load_model(tmp / "merged" / "model.keras", custom_objects=custom_objects(), compile=False)
    rng = np.random.default_rng(3)
    blob = convert(model, es, np.stack([_walk(rng, 49) for _ in range(64)]))
    return {"tmp": tmp, "spec": es, "members": members, "cfg": cfg, "blob": blob}


def test_merged_network_is_the_members_mean(merged, task):
    import keras

    from kws.train.model import custom_objects

    d, es = merged["tmp"] / "merged", merged["spec"]
    cfg = json.loads((d / "config.json").read_text())
    assert [m["seed"] for m in cfg["members"]] == [5, 6, 7]
    assert cfg["model"]["members"] == 3 and cfg["model"]["hash"] == es.model.hash != es.model.member.hash
    x = np.random.default_rng(1).integers(-128, 128, (16, 49, 13, 1)).astype(np.float32) / 16
    load = lambda p: keras.models.load_model(p / "model.keras", custom_objects=custom_objects(), compile=False)
    want = np.mean([load(m).predict(x, verbose=0) for m in merged["members"]], axis=0)
    got = load(d).predict(x, verbose=0)
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert np.abs(want).max() > 0.1  # logits that carry signal
    assert got.shape == (16, len(task.labels))


def test_generated_c_keeps_only_the_blocks_and_equals_tflm(merged, tmp_path):
    """The 1x1 convolutions are found block-diagonal (3 groups), stored as their blocks (a third of
    the dense weights), and the streamed logits equal TFLM's dense ones at every window."""
    from kws.footprint.budget import model_items
    from kws.reference.tflite_model import TFLiteModel

    blob = merged["blob"]
    layers = cgm.lower(TFLiteModel.from_bytes(blob))[0]
    pw = [ly for ly in layers if ly.kind == "pwconv"]
    assert len(pw) == 2 and all(ly.params["groups"] == 3 for ly in pw)
    assert all(ly.weights.size == 48 * 16 for ly in pw)  # 3 blocks of 16 x 16, not 48 x 48
    assert [ly.params.get("groups", 1) for ly in layers if ly.kind != "pwconv"] == [1] * (len(layers) - 2)
    est = {i.name: i.bytes for i in model_items(blob, merged["spec"])}
    assert est["network weights (int8)"] == sum(ly.weights.size for ly in layers if ly.weights is not None)
    cgm.generate(blob, tmp_path, frontend_hash32=1)
    assert "48, 1, 1, 1, 1, 0, 0" in (tmp_path / "kws_net.c").read_text()  # 1x1 params ... groups last
    net = NativeNet(tmp_path)
    assert net.streaming
    rng = np.random.default_rng(9)
    frames = _walk(rng, 49 + 4 * 30)
    got = net.stream(frames, 4)
    windows = np.stack([frames[t - 48 : t + 1] for t in range(48, frames.shape[0], 4)])
    assert got.shape == (31, 3) and np.unique(got).size > 10
    np.testing.assert_array_equal(got, tflm_reference(blob, windows[:, None, :, :, None]))
    np.testing.assert_array_equal(got, net.run(windows))


def test_dense_1x1_weights_are_not_grouped():
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, (32, 32)).astype(np.int8)
    assert cgm.pw_groups(w) == 1
    blocks = np.kron(np.eye(2, dtype=np.int8), np.ones((16, 16), np.int8)) * w
    assert cgm.pw_groups(blocks) == 2
    blocks[0, 31] = 1  # one weight outside the blocks
    assert cgm.pw_groups(blocks) == 1


def test_merged_ensemble_in_qemu(merged, tmp_path):
    """The SIMD kernels on the emulated Cortex-M4F, grouped 1x1 convolutions included."""
    from kws.device.qemu import net_bench

    blob = merged["blob"]
    x = _walk(np.random.default_rng(4), 49).reshape(1, 1, 49, 13, 1)
    r = net_bench(blob, x, tflm_reference(blob, x)[0], tmp_path, name="test_ensemble")
    assert r["equal"]


def test_merge_refuses_members_of_another_network_front_end_or_data(merged, spec, task, tmp_path):
    from kws.train.ensemble import merge

    es = merged["spec"]
    a, b = merged["members"][:2]
    two = dataclasses.replace(es, model=dataclasses.replace(es.model, members=2))
    with pytest.raises(KwsError, match="members is 3, 2 members given"):
        merge(es, task, [a, b], tmp_path / "x")
    wide = _member(tmp_path, spec, task, dataclasses.replace(es.model.member, width=20), 11)
    with pytest.raises(KwsError, match="another network than the ensemble's members \\(differs in width\\)"):
        merge(two, task, [a, wide], tmp_path / "x")
    other = _member(tmp_path, spec, task, es.model.member, 12, data_hash="e" * 64)
    with pytest.raises(KwsError, match="different data sets"):
        merge(two, task, [a, other], tmp_path / "x")
    cfg = json.loads((b / "config.json").read_text())
    bad = tmp_path / "fe"
    bad.mkdir()
    (bad / "model.keras").write_bytes((b / "model.keras").read_bytes())
    (bad / "config.json").write_text(json.dumps({**cfg, "frontend": {"hash": "0" * 64}}))
    with pytest.raises(KwsError, match="trained on the features of front end 000000000000"):
        merge(two, task, [a, bad], tmp_path / "x")
    with pytest.raises(KwsError, match="not a training directory"):
        merge(two, task, [a, tmp_path], tmp_path / "x")
    elsewhere = tmp_path / "data"  # the merged network's figures need their data
    elsewhere.mkdir()
    (elsewhere / "manifest.json").write_text(json.dumps({"hash": "f" * 64, "entries": []}))
    with pytest.raises(KwsError, match="not the data set the members were trained on \\(theirs: manifest dddddddddddd"):
        merge(two, task, [a, b], tmp_path / "x", data_dir=elsewhere)
    assert not (tmp_path / "x").exists()  # nothing written on refusal
