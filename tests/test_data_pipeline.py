"""The built-in corpus end to end on a small task: every engine renders, clips are validated
into a versioned manifest, splits are speaker-disjoint, rebuilds are idempotent and resume,
the report and the evaluation streams come out right."""

import dataclasses
import json
import re
from collections import defaultdict

import numpy as np
import pytest
import soundfile as sf

from kws.data import manifest as mf
from kws.data.synth import plan, render_all, synth
from kws.data.task import TASK_DIR, load_task
from kws.data.voices import Voice, resolve_pins
from kws.errors import KwsError, SpecError

pytestmark = pytest.mark.slow  # not in `make check`


def without_model(text: str) -> str:
    """A task file's text without its [model] table (the last table of the shipped tasks)."""
    return text.split("\n[model]\n")[0] + "\n"


def model_table(model_spec) -> str:
    """A task [model] table setting every field a task may set to ``model_spec``'s values."""
    from kws.spec import TASK_MODEL_FIELDS

    def toml(v):
        return f'"{v}"' if isinstance(v, str) else f"[{v[0]}, {v[1]}]" if isinstance(v, tuple) else str(v)

    return "\n[model]\n" + "".join(f"{f} = {toml(getattr(model_spec, f))}\n" for f in TASK_MODEL_FIELDS)


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
    assert engines == {"espeak", "flite", "festival", "piper", "kokoro", "noise"}
    assert {r.side for r in a if r.kind == "keyword"} == {"alone", "first", "last"}
    # unknown words get carriers too: a neighbouring word must not give the label away
    assert {r.side for r in a if r.kind == "unknown"} == {"alone", "first", "last"}
    assert all(r.word in r.text.split() for r in a if r.kind != "silence")
    near = set(task.synth.near_misses)
    unknown = [r.text for r in a if r.kind == "unknown"]
    assert any(w in near for w in unknown) and any(w not in near for w in unknown)
    assert not set(unknown) & set(task.keywords)


def test_corpus_clips_are_one_second_16k_and_match_the_manifest(corpus):
    task, data, man = corpus
    assert len(man["entries"]) > 80
    assert {e["source"] for e in man["entries"]} >= {
        "tts:espeak",
        "tts:flite",
        "tts:festival",
        "tts:piper",
        "tts:kokoro",
        "noise",
    }
    for e in man["entries"]:
        info = sf.info(str(data / e["path"]))
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (16000, 1, "PCM_16", 16000)
    assert mf.verify(data) == []
    assert set(man["counts"]["train"]) == set(task.labels)


