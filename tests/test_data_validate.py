"""Every validation rule with a failing and a passing clip; conversions recorded; bad files
quarantined with a per-file reason; the CLI's exit status says whether anything was."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from kws.data.ingest import SourceClip, ingest
from kws.data.task import load_task

RATE = 16000


@pytest.fixture(scope="module")
def task():
    return load_task("commands")


def word(rng, ms=450, level=0.3, noise=2e-4, n=RATE):
    """A synthetic 'word': a voiced 200 Hz + harmonics burst of ``ms`` in a 1 s clip."""
    t = np.arange(int(RATE * ms / 1000)) / RATE
    env = np.sin(np.pi * t / t[-1]) ** 0.5
    v = sum(np.sin(2 * np.pi * 200 * k * t) / k for k in range(1, 6)) * env
    x = np.zeros(n)
    a = (n - v.size) // 2
    x[a : a + v.size] = v / np.abs(v).max() * level
    x += noise * rng.standard_normal(n)
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def write(path, pcm, rate=RATE, subtype="PCM_16"):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), pcm, rate, subtype=subtype)
    return str(path)


def run(task, tmp_path, clips):
    man = ingest(clips, task, tmp_path / "out", workers=1, progress=False)
    q = json.loads((tmp_path / "out" / "quarantine.json").read_text())
    return man, {item["id"]: [r["code"] for r in item["reasons"]] for item in q}


def clip(path, label="yes", speaker="s1", key=None, source="tts:test"):
    """A clip held to the task's [validate] rules (a TTS source; recorded ones: [validate.recorded])."""
    return SourceClip(path, label, speaker, source, "train", None, {"key": key or path})


