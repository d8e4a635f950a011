"""Real-speech sources beside the TTS corpus: folders of recorded words and noise, recordings of
any length and rate fitted to the task's clip, the rules recorded speech is held to, and
`kws data mix` (sources, shares, speaker-disjointness across sources, carried quarantine)."""

import json

import numpy as np
import pytest

from kws.data import sources
from kws.data.ingest import fit_clip, ingest
from kws.data.mix import mix
from kws.data.task import load_task
from kws.errors import KwsError
from test_data_validate import clip, run, word, write


@pytest.fixture(scope="module")
def task():
    return load_task("commands")


def test_a_long_recording_is_fitted_around_its_speech_and_the_fit_recorded(task, tmp_path):
    rng = np.random.default_rng(1)
    pcm = np.concatenate([np.zeros(30000, np.int16), word(rng, ms=500, n=12000), np.zeros(20000, np.int16)])
    fitted, conv, reasons = fit_clip(pcm, 16000, "keyword")
    assert not reasons and fitted.size == 16000 and conv[0].startswith(f"fit {pcm.size} -> 16000")
    energy = fitted.astype(float) ** 2
    mid = np.sum(np.arange(16000) * energy) / energy.sum()
    assert abs(mid - 8000) < 400  # the speech is in the middle
    short, conv, _ = fit_clip(word(rng, ms=300, n=6000), 16000, "unknown")  # padded, not stretched
    assert short.size == 16000 and np.count_nonzero(short[:4000]) == 0
    long_word = np.tile(word(rng, ms=1000, n=16000)[4000:12000], 3)  # 1.5 s of speech
    _, _, reasons = fit_clip(long_word, 16000, "keyword")
    assert reasons[0][0] == "speech_too_long"
    kept, _, reasons = fit_clip(long_word, 16000, "unknown")  # other words keep their middle
    assert not reasons and kept.size == 16000


def test_recorded_sources_are_held_to_the_recorded_rules_and_tts_to_the_strict_ones(task, tmp_path):
    assert task.validate.recorded, "the commands task sets [validate.recorded]"
    rng = np.random.default_rng(2)
    noisy = write(tmp_path / "noisy.wav", word(rng, noise=0.02))  # about 12 dB SNR: a real take
    clips = [clip(noisy, key="rec", source="recordings"), clip(noisy, key="tts", speaker="espeak:en+m3")]
    man, q = run(task, tmp_path, clips)
    assert [e["source"] for e in man["entries"]] == ["recordings"]
    assert list(q.values()) == [["low_snr"]]
    assert task.validate.for_source("tts:piper") is task.validate
    assert task.validate.for_source("speech_commands").min_snr_db < task.validate.min_snr_db


def test_words_folder_fits_every_rate_and_length_and_names_speakers(task, tmp_path):
    rng = np.random.default_rng(3)
    root = tmp_path / "digits"
    for spk in ("george", "jackson"):
        for n in range(2):
            write(root / f"7_{spk}_{n}.wav", word(rng, ms=200, n=5000)[: 4000 + 500 * n], rate=8000)
    write(root / "junk_x_0.wav", np.zeros(0, np.int16))  # empty: quarantined, not skipped
    clips = sources.words(root, task, speaker_field=1, source="fsdd")
    assert {c.speaker for c in clips} == {"fsdd:george", "fsdd:jackson", "fsdd:x"}
    assert {c.label for c in clips} == {"_unknown_"}
    man, q = run(task, tmp_path, clips)
    assert len(man["entries"]) == 4 and list(q.values()) == [["empty"]]
    for e in man["entries"]:
        assert any(c.startswith("resample 8000") for c in e["conversions"])
        assert any(c.startswith("fit ") for c in e["conversions"])
    by_file = sources.words(root, task, source="crowd")  # no speaker ids: split by file
    assert len({c.speaker for c in by_file}) == len(by_file)
    with pytest.raises(KwsError, match="no field 3"):
        sources.words(root, task, speaker_field=3)
    with pytest.raises(KwsError, match="not a label"):
        sources.words(root, task, label="alexa")
    with pytest.raises(KwsError, match="no audio files"):
        sources.words(_empty(tmp_path), task)
    with pytest.raises(KwsError, match="not a directory"):
        sources.words(tmp_path / "missing", task)


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir(exist_ok=True)
    (d / "readme.txt").write_text("no audio")
    return d


def test_noise_recordings_become_silence_split_by_file(task, tmp_path):
    rng = np.random.default_rng(4)
    for i in range(12):
        write(
            tmp_path / "noise" / f"room_{i}.wav", np.round(rng.normal(0, 500, 22050 * 3)).astype(np.int16), rate=22050
        )
    clips = sources.noise(tmp_path / "noise", task, cache=tmp_path / "seg", source="rooms")
    assert len(clips) == 12 * 3 and {c.label for c in clips} == {"_silence_"}
    man = ingest(clips, task, tmp_path / "out", workers=1, progress=False)
    split_of_file = {}
    for e in man["entries"]:
        split_of_file.setdefault(e["origin"]["file"], set()).add(e["split"])
    assert all(len(s) == 1 for s in split_of_file.values())  # every segment of a file in one split


