"""The one check of what a training directory was made with (kws.train.provenance), as quantize,
release, an ensemble and a teacher use it: each difference refused with the file named."""

import dataclasses
import json

import pytest

from kws.data.task import load_task
from kws.train.provenance import NotMadeWith, check_made_with, read_config


@pytest.fixture
def made(tmp_path, spec):
    task = load_task("commands")
    tspec = task.spec(spec)
    cfg = {
        "frontend": {"hash": tspec.frontend.hash},
        "model": {"hash": tspec.model.hash, **dataclasses.asdict(tspec.model)},
        "task": {"labels": list(task.labels)},
        "data": {"manifest_hash": "a" * 64},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "model.keras").write_bytes(b"")
    return tspec, task, tmp_path


def test_a_directory_made_with_everything_asked_passes(made):
    tspec, task, d = made
    cfg = read_config(d)
    check_made_with(
        cfg, d / "config.json", spec=tspec, model=tspec.model, task=task, data_hash="a" * 64, window=tspec.model
    )


@pytest.mark.parametrize(
    "change, kw, says",
    [
        (lambda c: c["frontend"].update(hash="0" * 64), "spec", r"front end 000000000000, this spec computes"),
        (
            lambda c: c["model"].update(hash="x", width=7),
            "model",
            r"another network than this spec's \[model\] \(differs in width\)",
        ),
        (lambda c: c["task"].update(labels=["yes"]), "task", r"trained for the labels \['yes'\], the task's are"),
        (lambda c: c["data"].update(manifest_hash="b" * 64), "data_hash", r"trained on data set bbbbbbbbbbbb"),
        (lambda c: c["model"].update(window_frames=25), "window", r"\[model\] window_frames is 25, the student's 49"),
    ],
)
def test_each_difference_is_refused_naming_the_file(made, change, kw, says):
    tspec, task, d = made
    cfg = json.loads((d / "config.json").read_text())
    change(cfg)
    args = {"spec": tspec, "model": tspec.model, "task": task, "data_hash": "a" * 64, "window": tspec.model}
    with pytest.raises(NotMadeWith, match=says) as e:
        check_made_with(cfg, d / "config.json", **{kw: args[kw]})
    assert str(d / "config.json") in str(e.value)


def test_no_directory_or_an_unreadable_config_is_named(made, tmp_path):
    _, _, d = made
    (d / "model.keras").unlink()
    with pytest.raises(NotMadeWith, match=r"not a training directory \(no model.keras; kws train"):
        read_config(d)
    (d / "model.keras").write_bytes(b"")
    (d / "config.json").write_text("{half")
    with pytest.raises(NotMadeWith, match=r"config.json: not a readable training config"):
        read_config(d)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotMadeWith, match=r"no config.json or model.keras"):
        read_config(empty)