def test_each_rule_fails_and_passes(task, tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "in"
    cases = {  # name: (pcm, label, expected reason or None)
        "good_kw": (word(rng), "yes", None),
        "good_unknown": (word(rng, ms=700), "_unknown_", None),
        "good_silence": (np.round(rng.normal(0, 30, RATE)).astype(np.int16), "_silence_", None),
        "too_short": (word(rng, ms=100, n=1600), "yes", "too_short"),
        "too_long": (np.tile(word(rng), 3), "_unknown_", "too_long"),
        "clipping": (
            np.clip(word(rng, level=3.0).astype(np.int32) * 1, -32768, 32767).astype(np.int16),
            "yes",
            "clipping",
        ),
        "dc": ((word(rng).astype(np.int32) + 6000).clip(-32768, 32767).astype(np.int16), "no", "dc_offset"),
        "silent": ((word(rng) // 2000).astype(np.int16), "yes", "silent"),
        "low_snr": (word(rng, noise=0.05), "up", "low_snr"),
        "kw_too_brief": (word(rng, ms=120), "go", "speech_duration"),
        "kw_too_long_speech": (word(rng, ms=1500, n=2 * RATE - 100), "go", "speech_duration"),
    }
    clips = [clip(write(d / f"{k}.wav", pcm), label, key=k) for k, (pcm, label, _) in cases.items()]
    man, q = run(task, tmp_path, clips)
    accepted = {e["origin"].get("key", e["id"]) for e in man["entries"]}
    by_key = {c.origin["key"]: c.id for c in clips}
    for k, (_, _, reason) in cases.items():
        if reason is None:
            assert by_key[k] not in q, (k, q.get(by_key[k]))
        else:
            assert reason in q.get(by_key[k], []), (k, q.get(by_key[k]))
    assert len(man["entries"]) == 3 and not accepted & set()


def test_bad_files_get_per_file_reasons(task, tmp_path):
    rng = np.random.default_rng(1)
    d = tmp_path / "in"
    d.mkdir()
    (d / "truncated.wav").write_bytes(open(write(d / "ok.wav", word(rng)), "rb").read()[:30])
    (d / "zero.wav").write_bytes(b"")
    (d / "text.wav").write_text("not audio at all")
    write(d / "loud_float.wav", word(rng).astype(np.float64) / 32768 * 5.0, subtype="DOUBLE")  # peak 1.5
    nan = word(rng).astype(np.float32) / 32768
    nan[100] = np.nan
    write(d / "nan.wav", nan, subtype="FLOAT")
    big = d / "big.wav"
    write(big, np.zeros(RATE * 60 * 30, dtype=np.int16))  # 57.6 MB > 50 MB limit
    names = ["truncated", "zero", "text", "loud_float", "nan", "big", "missing"]
    clips = [clip(str(d / f"{n}.wav"), key=n) for n in names]
    man, q = run(task, tmp_path, clips)
    expect = {
        "truncated": "unreadable",
        "zero": "empty",
        "text": "unreadable",
        "loud_float": "out_of_range",
        "nan": "not_finite",
        "big": "too_large",
        "missing": "unreadable",
    }
    for c in clips:
        assert expect[c.origin["key"]] in q[c.id], (c.origin["key"], q[c.id])
    assert man["entries"] == []
    assert (d / "text.wav").exists()  # originals are never deleted
    assert (tmp_path / "out" / "quarantine" / f"{clips[2].id}.wav").read_text() == "not audio at all"


def test_conversions_are_recorded(task, tmp_path):
    rng = np.random.default_rng(2)
    d = tmp_path / "in"
    x = [word(rng, ms=ms) for ms in (400, 450, 500, 550)]  # distinct audio: no duplicates
    from kws.data.tts import resample_int16

    clips = [
        clip(write(d / "stereo.wav", np.stack([x[0], x[0]], axis=1)), key="stereo"),
        clip(write(d / "r44.wav", resample_int16(x[1], RATE, 44100), rate=44100), key="r44"),
        clip(write(d / "f32.wav", x[2].astype(np.float32) / 32768, subtype="FLOAT"), key="f32"),
        clip(write(d / "p24.flac", x[3].astype(np.int32) << 16, subtype="PCM_24"), key="p24"),
    ]
    man, q = run(task, tmp_path, clips)
    assert not q
    conv = {e["origin"]["key"] if "key" in e["origin"] else e["id"]: e["conversions"] for e in man["entries"]}
    got = {c.origin["key"]: next(e["conversions"] for e in man["entries"] if e["id"] == c.id) for c in clips}
    assert any("downmix 2 channels" in s for s in got["stereo"])
    assert any("resample 44100 -> 16000" in s for s in got["r44"])
    assert any("requantize FLOAT" in s for s in got["f32"])
    assert any("requantize PCM_24" in s for s in got["p24"])
    lineage = json.loads((tmp_path / "out" / "lineage.json").read_text())
    assert lineage["conversions"]["resample"] == 1 and conv is not None


def test_duplicates_and_label_conflicts(task, tmp_path):
    rng = np.random.default_rng(3)
    d = tmp_path / "in"
    a, b = word(rng), word(rng, ms=500)
    clips = [
        clip(write(d / "a1.wav", a), "yes", key="a1"),
        clip(write(d / "a2.wav", a), "yes", key="a2"),
        clip(write(d / "b1.wav", b), "yes", key="b1"),
        clip(write(d / "b2.wav", b), "no", key="b2"),
    ]
    man, q = run(task, tmp_path, clips)
    ids = {c.origin["key"]: c.id for c in clips}
    first, second = sorted([ids["a1"], ids["a2"]])
    assert first not in q and q[second] == ["duplicate"]
    assert q[ids["b1"]] == ["label_conflict"] and q[ids["b2"]] == ["label_conflict"]
    assert len(man["entries"]) == 1


def test_cli_exit_status_says_whether_anything_was_quarantined(tmp_path):
    from kws.cli import main

    rng = np.random.default_rng(4)
    root = tmp_path / "rec"
    write(root / "yes" / "ann_1.wav", word(rng))
    assert main(["data", "ingest", "recordings", str(root), "--out", str(tmp_path / "o1"), "--workers", "1"]) == 0
    (root / "yes" / "ann_2.wav").write_bytes(b"garbage")
    assert main(["data", "ingest", "recordings", str(root), "--out", str(tmp_path / "o2"), "--workers", "1"]) == 3
    (root / "nolabel").mkdir()
    assert main(["data", "ingest", "recordings", str(root), "--out", str(tmp_path / "o3")]) == 2


@pytest.mark.slow
def test_the_gate_records_every_entry_copies_atomically_and_keeps_nothing_stale(task, tmp_path, rng):
    """A folder inside a label folder is recorded; a refused file past the size the gate reads is
    recorded with its size and not copied; a partial quarantine copy left by a killed run is
    replaced; a source replaced at the same path replaces its clip (verify passes); the data set
    holds copies, not links, so editing a source later changes nothing; a truncated WAV is kept
    with a note; a source with no clips is an error."""
    import os

    from kws.data import manifest as mf
    from kws.data import sources
    from kws.errors import KwsError

    root = tmp_path / "rec"
    good = write(root / "yes" / "ana_1.wav", word(rng))
    (root / "yes" / "ana_takes").mkdir()
    write(root / "yes" / "ana_takes" / "inner.wav", word(rng))
    big = root / "no" / "ben_big.wav"
    write(big, word(rng))
    with open(big, "r+b") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GiB that a copy would fill
    bad = write(root / "no" / "ben_bad.wav", np.zeros(RATE, np.int16))  # digital silence: refused
    cut = write(root / "no" / "cy_cut.wav", word(rng, ms=300))
    with open(cut, "r+b") as f:
        f.truncate(os.path.getsize(cut) - 4000)
    out = tmp_path / "out"
    clips = sources.recordings(root, task)
    man = ingest(clips, task, out, workers=1, progress=False)
    q = {Path(x["source_path"]).name: x for x in json.loads((out / "quarantine.json").read_text())}
    assert len(man["entries"]) + len(q) == len(clips) == 5  # every entry: kept or recorded
    assert "a directory inside a label folder" in q["ana_takes"]["reasons"][0]["detail"]
    assert q["ben_big.wav"]["bytes"] == 2 * 1024**3 and q["ben_big.wav"]["quarantine_path"] is None
    assert [r["code"] for r in q["ben_big.wav"]["reasons"]] == ["too_large"]
    assert sum(f.stat().st_blocks * 512 for f in (out / "quarantine").iterdir()) < 10_000_000
    (cut_entry,) = [e for e in man["entries"] if e["speaker"] == "rec:cy"]
    assert any(c.startswith("truncated file: its header says") for c in cut_entry["conversions"])
    # a killed run's partial quarantine copy is not kept
    qbad = out / q["ben_bad.wav"]["quarantine_path"]
    qbad.write_bytes(qbad.read_bytes()[:100])
    # the source replaced at the same path, then edited in place after the ingest
    (ana,) = [e for e in man["entries"] if e["speaker"] == "rec:ana"]
    first = (out / ana["path"]).read_bytes()
    write(Path(good), word(rng, ms=600))
    man2 = ingest(sources.recordings(root, task), task, out, workers=1, progress=False)
    (ana2,) = [e for e in man2["entries"] if e["speaker"] == "rec:ana"]
    assert ana2["id"] == ana["id"] and ana2["pcm_sha256"] != ana["pcm_sha256"]
    assert (out / ana2["path"]).read_bytes() == Path(good).read_bytes() != first
    assert mf.verify(out) == []
    assert qbad.read_bytes() == Path(bad).read_bytes()
    assert os.stat(good).st_ino != os.stat(out / ana2["path"]).st_ino
    with open(good, "r+b") as f:  # edited in place: the data set is unchanged
        f.seek(100)
        f.write(b"\x7f" * 64)
    assert mf.verify(out) == []
    with pytest.raises(KwsError, match="offered no clips"):
        ingest([], task, tmp_path / "none", workers=1, progress=False)