def test_generated_music_is_tonal_rhythmic_reproducible_and_ingests_as_silence(task, tmp_path):
    """`kws data music`: pieces with pitches (a spectrum of peaks, not noise's flat one) that
    change on a beat, the same bytes from the same seed, and `kws data ingest noise` takes them."""
    import subprocess
    import sys

    import soundfile as sf
    from scipy.signal import welch

    def kws(*args, check=True):
        r = subprocess.run([sys.executable, "-m", "kws.cli", *args], capture_output=True, text=True)
        assert r.returncode == 0 or not check, r.stderr
        return r

    out = kws("data", "music", "--out", str(tmp_path / "music"), "--files", "3", "--seconds", "4", "--seed", "5")
    assert "3 pieces of generated music" in out.stdout
    files = sorted((tmp_path / "music").glob("*.wav"))
    assert [f.name for f in files] == ["music_5_000.wav", "music_5_001.wav", "music_5_002.wav"]
    kws("data", "music", "--out", str(tmp_path / "again"), "--files", "3", "--seconds", "4", "--seed", "5")
    assert all(f.read_bytes() == (tmp_path / "again" / f.name).read_bytes() for f in files)
    kws("data", "music", "--out", str(tmp_path / "other"), "--files", "1", "--seconds", "4", "--seed", "6")
    assert (tmp_path / "other" / "music_6_000.wav").read_bytes() != files[0].read_bytes()

    def flatness(x):
        _, p = welch(x.astype(np.float64), 16000, nperseg=2048)
        p = p[(p > 0)]
        return float(np.exp(np.mean(np.log(p))) / np.mean(p))

    noise = np.random.default_rng(0).normal(0, 1000, 64000)
    for f in files:
        x, rate = sf.read(str(f), dtype="int16")
        assert rate == 16000 and x.size == 4 * 16000 and np.abs(x).max() < 32767
        assert flatness(x) < 0.2 < 0.5 < flatness(noise)
        # notes change: the short-time spectrum moves from one tenth of a second to the next
        frames = [np.abs(np.fft.rfft(x[i : i + 1600].astype(np.float64))) for i in range(0, x.size - 1600, 1600)]
        moves = [1 - np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9) for a, b in zip(frames, frames[1:])]
        assert max(moves) > 0.3
    clips = sources.noise(tmp_path / "music", task, cache=tmp_path / "seg", source="generated_music")
    assert len(clips) == 3 * 4 and {c.label for c in clips} == {"_silence_"}
    bad = kws("data", "music", "--out", str(tmp_path / "x"), "--files", "0", check=False)
    assert bad.returncode != 0 and "--files must be >= 1" in bad.stderr


def _data_set(task, tmp_path, name, speakers, label="yes", seed=0):
    rng = np.random.default_rng(seed)
    clips = []
    for spk, split in speakers:
        for n in range(2):
            p = write(tmp_path / "src" / name / f"{spk}_{n}.wav", word(rng, ms=400 + 20 * n))
            clips.append(sources.SourceClip(p, label, spk, name, split, None, {"key": f"{spk}_{n}"}))
    bad = write(tmp_path / "src" / name / "bad.wav", np.zeros(0, np.int16))
    clips.append(sources.SourceClip(bad, label, "bad", name, "train", None, {"key": "bad"}))
    ingest(clips, task, tmp_path / name, workers=1, progress=False)
    return tmp_path / name


def test_mix_keeps_sources_splits_and_records_shares_lineage_and_quarantine(task, tmp_path):
    a = _data_set(task, tmp_path, "corpus_a", [("a:1", "train"), ("a:2", "test")])
    b = _data_set(task, tmp_path, "corpus_b", [("b:1", "train"), ("b:2", "train"), ("b:3", "val")], seed=1)
    man = mix([a, b], task, tmp_path / "mixed")
    assert len(man["entries"]) == 4 + 6
    assert man["shares"]["train"] == {
        "corpus_a": {"clips": 2, "share": 0.3333},
        "corpus_b": {"clips": 4, "share": 0.6667},
    }
    assert {(e["source"], e["split"]) for e in man["entries"]} >= {("corpus_a", "test"), ("corpus_b", "val")}
    for e in man["entries"]:  # copied: the mix stands alone
        assert (tmp_path / "mixed" / e["path"]).stat().st_nlink == 1
    lin = json.loads((tmp_path / "mixed" / "lineage.json").read_text())
    assert [i["manifest_hash"] for i in lin["inputs"]] == [
        json.loads((d / "manifest.json").read_text())["hash"] for d in (a, b)
    ]
    assert lin["shares"] == man["shares"]
    q = json.loads((tmp_path / "mixed" / "quarantine.json").read_text())
    assert sorted(x["part"] for x in q) == sorted([str(a), str(b)])  # nothing dropped silently
    from kws.data.manifest import verify

    assert verify(tmp_path / "mixed") == []
    again = mix([a, b], task, tmp_path / "mixed")  # same parts, same data set
    assert again["hash"] == man["hash"]
    few = mix([a, b], task, tmp_path / "capped", caps={"corpus_b": 1})  # at most 1 clip of b per split
    assert few["shares"]["train"]["corpus_b"]["clips"] == 1 and few["shares"]["val"]["corpus_b"]["clips"] == 1
    assert json.loads((tmp_path / "capped" / "lineage.json").read_text())["left_out_by_caps"] == {
        "corpus_b/train": 3,
        "corpus_b/val": 1,
    }
    with pytest.raises(KwsError, match="no part has"):
        mix([a, b], task, tmp_path / "capped2", caps={"fsdd": 3})


