"""The one reader of a release (kws.released.ReleasedModel): typed fields checked against the
manifest and the model file, and a clear error naming the file for each way a release is broken."""

import json
import shutil

import pytest

from kws.errors import KwsError
from kws.paths import DEFAULT_MODEL, REPO_ROOT
from kws.released import ReleasedModel

MODEL = REPO_ROOT / "models" / "commands"


def test_the_released_commands_model_reads_as_its_manifest_says():
    man = json.loads((MODEL / "manifest.json").read_text())
    rm = ReleasedModel.load(MODEL)
    assert (rm.name, rm.task, rm.labels) == ("commands", "commands", tuple(man["labels"]))
    assert rm.keywords == tuple(man["labels"][2:]) and rm.keywords[0] == "yes"
    assert rm.sha256 == man["model"]["sha256"] and rm.hash32 == int(man["model"]["sha256"][:8], 16)
    assert rm.thresholds == man["thresholds"]["values"] and set(rm.thresholds) == set(rm.keywords)
    assert rm.firmware == "commands" and rm.blob() == (MODEL / "model.tflite").read_bytes()
    assert rm.frontend_hash == man["frontend"]["hash"]


@pytest.fixture
def copy(tmp_path):
    d = tmp_path / "mine"
    shutil.copytree(MODEL, d)
    return d


def _edit(d, change):
    man = json.loads((d / "manifest.json").read_text())
    change(man)
    (d / "manifest.json").write_text(json.dumps(man))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.pop("labels"), "'labels' must list _silence_, _unknown_ and at least one keyword"),
        (lambda m: m.update(labels=["_silence_", "_unknown_"]), "'labels' must list"),
        (lambda m: m.pop("name"), "no 'name' in it"),
        (lambda m: m["task"].pop("name"), "no 'task.name' in it"),
        (lambda m: m.pop("frontend"), "no 'frontend.hash' in it"),
        (lambda m: m["thresholds"]["values"].update(maybe=0.5), "'thresholds.values' must map keywords of the model"),
        (lambda m: m["thresholds"]["values"].update(yes=1.5), "to posteriors between 0 and 1"),
        (lambda m: m["model"].pop("sha256"), "not a released model .*names no model file"),
    ],
)
def test_a_broken_manifest_is_named_with_what_is_wrong(copy, change, message):
    _edit(copy, change)
    with pytest.raises(KwsError, match=message) as e:
        ReleasedModel.load(copy)
    assert str(copy) in str(e.value)


def test_an_uncalibrated_release_of_its_own_name_runs_the_default_firmware(copy):
    _edit(copy, lambda m: (m.pop("thresholds"), m.update(name="mine")))
    rm = ReleasedModel.load(copy)
    assert rm.thresholds is None and rm.name == "mine"
    assert rm.firmware == DEFAULT_MODEL  # no firmware/generated/mine/: the handshake names the mismatch


def test_kws_says_what_is_wrong_with_a_model_directory_instead_of_a_traceback(tmp_path, capsys):
    from kws.cli import main

    assert main(["eval", "--model", str(tmp_path), "--streams", str(tmp_path)]) == 2
    assert f"{tmp_path}: not a released model (no manifest.json)" in capsys.readouterr().err


def test_a_scratch_release_is_read_as_a_release(tmp_path, spec):
    from kws.data.task import load_task
    from kws.released import scratch_release

    task = load_task("commands")
    src = MODEL / "model.tflite"
    rm = scratch_release(src, tmp_path / "cand", name="cand", task=task, spec=spec)
    assert rm.name == "cand" and rm.labels == tuple(task.labels) and rm.blob() == src.read_bytes()
    assert rm.sha256 == ReleasedModel.load(MODEL).sha256 and rm.thresholds is None
    rm.check_frontend(spec)
