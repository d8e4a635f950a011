"""`kws adapt`: a released model fine-tuned to one speaker's takes (recordings layout, ingested),
quantized with the base model's tracked calibration set, measured and released with its lineage;
and the refusals: no float network, another base data set, the base data itself, another task."""

import dataclasses
import json
import shutil

import numpy as np
import pytest

from kws.errors import KwsError
from test_train import _release_tiny, tiny, trained  # noqa: F401  (module fixtures reused)

pytestmark = pytest.mark.slow  # not in `make check`


def _user_takes(trained, root):
    """The test split's speech clips of the tiny corpus (voices never trained on) as one speaker's takes, laid
    out as `kws record` writes them, ingested."""
    from kws.data import sources
    from kws.data.ingest import ingest

    spec, task, d, _, _ = trained
    man = json.loads((d / "data" / "manifest.json").read_text())
    test = [e for e in man["entries"] if e["split"] == "test" and task.is_speech(e["label"])]
    takes = test
    for j, e in enumerate(takes):
        (root / "takes" / e["label"]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(d / "data" / e["path"], root / "takes" / e["label"] / f"me_{j}.wav")
    ingest(sources.recordings(root / "takes", task), task, root / "user", progress=False)
    return root / "user", takes


def _loss(model, x, y, scale):
    import keras

    logits = model.predict(x.astype(np.float32)[..., None] * scale, verbose=0)
    return float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits))


def test_adapting_learns_the_speakers_takes_and_releases_with_its_lineage(trained, tmp_path, monkeypatch):
    import keras

    from kws import release as rel
    from kws.footprint import budget as b
    from kws.train.adapt import adapt
    from kws.train.features import clip_features, read_clip
    from kws.train.model import custom_objects
    from kws.train.quantize import check_tflite

    spec, task, d, q, blob, base = _release_tiny(trained, monkeypatch, "models", 0)
    man = json.loads((base / "manifest.json").read_text())
    assert man["float_model"]["sha256"] == rel._sha(base / "model.keras")  # the release carries its float network
    user, takes = _user_takes(trained, tmp_path)
    r = adapt(
        spec,
        task,
        base,
        user,
        d / "data",
        tmp_path / "adapted",
        epochs=3,
        copies=2,
        rehearsal=64,
        learning_rate=3e-3,
        holdout=0.5,
        calibration_dir=d / "cal",
        progress=False,
    )

    out = tmp_path / "adapted"
    check_tflite((out / "model.tflite").read_bytes(), spec)  # a device-exact int8 model
    cfg = json.loads((out / "config.json").read_text())
    a = cfg["adapt"]
    user_man = json.loads((user / "manifest.json").read_text())
    assert a["base_model"]["sha256"] == man["model"]["sha256"] and a["user_data"]["manifest_hash"] == user_man["hash"]
    assert a["user_data"]["takes"] == len(takes) == r["trained_on"] + r["held_back"] and r["held_back"] >= 1
    assert set(a["user_data"]["held_back"]) <= {e["id"] for e in user_man["entries"]}
    # quantized with the base model's tracked calibration set, measured on the base test split
    qj = json.loads((out / "quantize.json").read_text())
    assert (
        qj["calibration"]["path"].endswith("tiny/quant_cal_idxs.txt")
        and r["after"]["base_test_int8"] == qj["int8_test"]["accuracy"]
        and r["before"]["base_test_int8"] == man["accuracy"]["int8_test"]
    )

    # it learned the speaker: the takes it trained on cost less under the adapted network than under the base one
    trained_ents = [e for e in user_man["entries"] if e["id"] not in set(a["user_data"]["held_back"])]
    x = clip_features(
        np.stack([read_clip(user / e["path"], 16000) for e in trained_ents]), spec.frontend, spec.model.window_frames
    )
    y = np.array([task.labels.index(e["label"]) for e in trained_ents])
    old = keras.models.load_model(base / "model.keras", custom_objects=custom_objects(), compile=False)
    new = keras.models.load_model(out / "model.keras", custom_objects=custom_objects(), compile=False)
    assert _loss(new, x, y, spec.model.input_scale) < _loss(old, x, y, spec.model.input_scale)
    # batch norm was frozen: its statistics are the base network's
    bn = [(lo, ln) for lo, ln in zip(old.layers, new.layers) if type(lo).__name__ == "BatchNormalization"]
    assert bn and all(np.array_equal(lo.moving_mean, ln.moving_mean) for lo, ln in bn)

    rep = b.report(
        b.model_items((out / "model.tflite").read_bytes(), spec) + b.frontend_items() + b.placeholder_items(), spec
    )
    mine = rel.release(
        spec, task, out, d / "data", name="tiny_me", budget=rep, out_dir=d / "models" / "tiny_me", baseline_minutes=0
    )
    m2 = json.loads((mine / "manifest.json").read_text())
    rel.validate(m2, mine)
    assert m2["adaptation"]["base_model"]["name"] == "tiny" and m2["adaptation"]["held_back"] == r["held_back"]
    assert m2["adaptation"]["after"] == r["after"] and "Adapted to a speaker" in (mine / "MODEL_CARD.md").read_text()


