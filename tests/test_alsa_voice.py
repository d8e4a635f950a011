"""Recorded human speech (alsa-utils' speaker-test voice) as a labelled evaluation stream: the
labels sit on the recorded words, the silences between recordings are silent, the format is the
one kws eval reads, and a recording other than the one annotated is refused."""

import shutil

import numpy as np
import pytest

from kws.audio import read_wav
from kws.data import alsa_voice
from kws.data.streams import read_column, read_labels, read_words
from kws.errors import KwsError

LABELS = ("_silence_", "_unknown_", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


def _db(x):
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1)


def test_stream_labels_sit_on_the_recorded_words(tmp_path):
    s = alsa_voice.make_stream(tmp_path, LABELS)
    pcm = read_wav(tmp_path / "alsa_voice.wav", expected_rate=16000)
    assert s["seconds"] == pcm.size / 16000 and s["keywords"] == 6
    kws = read_labels(tmp_path / "alsa_voice.labels.csv")
    assert sorted(k for k, _, _ in kws) == ["left"] * 3 + ["right"] * 3
    assert set(read_column(tmp_path / "alsa_voice.labels.csv", "voice")) == {alsa_voice.VOICE}
    words = read_words(tmp_path / "alsa_voice.words.csv")
    assert len(words) == s["speech_events"] == 16
    assert {(w["label"], w["start_sample"], w["end_sample"]) for w in words if w["label"] != "_unknown_"} == set(kws)
    for w in words:  # every labelled word is speech, loud next to the gaps
        assert _db(pcm[w["start_sample"] : w["end_sample"]]) > 55, w
    gap = int(alsa_voice.GAP_S * 16000)
    assert not pcm[:gap].any() and not pcm[-gap:].any()
    for a, b in zip(words, words[1:]):  # words in order, never overlapping
        assert a["end_sample"] <= b["start_sample"]


def test_another_recording_is_refused_and_a_missing_package_named(tmp_path):
    d = tmp_path / "alsa"
    shutil.copytree(alsa_voice.ALSA_DIR, d)
    assert len(alsa_voice.recordings(d)) == len(alsa_voice.PHRASES)
    raw = bytearray((d / "Rear_Left.wav").read_bytes())
    raw[-1] ^= 1
    (d / "Rear_Left.wav").write_bytes(bytes(raw))
    with pytest.raises(KwsError, match="Rear_Left.wav: not the recording"):
        alsa_voice.make_stream(tmp_path / "out", LABELS, alsa_dir=d)
    assert not (tmp_path / "out" / "alsa_voice.wav").exists()
    with pytest.raises(KwsError, match="alsa-utils"):
        alsa_voice.recordings(tmp_path / "nowhere")
