"""The keyword spotter on the emulated Cortex-M4F equals the host reference pipeline (Python
front end -> TFLM -> Python detector) on a TTS stream: every window's int8 logits, every event
(class, score, sample index)."""

import numpy as np
import pytest

from kws.device.qemu import run_app
from kws.paths import REPO_ROOT
from kws.reference.pipeline import ReferencePipeline

MODEL = REPO_ROOT / "models" / "commands"


@pytest.fixture(scope="module")
def stream():
    from kws.data import tts

    rng = np.random.default_rng(3)
    parts = []
    for w, v in [
        ("yes", "en+m3"),
        ("stop", "en+f2"),
        ("left", "en-us+m1"),
        ("down", "en+klatt2"),
        ("no", "en+f4"),
        ("right", "en-gb-x-rp+m7"),
    ]:
        parts += [np.zeros(int(rng.integers(4000, 12000)), np.int16), tts.espeak(w, voice=v)]
    parts.append(tts.flite("go, then off", voice="slt"))
    for w in ("down", "up", "go", "on"):  # Piper's voice trains the released model: the detector fires
        parts += [np.zeros(int(rng.integers(4000, 12000)), np.int16), tts.piper(w)]
    x = np.concatenate(parts + [np.zeros(16000, np.int16)]).astype(np.int32)
    x += rng.integers(-40, 41, x.size)
    return x.clip(-32768, 32767).astype(np.int16)


@pytest.mark.skipif(not (MODEL / "model.tflite").exists(), reason="no released commands model")
def test_device_equals_host_reference_window_by_window(stream, spec, tmp_path):
    ref = ReferencePipeline(spec, MODEL)
    logits, events = ref.run(stream)
    dev = run_app(stream, tmp_path)
    assert int(dev["hello"]["fe"], 16) == spec.frontend.hash32
    n = logits.shape[0]
    assert n > 50
    got = dev["logits"].reshape(-1, logits.shape[1])
    assert got.shape == logits.shape
    bad = np.nonzero(np.any(got != logits, axis=1))[0]
    assert bad.size == 0, f"{bad.size} of {n} windows differ (first {bad[:5]})"
    assert dev["events"] == [(e.label, e.score_q, e.sample) for e in events]
    assert len(events) >= 3  # the stream has keywords; the detector fires
    assert dev["stats"]["runs"] == n and dev["stats"]["samples"] == stream.size
    from kws.frontend import Frontend
    from kws.reference.monitor import stats_of

    feats = Frontend(spec.frontend).features(stream, sample_rate=spec.frontend.sample_rate_hz)
    assert dev["monitor"].to_bytes() == stats_of(feats, spec.monitor).to_bytes()  # drift statistics too


@pytest.mark.skipif(not (MODEL / "model.tflite").exists(), reason="no released commands model")
def test_device_equals_host_on_recorded_human_speech(spec, tmp_path):
    """alsa-utils' speaker-test voice (recorded, 48 kHz, resampled): real human speech rather than
    synthesis through the firmware in QEMU and the host reference, window by window and event by
    event (the released thresholds; kws.data.alsa_voice)."""
    from kws.audio import read_wav
    from kws.data.alsa_voice import make_stream

    ref = ReferencePipeline(spec, MODEL)
    make_stream(tmp_path / "s", ref.labels)
    pcm = read_wav(tmp_path / "s" / "alsa_voice.wav", expected_rate=spec.frontend.sample_rate_hz)
    logits, events = ref.run(pcm)
    dev = run_app(pcm, tmp_path / "q")
    got = dev["logits"].reshape(-1, logits.shape[1])
    assert got.shape == logits.shape and logits.shape[0] > 250
    bad = np.nonzero(np.any(got != logits, axis=1))[0]
    assert bad.size == 0, f"{bad.size} of {logits.shape[0]} windows differ (first {bad[:5]})"
    assert dev["events"] == [(e.label, e.score_q, e.sample) for e in events]
