"""`kws eval --clips`: a released model's int8 accuracy on another data set's clips (here a small
freshly rendered corpus), through the real front end and TFLM; refusals name the problem."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from kws.data import manifest as mf
from kws.data.synth import synth
from kws.data.task import TASK_DIR, load_task
from kws.errors import KwsError
from kws.evaluate.clips import clip_accuracy


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    text = (TASK_DIR / "commands.toml").read_text()
    for key, val in {"renders_per_keyword": 4, "unknown_renders": 16, "silence_clips": 8}.items():
        text = re.sub(rf"^{key} = \d+", f"{key} = {val}", text, flags=re.M)
    (d / "t.toml").write_text(text)
    synth(load_task(d / "t.toml"), d / "data", workers=2, progress=False)
    return d / "data"


def test_scores_every_clip_of_the_split(spec, small_data):
    entries = mf.load(small_data)["entries"]
    r = clip_accuracy(spec, "models/commands", small_data, split="all")
    assert r["n"] == len(entries) and np.sum(r["confusion"]) == len(entries)
    assert sum(m["n"] for m in r["per_voice"].values()) == len(entries)
    assert set(r["per_source"]) == {e["source"] for e in entries}
    # the released model on speech it was (partly) trained on: far above chance (1/12)
    assert r["accuracy"] > 0.4, r["accuracy"]
    # each clip's outcome, in manifest order, for paired comparisons
    assert len(r["outcomes"]) == r["n"] and r["outcomes"].count("1") == round(r["accuracy"] * r["n"])
    assert len(r["clip_voices"]) == r["n"] and all(r["clip_voices"])
    test = clip_accuracy(spec, "models/commands", small_data, split="test")
    assert test["n"] == sum(e["split"] == "test" for e in entries)
    assert set(test["per_voice"]) <= set(r["per_voice"])


def test_refuses_other_labels_and_empty_splits(spec, small_data):
    with pytest.raises(KwsError, match=r"labels \[.*'down'.*\] are not among models/wakeword's classes"):
        clip_accuracy(spec, "models/wakeword", small_data, split="all")
    with pytest.raises(KwsError, match="split 'dev': one of"):
        clip_accuracy(spec, "models/commands", small_data, split="dev")
    with pytest.raises(KwsError, match="not a released model"):
        clip_accuracy(spec, small_data, small_data)


def test_cli_writes_the_metrics(small_data, tmp_path):
    r = subprocess.run([sys.executable, "-m", "kws.cli", "eval", "--clips", str(small_data), "--split", "all",
                        "--out", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "int8 accuracy" in r.stdout and "by voice:" in r.stdout
    got = json.loads((tmp_path / "clips.json").read_text())
    assert got["n"] == len(mf.load(small_data)["entries"]) and got["split"] == "all"
    r = subprocess.run([sys.executable, "-m", "kws.cli", "eval"], capture_output=True, text=True)
    assert r.returncode != 0 and "--streams DIR" in r.stderr + r.stdout
    # a model against itself on the same clips: nothing to tell apart
    r = subprocess.run([sys.executable, "-m", "kws.cli", "eval", "--compare", str(tmp_path), str(tmp_path / "clips.json"),
                        "--out", str(tmp_path / "cmp.json")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    c = json.loads((tmp_path / "cmp.json").read_text())
    assert c["clips"] == got["n"] and c["right"]["only_a"] == c["right"]["only_b"] == 0 and c["right"]["p"] == 1.0
