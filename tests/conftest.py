"""Shared fixtures: the spec, the C front end (real host build), and a TTS speech corpus."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from kws.frontend import Frontend
from kws.spec import load_spec

# Speech from every offline engine: espeak-ng voices x variants x speed x pitch, and flite voices.
ESPEAK = [
    ("yes", "en+m3", 160, 50),
    ("no, turn left now", "en+f2", 140, 70),
    ("stop the music", "en+klatt4", 180, 40),
    ("go forward", "en+m1", 120, 30),
    ("marvin, wake up", "en-us+f4", 170, 60),
    ("down. up. off. on.", "en+m7", 150, 55),
    ("right here, seven", "en+croak", 165, 45),
    ("left", "en+whisper", 150, 50),
]
FLITE = [("yes, go", "slt"), ("turn right, then stop", "awb"), ("on and off", "rms"), ("no, down", "kal16")]


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="session")
def two_d_model(spec):
    """The DS-CNN family's 2-D form (MLPerf Tiny's shape: a 10x4 first kernel with stride 2, 3x3
    depthwise kernels, padding along cepstra), which the spec's temporal network is not: the kernels'
    3x3 fast paths and the folded PAD are tested on it."""
    import dataclasses

    return dataclasses.replace(
        spec.model, first_kernel=(10, 4), first_stride=(2, 2), cepstra_padding="same", block_kernel=(3, 3)
    )


@pytest.fixture(scope="session")
def fe_spec(spec):
    return spec.frontend


@pytest.fixture(scope="session")
def frontend(fe_spec):
    return Frontend(fe_spec)


@pytest.fixture(scope="session")
def native(fe_spec):
    """The firmware's C front end compiled for the host by the firmware Makefile."""
    from kws.reference.native import NativeFrontend, build_host

    return NativeFrontend(fe_spec, build_host())


@pytest.fixture(scope="session")
def qemu_images():
    """The firmware images for QEMU, built once per session by the product's one build call."""
    from kws.paths import BUILD_DIR, make_firmware

    make_firmware("qemu", what="the QEMU firmware images")
    return BUILD_DIR / "qemu"


@pytest.fixture(scope="session")
def speech(fe_spec) -> dict[str, np.ndarray]:
    """Named int16 TTS clips at the spec rate (espeak-ng and flite, several voices)."""
    from kws.data import tts

    rate = fe_spec.sample_rate_hz
    clips = {}
    for text, voice, speed, pitch in ESPEAK:
        clips[f"espeak/{voice}/{text}"] = tts.espeak(text, voice=voice, speed=speed, pitch=pitch, rate=rate)
    for text, voice in FLITE:
        clips[f"flite/{voice}/{text}"] = tts.flite(text, voice=voice, rate=rate)
    return clips


@pytest.fixture
def rng(request):
    """Seeded per test, so a failure reproduces."""
    # crc32, not hash(): str hashes are salted per process, so hash() gave every run other data
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
