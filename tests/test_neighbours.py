"""Phonetic neighbours (kws.data.neighbours, `kws data near-misses`): real espeak-ng pronunciations."""

import pytest

from kws.data.neighbours import neighbours, phonemes, transcribe
from kws.errors import KwsError


def test_phonemes_keep_long_vowels_affricates_and_diphthongs_whole():
    assert phonemes("mˈɑːɹdʒɪn") == ("m", "ɑː", "ɹ", "dʒ", "ɪ", "n")
    assert phonemes("ɡɹˈoʊ") == ("ɡ", "ɹ", "oʊ")
    assert phonemes("tʃˈeɪf") == ("tʃ", "eɪ", "f")


def test_the_nearest_words_in_sound_come_first_and_label_noise_is_left_out():
    words = [
        "margin",
        "marvel",
        "carving",
        "table",
        "window",
        "marvins",
        "stop",
        "top",
        "step",
        "know",
        "snow",
        "nor",
        "note",
    ]
    got = neighbours(["marvin", "stop", "no"], words, top=4)
    marvin = [n.word for n in got["marvin"]]
    assert set(marvin[:4]) == {"margin", "marvel", "carving", "marvins"}
    assert (
        got["marvin"][0].distance < 0.5 < max(n.distance for n in neighbours(["marvin"], ["table", "window"])["marvin"])
    )
    assert [n.word for n in got["stop"]][:2] in (["step", "top"], ["top", "step"])
    assert "know" not in [n.word for n in got["no"]]  # a homophone (distance 0) is the same sound under two labels
    assert {"nor", "note"} <= {n.word for n in got["no"]}
    assert all(a.distance <= b.distance for a, b in zip(got["stop"], got["stop"][1:]))


def test_transcription_failures_are_named():
    with pytest.raises(KwsError, match="must not contain newlines or full stops"):
        transcribe(["a.b"])
    assert len(transcribe(["yes", "turn left"])) == 2
