"""Fixed-point error against a float64 MFCC of the same definition.

Stated bound (docs/frontend.md): on TTS speech, SNR >= 60 dB for every one of the 13
coefficients (CMSIS-DSP's q15 MFCC gate is 34 dB; the product goal is 40 dB). On clipped,
noisy and square-wave signals the absolute error stays below 0.05 (natural-log units).
"""

import numpy as np

from kws.reference.signals import corner_cases

SPEECH_SNR_DB = 60.0


def snr_per_coefficient(fixed_c, float_c):
    err = fixed_c - float_c
    return 10 * np.log10((float_c**2).sum(0) / np.maximum((err**2).sum(0), 1e-30))


def test_speech_snr_per_coefficient(frontend, fe_spec, speech):
    rate = fe_spec.sample_rate_hz
    fx = np.concatenate([frontend.cepstra_to_float(frontend.cepstra(p, sample_rate=rate)) for p in speech.values()])
    fl = np.concatenate([frontend.cepstra_float(p, sample_rate=rate) for p in speech.values()])
    snr = snr_per_coefficient(fx, fl)
    assert snr.shape == (13,)
    assert snr.min() >= SPEECH_SNR_DB, f"per-coefficient SNR {np.round(snr, 1)}"


def test_broadband_signals_stay_close(frontend, fe_spec):
    rate = fe_spec.sample_rate_hz
    for name in ("clipped_sine", "white_noise", "quiet_noise", "square_fullscale", "silence"):
        pcm = corner_cases(rate, rate)[name]
        err = frontend.cepstra_to_float(frontend.cepstra(pcm, sample_rate=rate)) - frontend.cepstra_float(
            pcm, sample_rate=rate
        )
        assert np.abs(err).max() < 0.05, name


def test_int8_features_use_the_range_on_speech(frontend, fe_spec, speech):
    """The output quantizer's offsets and steps suit speech: little clipping, most of the range used."""
    q = np.concatenate([frontend.features(p, sample_rate=fe_spec.sample_rate_hz) for p in speech.values()])
    clipped = np.mean((q == 127) | (q == -128))
    assert clipped < 0.005, f"{clipped:.2%} of speech features clip"
    assert int(q.max()) - int(q.min()) > 128