def test_adapting_to_false_accepts_alone_teaches_them_unknown(trained, tmp_path, monkeypatch):
    """Mined false accepts (kws data mine) are a data set of the unknown label only: no keyword
    takes. The adapted network takes them for unknown more surely than the base one did."""
    import keras

    from kws.data import sources
    from kws.data.ingest import ingest
    from kws.train.adapt import adapt
    from kws.train.features import clip_features, read_clip
    from kws.train.model import custom_objects

    spec, task, d, q, blob, base = _release_tiny(trained, monkeypatch, "models_mined", 0)
    man = json.loads((d / "data" / "manifest.json").read_text())
    # stand-ins for mined windows: the test split's keyword clips, cut 0.4 s early (the word's start
    # ends the window, as when a streaming network fires on the wrong word), as the unknown label
    ents = [e for e in man["entries"] if e["split"] == "test" and task.is_keyword(e["label"])]
    (tmp_path / "mined" / task.unknown_label).mkdir(parents=True)
    from kws.audio import write_wav

    for j, e in enumerate(ents):
        pcm = read_clip(d / "data" / e["path"], 16000)
        cut = np.concatenate([np.zeros(6400, np.int16), pcm[:-6400]])
        write_wav(tmp_path / "mined" / task.unknown_label / f"room_{j}.wav", cut, 16000)
    ingest(sources.recordings(tmp_path / "mined", task), task, tmp_path / "mined_ds", progress=False)
    r = adapt(
        spec,
        task,
        base,
        tmp_path / "mined_ds",
        d / "data",
        tmp_path / "adapted",
        epochs=3,
        copies=1,
        rehearsal=64,
        learning_rate=3e-3,
        holdout=0.25,
        calibration_dir=d / "cal",
        progress=False,
    )
    n = len(ents)
    assert n >= 8 and r["user_takes"] == n and r["held_back"] == n // 4 and r["trained_on"] == n - n // 4
    user_man = json.loads((tmp_path / "mined_ds" / "manifest.json").read_text())
    x = clip_features(
        np.stack([read_clip(tmp_path / "mined_ds" / e["path"], 16000) for e in user_man["entries"]]),
        spec.frontend,
        spec.model.window_frames,
    )
    y = np.full(len(x), task.labels.index(task.unknown_label))
    old = keras.models.load_model(base / "model.keras", custom_objects=custom_objects(), compile=False)
    new = keras.models.load_model(tmp_path / "adapted" / "model.keras", custom_objects=custom_objects(), compile=False)
    assert _loss(new, x, y, spec.model.input_scale) < _loss(old, x, y, spec.model.input_scale)


def test_adapt_refuses_what_it_cannot_adapt(trained, tmp_path, monkeypatch):
    from kws.data.task import load_task
    from kws.train.adapt import adapt

    spec, task, d, q, blob, base = _release_tiny(trained, monkeypatch, "models_refused", 0)
    user, _ = _user_takes(trained, tmp_path)

    def run(model=base, user=user, data=d / "data", task=task):
        adapt(
            spec,
            task,
            model,
            user,
            data,
            tmp_path / "out",
            epochs=1,
            copies=1,
            rehearsal=8,
            calibration_dir=d / "cal",
            progress=False,
        )

    with pytest.raises(KwsError, match="the base data set"):
        run(user=d / "data")
    with pytest.raises(KwsError, match="give the data set it was released from"):
        run(data=user)
    with pytest.raises(KwsError, match="not of 'wakeword'"):
        run(task=load_task("wakeword"))
    from kws.release import attach_float_model

    with pytest.raises(KwsError, match="not the model released"):
        attach_float_model(base, user)  # not the directory it was released from
    man = json.loads((base / "manifest.json").read_text())
    (base / "manifest.json").write_text(json.dumps({k: v for k, v in man.items() if k != "float_model"}))
    with pytest.raises(KwsError, match="no float network.*--attach-float"):
        run()
    assert not (tmp_path / "out" / "model.keras").exists()


def test_held_back_takes_are_a_share_of_every_label_and_stable():
    from kws.train.adapt import held_back

    ents = [{"id": f"{lab}{i}", "label": lab} for lab in ("yes", "no") for i in range(10)] + [
        {"id": "x", "label": "go"}
    ]
    back = held_back(ents, 0.2)
    assert sum(i.startswith("yes") for i in back) == 2 and sum(i.startswith("no") for i in back) == 2
    assert "x" not in back and held_back(list(reversed(ents)), 0.2) == back and held_back(ents, 0.0) == set()


def test_an_ensembles_blocks_stay_apart(spec):
    from kws.train.adapt import block_diagonal_masks
    from kws.train.model import build

    m = dataclasses.replace(spec.model, width=8, members=2)
    model = build(m, spec.frontend.num_cepstra, 3)
    with pytest.raises(KwsError, match="outside the members' diagonal blocks"):
        block_diagonal_masks(model, 2)  # random 1x1 weights: not a merge
    for layer in model.layers:
        if type(layer).__name__ == "Conv2D" and tuple(layer.kernel_size) == (1, 1):
            k = np.asarray(layer.kernel).copy()
            k[:, :, :8, 8:] = 0
            k[:, :, 8:, :8] = 0
            layer.kernel.assign(k)
    masks = block_diagonal_masks(model, 2)
    assert len(masks) == m.blocks
    assert all(mask[0, 0, :8, :8].all() and not mask[0, 0, :8, 8:].any() for _, mask in masks)
