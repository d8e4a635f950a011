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
    r = subprocess.run(
        [sys.executable, "-m", "kws.cli", "eval", "--clips", str(small_data), "--split", "all", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert "int8 accuracy" in r.stdout and "by voice:" in r.stdout
    got = json.loads((tmp_path / "clips.json").read_text())
    assert got["n"] == len(mf.load(small_data)["entries"]) and got["split"] == "all"
    r = subprocess.run([sys.executable, "-m", "kws.cli", "eval"], capture_output=True, text=True)
    assert r.returncode != 0 and "--streams DIR" in r.stderr + r.stdout
    # a model against itself on the same clips: nothing to tell apart
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "kws.cli",
            "eval",
            "--compare",
            str(tmp_path),
            str(tmp_path / "clips.json"),
            "--out",
            str(tmp_path / "cmp.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    c = json.loads((tmp_path / "cmp.json").read_text())
    assert c["clips"] == got["n"] and c["right"]["only_a"] == c["right"]["only_b"] == 0 and c["right"]["p"] == 1.0


def _copy_data(src, dst):
    import shutil

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("features"))
    return dst


@pytest.mark.parametrize(
    "bad, says",
    [
        ("pcm8", r"PCM_U8 samples, not 16-bit PCM\. Convert it explicitly"),
        ("float_nan", r"FLOAT samples, not 16-bit PCM"),
        ("stereo_44k", r"2 channels, not mono; PCM_16 samples|2 channels, not mono; 44100 Hz, not 16000 Hz"),
        ("empty", r"not a readable audio file"),
        ("text", r"not a readable audio file"),
        ("directory", r"is a directory, not an audio file"),
        ("missing", r"does not exist"),
        ("truncated", r"truncated: its header says 16000 samples, it holds \d+"),
    ],
)
def test_a_bad_clip_is_named_with_what_is_wrong_and_nothing_is_scored(spec, small_data, tmp_path, bad, says):
    import soundfile as sf

    d = _copy_data(small_data, tmp_path / "d")
    entries = mf.load(d)["entries"]
    victim = d / entries[len(entries) // 2]["path"]  # not the first clip: it is blamed, not its neighbour
    pcm = sf.read(str(victim), dtype="int16")[0]
    victim.unlink()
    if bad == "pcm8":
        sf.write(str(victim), pcm, 16000, subtype="PCM_U8", format="WAV")
    elif bad == "float_nan":
        sf.write(str(victim), np.full(pcm.size, np.nan, np.float32), 16000, subtype="FLOAT", format="WAV")
    elif bad == "stereo_44k":
        sf.write(str(victim), np.stack([pcm, pcm], axis=1), 44100, subtype="PCM_16", format="WAV")
    elif bad == "empty":
        victim.write_bytes(b"")
    elif bad == "text":
        victim.write_text("not audio\n")
    elif bad == "directory":
        victim.mkdir()
    elif bad == "truncated":
        sf.write(str(victim), pcm, 16000, subtype="PCM_16", format="WAV")
        victim.write_bytes(victim.read_bytes()[:-8000])
    with pytest.raises(KwsError, match=re.escape(str(victim)) + ": " + says):
        clip_accuracy(spec, "models/commands", d, split="all")
    r = subprocess.run(
        [sys.executable, "-m", "kws.cli", "eval", "--clips", str(d), "--split", "all", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and str(victim) in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o" / "clips.json").exists()


def test_clips_of_any_length_are_scored_by_their_most_confident_keyword_window(spec, small_data, tmp_path):
    """A clip of one window is scored as before; a shorter one as if padded with digital silence;
    a longer one by the window the module's rule picks: the original second, set in silence at a
    stride boundary, gives its clip's logits whenever that second was heard as a keyword."""
    import json as js

    from kws.audio import write_wav
    from kws.evaluate.clips import clip_logits, window_samples
    from kws.train.features import read_clip

    model = (spec_model := __import__("pathlib").Path("models/commands") / "model.tflite").read_bytes()
    entries = [e for e in mf.load(small_data)["entries"] if e["label"] not in ("_silence_",)][:24]
    one = [read_clip(small_data / e["path"], 16000) for e in entries]
    base = clip_logits(model, one, spec)
    hop = spec.frontend.hop_samples * spec.detector.stride_frames
    long = [np.concatenate([np.zeros(3 * hop, np.int16), x, np.zeros(2 * hop + 77, np.int16)]) for x in one]
    got = clip_logits(model, long + [one[0]], spec)
    np.testing.assert_array_equal(got[-1], base[0])  # a one-window clip among long ones: unchanged
    lead = lambda v: np.sort(v)[-1] - np.sort(v)[-2]
    kw = np.nonzero(base.argmax(axis=1) >= 2)[0]
    # its own second was a keyword window, so the chosen one is a keyword window leading at least as much
    assert kw.size >= 8 and all(got[i].argmax() >= 2 and lead(got[i]) >= lead(base[i]) for i in kw)
    short = [x[: window_samples(spec) - 3000] for x in one[:4]]
    padded = [np.concatenate([x, np.zeros(16000 - x.size, np.int16)]) for x in short]
    np.testing.assert_array_equal(
        clip_logits(model, short + [one[0][:100]], spec)[:4], clip_logits(model, padded, spec)
    )
    # end to end: a data set whose clips have other lengths is scored, not refused
    d = _copy_data(small_data, tmp_path / "long")
    man = js.loads((d / "manifest.json").read_text())
    for e, x in zip(entries, long):
        write_wav(d / e["path"], x, 16000)
    r = clip_accuracy(spec, "models/commands", d, split="all")
    assert r["n"] == len(man["entries"]) and spec_model.exists()
