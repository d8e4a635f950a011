"""The built-in corpus end to end on a small task: every engine renders, clips are validated
into a versioned manifest, splits are speaker-disjoint, rebuilds are idempotent and resume,
the report and the evaluation streams come out right."""

import json
import re
from collections import defaultdict

import numpy as np
import pytest
import soundfile as sf

from kws.data import manifest as mf
from kws.data.synth import plan, render_all, synth
from kws.data.task import TASK_DIR, load_task
from kws.data.voices import Voice


def small_task(tmp_path, name="commands", **counts):
    text = (TASK_DIR / f"{name}.toml").read_text()
    for key, val in {"renders_per_keyword": 6, "unknown_renders": 30, "silence_clips": 12, **counts}.items():
        text = re.sub(rf"^{key} = \d+", f"{key} = {val}", text, flags=re.M)
    p = tmp_path / f"{name}_small.toml"
    p.write_text(text)
    return load_task(p)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    task = small_task(d)
    man = synth(task, d / "data", workers=2, progress=False)
    return task, d / "data", man


def test_shipped_tasks_load():
    for name in ("commands", "wakeword"):
        t = load_task(name)
        assert t.labels[:2] == ("_silence_", "_unknown_")
    assert load_task("commands").keywords == ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
    assert load_task("wakeword").keywords == ("marvin",)


def test_plan_is_deterministic_and_mixes_engines(tmp_path):
    task = small_task(tmp_path, renders_per_keyword=40)
    a, b = plan(task), plan(task)
    assert a == b
    engines = {r.engine for r in a}
    assert engines == {"espeak", "flite", "festival", "piper", "noise"}
    assert {r.side for r in a if r.kind == "keyword"} == {"alone", "first", "last"}
    near = set(task.synth.near_misses)
    unknown = [r.text for r in a if r.kind == "unknown"]
    assert any(w in near for w in unknown) and any(w not in near for w in unknown)
    assert not set(unknown) & set(task.keywords)


def test_corpus_clips_are_one_second_16k_and_match_the_manifest(corpus):
    task, data, man = corpus
    assert len(man["entries"]) > 80
    assert {e["source"] for e in man["entries"]} >= {"tts:espeak", "tts:flite", "tts:festival", "tts:piper", "noise"}
    for e in man["entries"]:
        info = sf.info(str(data / e["path"]))
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (16000, 1, "PCM_16", 16000)
    assert mf.verify(data) == []
    assert set(man["counts"]["train"]) == set(task.labels)


def test_splits_are_speaker_disjoint(corpus):
    task, _, man = corpus
    splits_of = defaultdict(set)
    for e in man["entries"]:
        if e["source"].startswith("tts:"):
            v = Voice(e["source"][4:], e["origin"]["voice"])
            splits_of[v.split_key].add(e["split"])
    assert all(len(s) == 1 for s in splits_of.values()), {k: s for k, s in splits_of.items() if len(s) > 1}
    assert {"train", "test"} <= {e["split"] for e in man["entries"]}
    # pins hold: Piper only in training, flite rms only in test
    assert {e["split"] for e in man["entries"] if e["speaker"] == "piper:joe"} <= {"train"}
    assert {e["split"] for e in man["entries"] if e["speaker"] == "flite:rms"} <= {"test"}


def test_rebuild_is_idempotent_and_resumes(corpus):
    task, data, man = corpus
    counts = render_all(task, data / "raw", progress=False)
    assert counts["rendered"] == 0 and counts["reused"] == counts["planned"]
    assert synth(task, data, progress=False)["hash"] == man["hash"]
    # an interrupted run: some renders missing -> only those are redone, same data set
    raw_files = sorted((data / "raw").glob("*/*.wav"))[:3]
    for f in raw_files:
        f.unlink()
    counts = render_all(task, data / "raw", progress=False)
    assert counts["rendered"] == 3
    assert synth(task, data, progress=False)["hash"] == man["hash"]


def test_quarantine_is_listed_not_dropped(corpus):
    _, data, man = corpus
    q = json.loads((data / "quarantine.json").read_text())
    raw = sum(1 for _ in (data / "raw").glob("*/*.wav"))
    assert len(man["entries"]) + len(q) == raw            # every rendered clip is accounted for
    for item in q:
        assert item["reasons"] and (data / item["quarantine_path"]).exists()


def test_lineage_and_report(corpus):
    task, data, man = corpus
    lin = json.loads((data / "lineage.json").read_text())
    assert lin["output"]["manifest_hash"] == man["hash"]
    assert lin["task"]["hash"] == task.hash and "espeak-ng" in lin["tools"] and "numpy" in lin["tools"]
    assert lin["inputs"][0]["plan_sha256"]
    from kws.data.report import write_report

    page = write_report(data).read_text()
    assert man["hash"] in page and (data / "report_counts.png").stat().st_size > 1000


def test_streams_match_their_labels(corpus, tmp_path):
    from kws.data.quality import frame_energy_db
    from kws.data.streams import make_stream, read_labels

    task, data, man = corpus
    test_speakers = {e["speaker"] for e in man["entries"] if e["split"] == "test"}
    pos = make_stream(data, task, tmp_path, kind="positive", minutes=1.0)
    neg = make_stream(data, task, tmp_path, kind="negative", minutes=1.0)
    assert neg["keywords"] == 0 and read_labels(tmp_path / f"{neg['name']}.labels.csv") == []
    assert set(pos["voices"]) <= test_speakers | {e["speaker"] for e in man["entries"] if e["split"] == "test"}
    audio, rate = sf.read(str(tmp_path / f"{pos['name']}.wav"), dtype="int16")
    assert rate == 16000 and audio.size == 60 * 16000
    labels = read_labels(tmp_path / f"{pos['name']}.labels.csv")
    assert len(labels) == pos["keywords"] >= 5
    bed = np.median(frame_energy_db(audio, rate))
    for lab, a, b in labels:
        assert lab in task.keywords
        assert frame_energy_db(audio[a:b], rate).max() > bed + 10, (lab, a, b)
    # reproducible
    again = make_stream(data, task, tmp_path / "again", kind="positive", minutes=1.0)
    assert (tmp_path / "again" / f"{again['name']}.wav").read_bytes() == (tmp_path / f"{pos['name']}.wav").read_bytes()
