"""The released models in models/: manifests valid against their schema and artifacts, and made for
the network and front end their task and the spec describe today."""

import json
from dataclasses import asdict

import pytest

from kws.data.task import load_task
from kws.paths import REPO_ROOT
from kws.reference.tflite_model import TFLiteModel
from kws.release import validate
from kws.released import ReleasedModel
from kws.spec import load_spec


@pytest.mark.parametrize("name", ["commands", "wakeword"])
def test_a_released_model_is_the_network_its_task_describes(name):
    d = REPO_ROOT / "models" / name
    man = ReleasedModel.load(d).manifest
    validate(man, d)  # schema, model file, calibration set hashes
    spec = load_task(man["task"]["name"]).spec(load_spec())
    assert man["frontend"]["hash"] == spec.frontend.hash
    want = json.loads(json.dumps(asdict(spec.model)))  # tuples as lists, as in the JSON
    earlier = {"members": 1, "cepstra_padding": "same", "block_kernel": [3, 3]}  # fields added since: their defaults
    got = {**earlier, **{k: v for k, v in man["spec"]["model"].items() if k != "hash"}}
    assert got == want, (
        f"{d}: released for another [model] than task {name!r} sets today: retrain and release, or restore the task"
    )
    conv = next(
        op for op in TFLiteModel.from_bytes((d / "model.tflite").read_bytes()).operators if op.name == "CONV_2D"
    )
    assert (conv.options["strideH"], conv.options["strideW"]) == tuple(spec.model.first_stride)
    assert man["budget"]["all_measured"] and man["thresholds"]["values"]
