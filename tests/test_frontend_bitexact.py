"""The C front end (the firmware's own code, host build) equals the Python reference, bit for bit.

Every cepstrum integer and every int8 feature, on TTS speech from every engine, silence,
full-scale squares, clipping, DC, noise, impulses, chirps and random signals, fed to the C
streaming API in random chunk sizes.
"""

import subprocess
import tomllib

import numpy as np
import pytest

from kws.codegen import frontend as cg
from kws.frontend import fixed
from kws.paths import REPO_ROOT
from kws.reference.native import NativeFrontend
from kws.reference.signals import corner_cases
from kws.spec import DEFAULT_SPEC_PATH, parse_spec


def _assert_equal(native, fe_spec, pcm, chunks=None, what=""):
    cep_py = fixed.cepstra(pcm, fe_spec)
    feat_py = fixed.quantize_cepstra(cep_py, fe_spec)
    cep_c, feat_c = native.run(pcm, chunks)
    assert cep_c.shape == cep_py.shape, what
    bad = np.argwhere(cep_c != cep_py)
    assert bad.size == 0, f"{what}: {len(bad)} cepstra differ, first at frame/coef {bad[0]}"
    np.testing.assert_array_equal(feat_c, feat_py, err_msg=what)
    return cep_py.shape[0]


def test_speech_from_every_engine(native, fe_spec, speech):
    frames = sum(_assert_equal(native, fe_spec, pcm, what=name) for name, pcm in speech.items())
    assert frames > 700


def test_corner_cases(native, fe_spec):
    cases = corner_cases(3 * fe_spec.sample_rate_hz, fe_spec.sample_rate_hz, seed=7)
    frames = sum(_assert_equal(native, fe_spec, pcm, what=name) for name, pcm in cases.items())
    assert frames >= 9 * 149


@pytest.mark.parametrize("scale", [1, 37, 1000, 32767])
def test_random_signals_at_every_level(native, fe_spec, rng, scale):
    # Gaussian noise, random walks (strong low end) and sparse bursts at a range of levels.
    n = 2 * fe_spec.sample_rate_hz
    gauss = np.clip(np.round(rng.normal(0, scale / 3, n)), -32768, 32767)
    walk = np.cumsum(rng.normal(0, 1, n))
    walk = np.round(walk / max(1e-9, np.abs(walk).max()) * scale)
    burst = np.where(rng.random(n) < 0.01, rng.integers(-scale, scale + 1, n), 0)
    for name, x in {"gauss": gauss, "walk": walk, "burst": burst}.items():
        _assert_equal(native, fe_spec, x.astype(np.int16), what=f"{name}@{scale}")


def test_random_chunk_boundaries(native, fe_spec, speech, rng):
    """Chunk sizes from 1 sample to several frames never change a single integer."""
    pcm = np.concatenate(list(speech.values()))
    for _ in range(5):
        chunks = rng.integers(1, 2000, size=rng.integers(1, 50))
        _assert_equal(native, fe_spec, pcm, chunks=chunks, what=f"chunks {chunks[:5]}...")
    _assert_equal(native, fe_spec, pcm, chunks=[1], what="one sample at a time")
    _assert_equal(native, fe_spec, pcm, chunks=[fe_spec.hop_samples], what="hop-sized blocks")


def test_python_streaming_equals_whole_clip(frontend, fe_spec, speech, rng):
    pcm = np.concatenate(list(speech.values()))
    whole = frontend.features(pcm, sample_rate=fe_spec.sample_rate_hz)
    for _ in range(5):
        st = frontend.stream()
        out, pos = [], 0
        while pos < pcm.size:
            n = int(rng.integers(0, 3000))
            out.append(st.push(pcm[pos : pos + n]))
            pos += n
        np.testing.assert_array_equal(np.concatenate(out), whole)
        assert st.frames_out == whole.shape[0] and st.samples_in == pcm.size


def test_short_input_yields_no_frames(native, frontend, fe_spec):
    pcm = np.zeros(fe_spec.window_samples - 1, dtype=np.int16)
    assert frontend.features(pcm, sample_rate=fe_spec.sample_rate_hz).shape == (0, fe_spec.num_cepstra)
    assert native.run(pcm)[0].shape == (0, fe_spec.num_cepstra)


@pytest.mark.parametrize(
    "changes",
    [{"window": "hamming", "window_samples": 401}, {"window_samples": 255, "hop_samples": 160, "fft_size": 256}],
)
def test_c_front_end_of_other_specs(tmp_path, speech, rng, changes):
    """Another window, an odd window length, another FFT size: the C front end generated and
    compiled for that spec still equals the Python reference (the stored half window and
    quarter-wave twiddles mirror correctly whatever the sizes)."""
    raw = tomllib.loads(DEFAULT_SPEC_PATH.read_text())
    raw["frontend"].update(changes)
    other = parse_spec(raw, source=str(tmp_path / "other.toml"))
    for name, text in cg.render(other).items():
        (tmp_path / name).write_text(text)
    fw = REPO_ROOT / "firmware"
    lib = tmp_path / "libkws_fe.so"
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-O2",
            "-fPIC",
            "-shared",
            f"-I{tmp_path}",
            f"-I{fw / 'core'}",
            f"-I{fw / 'generated'}",
            "-o",
            str(lib),
            str(fw / "core" / "kws_frontend.c"),
            str(fw / "core" / "kws_monitor.c"),
            str(fw / "ports" / "native" / "kws_fe_batch.c"),
            str(tmp_path / "kws_fe_tables.c"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    fe = other.frontend
    native = NativeFrontend(fe, lib)
    pcm = np.concatenate([*speech.values(), rng.integers(-32768, 32768, fe.sample_rate_hz).astype(np.int16)])
    assert _assert_equal(native, fe, pcm, chunks=[97], what=str(changes)) > 300
