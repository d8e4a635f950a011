"""The peer wake-word engines (openWakeWord, PocketSphinx) through the harness that scores them
exactly as the product is scored: real 'alexa' recordings are found, other real words and silence
are not, and a stricter threshold never finds more. Skips without the recordings beside the
checkout, or without the peers (make setup installs them)."""

import numpy as np
import pytest
import soundfile as sf

from kws.evaluate import peers
from kws.evaluate.scoring import score
from kws.paths import REPO_ROOT

SPEECH = REPO_ROOT.parent / "shared" / "speech"
pytestmark = pytest.mark.skipif(
    not (SPEECH / "picovoice" / "alexa").is_dir(),
    reason="the real-speech recordings (shared/speech) are not beside the checkout",
)


def _stream(names_words):
    """Recordings one after another with 1 s of silence between; the label rows of the alexa takes."""
    parts, truth, t = [], [], 16000
    parts.append(np.zeros(16000, np.int16))
    for path, is_kw in names_words:
        x, rate = sf.read(str(path), dtype="int16")
        assert rate == 16000
        parts += [x, np.zeros(16000, np.int16)]
        if is_kw:
            truth.append(("alexa", t, t + x.size))
        t += x.size + 16000
    return np.concatenate(parts), truth


@pytest.fixture(scope="module")
def stream():
    kw = [SPEECH / "picovoice" / "alexa" / f for f in ("0.flac", "1.flac", "100.flac")]
    other = [
        SPEECH / "picovoice" / "computer" / sorted(p.name for p in (SPEECH / "picovoice" / "computer").iterdir())[0],
        SPEECH
        / "speech_commands"
        / "left"
        / sorted(p.name for p in (SPEECH / "speech_commands" / "left").iterdir())[0],
    ]
    return _stream([(p, True) for p in kw] + [(p, False) for p in other])


def test_openwakeword_finds_the_real_alexa_takes_and_nothing_else(stream):
    why = peers.openwakeword_available()
    if why:
        pytest.skip(why)
    pcm, truth = stream
    ends, scores = peers.openwakeword_scores(pcm)
    assert ends[0] == peers.OWW_HOP and np.all(np.diff(ends) == peers.OWW_HOP)  # pre-roll left out
    s = score(peers.detections(ends, scores, 0.5, "alexa"), truth, total_samples=pcm.size, rate=16000)
    assert s.detected == 3 and s.false_accepts == 0
    strict = score(peers.detections(ends, scores, 0.9999, "alexa"), truth, total_samples=pcm.size, rate=16000)
    assert strict.detected <= s.detected
    silent, _ = _stream([])
    _, quiet = peers.openwakeword_scores(silent)
    assert quiet.max() < 0.5


def test_pocketsphinx_keyphrase_spotting_scores_like_the_product(stream):
    why = peers.pocketsphinx_available()
    if why:
        pytest.skip(why)
    pcm, truth = stream
    found = [
        score(peers.pocketsphinx_detections(pcm, "alexa", t), truth, total_samples=pcm.size, rate=16000)
        for t in (1e-30, 1e-10, 1e-2)
    ]
    assert found[0].detected >= 2
    assert [f.detected for f in found] == sorted((f.detected for f in found), reverse=True)
    assert all(label == "alexa" for label, _ in peers.pocketsphinx_detections(pcm, "alexa", 1e-30))