def test_carrier_cut_centres_the_word_and_keeps_its_neighbour():
    """A phrase of two bursts: the word (0.4 s) then its neighbour (0.3 s), and the reverse.
    The clip is centred on the word, the neighbour runs into the clip, and the span returned
    is where the word is."""
    from kws.data.synth import cut

    rate, n = 16000, 16000
    t = np.arange(int(0.4 * rate)) / rate
    word = (8000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    neigh = (8000 * np.sin(2 * np.pi * 900 * np.arange(int(0.3 * rate)) / rate)).astype(np.int16)
    gap = np.zeros(int(0.05 * rate), np.int16)
    for side, phrase, _w_at in (
        ("first", np.concatenate([gap, word, neigh, gap]), gap.size),
        ("last", np.concatenate([gap, neigh, word, gap]), gap.size + neigh.size),
    ):
        for seed in range(5):
            clip, (a, b) = cut(phrase, side, n, np.random.default_rng(seed), word_samples=word.size)
            assert clip.size == n and abs((b - a) - word.size) <= 320, (side, a, b)
            mid = (a + b) / 2
            assert abs(mid - n / 2) <= (n - word.size) / 4 + 320, (side, mid)  # centred, jittered
            # the word is where the span says, and the neighbour is in the clip beside it
            spec = np.abs(np.fft.rfft(clip[a + 800 : b - 800].astype(float)))
            assert np.argmax(spec) * rate / spec.size / 2 == pytest.approx(300, abs=20)
            other = clip[b + 800 :] if side == "first" else clip[: a - 800]
            spec = np.abs(np.fft.rfft(other.astype(float)))
            assert np.argmax(spec) * rate / spec.size / 2 == pytest.approx(900, abs=20)
    with pytest.raises(ValueError, match="word's length"):
        cut(phrase, "first", n, np.random.default_rng(0))


def test_carrier_clips_record_the_word_span(corpus):
    task, data, man = corpus
    carriers = [e for e in man["entries"] if e["origin"].get("side") in ("first", "last")]
    assert carriers and {e["origin"]["kind"] for e in carriers} == {"keyword", "unknown"}
    for e in carriers:
        a, b = e["origin"]["word_span"]
        assert e["origin"]["word"] in e["origin"]["text"].split()
        assert 0 <= a < b <= 16000 and 0.1 * 16000 < b - a
    # a word alone: the clip's speech is the word (streams label it by its speech bounds)
    assert all("word_span" not in e["origin"] for e in man["entries"] if e["origin"].get("side") == "alone")


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
    # one person behind two engines' voices is one speaker: flite kal16 and festival kal_diphone
    # (the KAL diphones) are both held out, flite slt and festival's HTS slt share a split too
    assert {e["split"] for e in man["entries"] if e["speaker"] in ("flite:kal16", "festival:kal_diphone")} == {"test"}
    assert (
        len({e["split"] for e in man["entries"] if e["speaker"] in ("flite:slt", "festival:cmu_us_slt_arctic_hts")})
        == 1
    )


@pytest.mark.parametrize("name", ["commands", "wakeword"])
def test_shipped_corpora_never_train_on_a_test_person(name):
    """The full plans of the shipped tasks: every split key (an espeak-ng variant across its
    accents, a voice, or the person behind several engines' voices) lands in one split."""
    splits_of = defaultdict(set)
    for r in plan(load_task(name)):
        if r.engine != "noise":
            splits_of[Voice(r.engine, r.voice).split_key].add(r.split)
    assert all(len(s) == 1 for s in splits_of.values()), {k: s for k, s in splits_of.items() if len(s) > 1}
    assert splits_of["person:kal"] == {"test"} and splits_of["person:slt"] == {"train"}


def test_kokoro_voices_split_by_speaker_and_blends_only_train_voices():
    """The commands plan: Kokoro's five speakers land where pinned; every blend is one split key
    (kokoro:mix), in training, and made only of the Kokoro speakers pinned to training."""
    task = load_task("commands")
    rows = [r for r in plan(task) if r.engine == "kokoro"]
    split = {r.voice: r.split for r in rows}
    assert {v: split[v] for v in ("jf_alpha", "jf_gongitsune", "jm_kumo", "jf_tebukuro", "jf_nezumi")} == {
        "jf_alpha": "train",
        "jf_gongitsune": "train",
        "jm_kumo": "train",
        "jf_tebukuro": "val",
        "jf_nezumi": "test",
    }
    mixes = {v for v in split if "+" in v}
    assert len(mixes) == task.synth.kokoro_mixes
    for v in mixes:
        assert split[v] == "train" and Voice("kokoro", v).split_key == "kokoro:mix"
        names = [t.split("*")[0] for t in v.split("+")]
        assert set(names) <= {"jf_alpha", "jf_gongitsune", "jm_kumo"}, v
        assert sum(float(t.split("*")[1]) for t in v.split("+")) == pytest.approx(1.0, abs=0.02)


def test_kokoro_blends_follow_their_split(tmp_path):
    """Pin kokoro:mix to the test split: its blends are then made of the test split's Kokoro
    voices only, and with fewer than two there the task is refused, naming why."""
    text = (TASK_DIR / "commands.toml").read_text()
    assert '"kokoro:mix" = "train"' in text
    p = tmp_path / "mix_test.toml"
    p.write_text(
        text.replace('"kokoro:mix" = "train"', '"kokoro:mix" = "test"').replace(
            '"kokoro:jf_tebukuro" = "val"', '"kokoro:jf_tebukuro" = "test"'
        )
    )
    rows = [r for r in plan(load_task(p)) if r.engine == "kokoro" and "+" in r.voice]
    assert rows and {r.split for r in rows} == {"test"}
    assert {t.split("*")[0] for r in rows for t in r.voice.split("+")} == {"jf_nezumi", "jf_tebukuro"}
    p.write_text(text.replace('"kokoro:mix" = "train"', '"kokoro:mix" = "test"'))
    with pytest.raises(KwsError, match="kokoro mixes need two Kokoro voices.*jf_nezumi"):
        plan(load_task(p))


def test_same_person_groups_voices_for_the_split_not_for_reporting():
    kal16, kal = Voice("flite", "kal16"), Voice("festival", "kal_diphone")
    assert kal16.split_key == kal.split_key == "person:kal"
    assert (kal16.timbre, kal.timbre) == ("flite:kal16", "festival:kal_diphone")  # per-voice accuracy keeps both
    assert Voice("espeak", "en-us+m3").split_key == Voice("espeak", "en+m3").split_key == "espeak:+m3"
    assert Voice("flite", "rms").split_key == "flite:rms"
    assert resolve_pins({"rec:alice": "test", "bob": "val", "flite:kal16": "train"}) == {
        "rec:alice": "test",
        "bob": "val",
        "person:kal": "train",
    }


def test_pins_that_split_one_person_are_refused(tmp_path):
    text = (TASK_DIR / "commands.toml").read_text()
    pin = '"festival:kal_diphone" = "test", "flite:kal16" = "test"'
    assert pin in text
    p = tmp_path / "split_person.toml"
    p.write_text(text.replace(pin, '"festival:kal_diphone" = "test", "flite:kal16" = "train"'))
    with pytest.raises(
        SpecError, match=r"split\.pin.*festival:kal_diphone in 'test' and flite:kal16 in 'train'.*person:kal"
    ):
        load_task(p)
    # pinning one of them pins the person
    p.write_text(text.replace(pin, '"festival:kal_diphone" = "train"'))
    task = load_task(p)
    kal = {r.split for r in plan(task) if r.speaker in ("flite:kal16", "festival:kal_diphone")}
    assert kal == {"train"}


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


def test_training_augmentation_is_not_part_of_the_data_set_version(corpus):
    """Changing how training augments clips rebuilds the same data set (same manifest hash);
    changing how clips are made does not."""
    from dataclasses import replace

    task, data, man = corpus
    aug = replace(task, augment=replace(task.augment, end_align_prob=0.9, snr_db=(0.0, 10.0)))
    assert aug.hash != task.hash and aug.data_hash == task.data_hash
    assert synth(aug, data, progress=False)["hash"] == man["hash"]
    assert synth(task, data, progress=False)["hash"] == man["hash"]  # (lineage back to the fixture's)
    assert replace(task, synth=replace(task.synth, seed=task.synth.seed + 1)).data_hash != task.data_hash


def test_quarantine_is_listed_not_dropped(corpus):
    _, data, man = corpus
    q = json.loads((data / "quarantine.json").read_text())
    raw = sum(1 for _ in (data / "raw").glob("*/*.wav"))
    assert len(man["entries"]) + len(q) == raw  # every rendered clip is accounted for
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

    def audio_of(st):
        return sf.read(str(tmp_path / f"{st['name']}.wav"), dtype="int16")[0]

    audio, rate = sf.read(str(tmp_path / f"{pos['name']}.wav"), dtype="int16")
    assert rate == 16000 and audio.size == 60 * 16000
    labels = read_labels(tmp_path / f"{pos['name']}.labels.csv")
    assert len(labels) == pos["keywords"] >= 5
    bed = np.median(frame_energy_db(audio, rate))
    for lab, a, b in labels:
        assert lab in task.keywords
        assert frame_energy_db(audio[a:b], rate).max() > bed + 10, (lab, a, b)
    # a keyword inside a carrier phrase is labelled with its own span, not the phrase's
    by_id = {e["id"]: e for e in man["entries"]}
    rows = [r.split(",") for r in (tmp_path / f"{pos['name']}.labels.csv").read_text().split()[1:]]
    spans = [
        (int(b) - int(a), by_id[cid]["origin"]["word_span"])
        for _, a, b, cid, *_ in rows
        if "word_span" in by_id[cid]["origin"]
    ]
    assert all(n == s1 - s0 for n, (s0, s1) in spans)
    # and with how the clip says it (the eval's misses by context)
    from kws.data.streams import read_contexts

    ctx = read_contexts(tmp_path / f"{pos['name']}.labels.csv")
    assert ctx == [by_id[cid]["origin"]["side"] for _, _, _, cid, *_ in rows] and set(ctx) <= {"alone", "first", "last"}
    # and by whom: the voice as splits (and paired comparisons) group speakers
    from kws.data.streams import read_column
    from kws.data.voices import group_of

    voices = read_column(tmp_path / f"{pos['name']}.labels.csv", "voice")
    assert voices == [group_of(by_id[cid]["speaker"]) for _, _, _, cid, *_ in rows] and all(voices)
    # everything said is in the words file, where the audio has it: keywords with their labels'
    # clips, unknown words (near-misses flagged) in both kinds of stream
    from kws.data.streams import read_words

    for st in (pos, neg):
        words = read_words(tmp_path / f"{st['name']}.words.csv")
        assert st["speech_events"] - 1 <= len(words) <= st["speech_events"]  # the last may start past the end
        for w in words:
            assert frame_energy_db(audio_of(st)[w["start_sample"] : w["end_sample"]], rate).max() > bed + 10, w
            e = by_id[w["clip_id"]]
            assert w["label"] == e["label"] and w["near_miss"] == (w["word"] in task.synth.near_misses)
            assert w["word"] == e["origin"].get("word", e["origin"]["text"])
        kw = [(w["label"], w["clip_id"]) for w in words if w["label"] in task.keywords]
        assert kw == [(lab, cid) for lab, _, _, cid, *_ in rows] if st is pos else kw == []
    assert any(w["near_miss"] for w in read_words(tmp_path / f"{neg['name']}.words.csv"))
    # the backgrounds, end to end without a gap, each 5-20 s (the last cut by the stream's end)
    from kws.data import noise
    from kws.data.streams import read_beds

    for st in (pos, neg):
        beds = read_beds(tmp_path / f"{st['name']}.beds.csv")
        assert beds[0][0] == 0 and beds[-1][1] == audio_of(st).size
        assert all(b0[1] == b1[0] for b0, b1 in zip(beds, beds[1:]))
        assert all(5 * rate <= b - a <= 20 * rate for a, b, _ in beds[:-1]) and beds[-1][1] - beds[-1][0] <= 20 * rate
        assert {k for _, _, k in beds} <= set(noise.KINDS) | {"recorded"}
    # reproducible
    again = make_stream(data, task, tmp_path / "again", kind="positive", minutes=1.0)
    assert (tmp_path / "again" / f"{again['name']}.wav").read_bytes() == (tmp_path / f"{pos['name']}.wav").read_bytes()


def _voices_task(tmp_path, extra: str, name="voices"):
    """The wake-word task, small, festival and flite only, with ``extra`` lines in [synth]."""
    text = (TASK_DIR / "wakeword.toml").read_text()
    text = re.sub(r"^engines = .*$", 'engines = ["flite", "festival"]', text, flags=re.M)
    text = re.sub(r"^engine_weights = .*$", "engine_weights = [0.5, 0.5]", text, flags=re.M)
    text = text.replace("[synth]\n", "[synth]\n" + extra + "\n", 1)
    for key, val in {"renders_per_keyword": 12, "unknown_renders": 12, "silence_clips": 2}.items():
        text = re.sub(rf"^{key} = \d+", f"{key} = {val}", text, flags=re.M)
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return load_task(p)


def test_a_task_chooses_its_flite_and_festival_voices(tmp_path):
    """More speakers is what the near-miss words need (docs/evaluation.md): a task can speak with
    any installed flite or festival voice, e.g. festival's ked_diphone (festvox-kdlpc16k)."""
    task = _voices_task(tmp_path, 'flite_voices = ["slt"]\nfestival_voices = ["ked_diphone"]')
    assert task.synth.festival_voices == ("ked_diphone",)
    man = synth(task, tmp_path / "data", workers=2, progress=False)
    speakers = {e["speaker"] for e in man["entries"] if e["source"].startswith("tts:")}
    assert speakers == {"flite:slt", "festival:ked_diphone"}
    default = load_task("wakeword")
    written = tmp_path / "default_voices.toml"  # the defaults written out hash as when left out
    written.write_text(
        (TASK_DIR / "wakeword.toml")
        .read_text()
        .replace("[synth]\n", '[synth]\nfestival_voices = ["kal_diphone", "cmu_us_slt_arctic_hts"]\n', 1)
    )
    assert load_task(written).data_hash == default.data_hash != task.data_hash


def test_a_voice_that_is_not_installed_is_named_before_anything_is_written(tmp_path):
    task = _voices_task(tmp_path, 'festival_voices = ["kal_diphone", "no_such_voice"]')
    with pytest.raises(
        KwsError, match=r"festival voices \['no_such_voice'\] are not installed; this machine has .*kal_diphone"
    ):
        synth(task, tmp_path / "data", workers=2, progress=False)
    assert not (tmp_path / "data").exists()
    task = _voices_task(tmp_path, 'flite_voices = ["hal9000"]', name="flite")
    with pytest.raises(KwsError, match=r"flite voices \['hal9000'\] are not installed"):
        synth(task, tmp_path / "data", workers=2, progress=False)


def test_a_task_sets_its_own_network_without_a_new_data_set(tmp_path):
    """A task's [model] (width, blocks, first kernel and stride) replaces the spec's for that task
    alone: the wake word and the commands can have different networks on one front end. The clips
    do not depend on it (same data hash); the task's hash, which the training output records, does."""
    from kws.errors import SpecError
    from kws.spec import load_spec

    spec = load_spec()
    commands = without_model((TASK_DIR / "commands.toml").read_text())
    (tmp_path / "commands_spec_network.toml").write_text(commands)
    base = load_task(tmp_path / "commands_spec_network.toml")  # the spec's network
    assert base.model == () and base.spec(spec) is spec
    for name in ("commands", "wakeword"):  # their own: temporal (docs/training.md)
        assert load_task(name).spec(spec).model.block_kernel == (9, 1)
    p = tmp_path / "commands_stride1.toml"
    p.write_text(commands + "\n[model]\nfirst_stride = [1, 2]\n")
    t = load_task(p)
    own = t.spec(spec)
    assert own.model.first_stride == (1, 2) and own.model.hash != spec.model.hash
    assert dataclasses.replace(own.model, first_stride=spec.model.first_stride) == spec.model
    assert own.frontend == spec.frontend and own.detector == spec.detector
    assert t.data_hash == base.data_hash and t.hash != base.hash
    p.write_text(commands + "\n[model]\nwindow_frames = 25\n")
    with pytest.raises(SpecError, match=r"model\.window_frames.*a task may set only .*first_stride") as e:
        load_task(p)
    assert str(p) in str(e.value)
    p.write_text(commands + "\n[model]\nfirst_stride = [0, 2]\n")
    with pytest.raises(SpecError, match=r"model\.first_stride.*two positive integers") as e:
        load_task(p).spec(spec)
    assert str(p) in str(e.value)


def test_streams_in_parts_are_distinct_and_reproducible(corpus, tmp_path):
    """`kws data streams --parts N`: N streams of --minutes each (hours of negatives to calibrate
    thresholds on), each drawn apart, the same bytes when made again; a negative count is refused."""
    import subprocess
    import sys

    _, data, _ = corpus
    cmd = [
        sys.executable,
        "-m",
        "kws.cli",
        "data",
        "streams",
        str(data),
        "--split",
        "train",
        "--kind",
        "negative",
        "--minutes",
        "0.2",
        "--parts",
        "3",
    ]
    r = subprocess.run(cmd + ["--out", str(tmp_path / "a")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = [f"negative_train_0.2min_part{k:02d}" for k in (1, 2, 3)]
    assert [ln.split(":")[0] for ln in r.stdout.splitlines()] == names
    audio = [(tmp_path / "a" / f"{n}.wav").read_bytes() for n in names]
    assert len(set(audio)) == 3
    subprocess.run(cmd[:-2] + ["--parts", "1", "--out", str(tmp_path / "b")], check=True, capture_output=True)
    assert (tmp_path / "b" / f"{names[0]}.wav").read_bytes() == audio[0]
    r = subprocess.run(cmd[:-2] + ["--parts", "-1", "--out", str(tmp_path / "c")], capture_output=True, text=True)
    assert r.returncode != 0 and "--parts -1" in r.stderr + r.stdout