def test_mix_refuses_a_speaker_in_two_splits_and_a_source_twice(task, tmp_path):
    a = _data_set(task, tmp_path, "one", [("p:1", "train")])
    b = _data_set(task, tmp_path, "two", [("p:1", "test")], seed=2)
    with pytest.raises(KwsError, match="speaker 'p:1' is in split 'train'.*'test'"):
        mix([a, b], task, tmp_path / "mixed")
    with pytest.raises(KwsError, match="in both"):
        mix([a, a], task, tmp_path / "mixed2")
    with pytest.raises(KwsError, match="at least two"):
        mix([a], task, tmp_path / "mixed3")


def test_accuracy_weighed_as_the_published_test_set():
    recall = {c: 1.0 for c in sources.SPEECH_COMMANDS_TEST_SET}
    assert sources.test_set_weighted(recall) == pytest.approx(1.0)
    recall["_silence_"] = 0.0
    assert sources.test_set_weighted(recall) == pytest.approx(1 - 408 / 4890)
    recall["_silence_"] = None  # a class not measured: no figure
    assert sources.test_set_weighted(recall) is None
    assert sum(sources.SPEECH_COMMANDS_TEST_SET.values()) == 4890


def test_bad_real_sources_are_named(task, tmp_path):
    """A path that does not exist, a root with no label folders, a folder with no audio: clear
    errors naming the path, through the CLI too (exit 2), never an empty data set."""
    import subprocess
    import sys

    (tmp_path / "flat").mkdir()
    write(tmp_path / "flat" / "a_1.wav", word(np.random.default_rng(0)))
    with pytest.raises(KwsError, match="no label folders"):
        sources.recordings(tmp_path / "flat", task)
    with pytest.raises(KwsError, match="not a directory"):
        sources.noise(tmp_path / "nowhere", task, cache=tmp_path / "c")
    for argv in (
        ["words", str(tmp_path / "nowhere")],
        ["recordings", str(tmp_path / "flat")],
        ["speech-commands", str(tmp_path / "nowhere")],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "kws.cli", "data", "ingest", *argv, "--out", str(tmp_path / "o")],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 2 and argv[1] in r.stderr, r.stderr
        assert not (tmp_path / "o" / "manifest.json").exists()


def test_streams_lay_recorded_noise_under_the_speech_where_the_split_has_some(task, tmp_path, monkeypatch):
    """A split with recorded silence gets it as one more kind of background bed; a split whose
    silence is the corpus's generated noise keeps the generated kinds only."""
    from kws.data import noise as noise_mod
    from kws.data import streams

    rng = np.random.default_rng(5)
    clips = [
        sources.SourceClip(
            write(tmp_path / "w" / f"u{i}.wav", word(rng, ms=300 + 10 * i)),
            "_unknown_",
            f"spk{i}",
            "recordings",
            "test",
            None,
            {"key": f"u{i}"},
        )
        for i in range(6)
    ]
    hum = np.round(3000 * np.sin(2 * np.pi * 97 * np.arange(16000) / 16000)).astype(np.int16)
    rec = [
        sources.SourceClip(
            write(tmp_path / "n" / f"room{i}.wav", hum),
            "_silence_",
            "room",
            "recorded_noise",
            "test",
            None,
            {"key": f"room{i}"},
        )
        for i in range(1)
    ]
    used = []
    real_background = noise_mod.background

    def spy(kind, *a, **k):
        used.append(kind)
        return real_background(kind, *a, **k)

    monkeypatch.setattr(noise_mod, "background", spy)
    ingest(clips + rec, task, tmp_path / "with", workers=1, progress=False)
    streams.make_stream(tmp_path / "with", task, tmp_path / "s1", kind="negative", minutes=3, split="test")
    assert "recorded" in used
    used.clear()
    ingest(clips, task, tmp_path / "without", workers=1, progress=False)
    streams.make_stream(tmp_path / "without", task, tmp_path / "s2", kind="negative", minutes=3, split="test")
    assert used and "recorded" not in used
