"""Golden vectors: stored once, read by pytest here and by the C unit test (tests/c)."""

import json
import subprocess

import numpy as np

from kws.frontend import fixed
from kws.paths import REPO_ROOT
from kws.reference.golden import DEFAULT_DIR, load_case, read_index


def test_golden_vectors_are_for_this_spec(fe_spec):
    spec_hash, cases = read_index(DEFAULT_DIR)
    assert spec_hash == fe_spec.hash32, "golden vectors are stale: run `kws golden`"
    assert json.loads((DEFAULT_DIR / "manifest.json").read_text())["frontend_hash"] == fe_spec.hash
    names = {c[0] for c in cases}
    assert {
        "speech_espeak",
        "speech_flite",
        "silence",
        "square_fullscale",
        "clipped_sine",
        "dc_offset",
        "white_noise",
        "min_value",
    } <= names


def test_python_reference_reproduces_golden(fe_spec):
    _, cases = read_index(DEFAULT_DIR)
    for name, samples, frames in cases:
        c = load_case(DEFAULT_DIR, name)
        assert c["pcm"].size == samples
        cep = fixed.cepstra(c["pcm"], fe_spec)
        assert cep.shape[0] == frames
        np.testing.assert_array_equal(cep.ravel(), c["cep"], err_msg=name)
        np.testing.assert_array_equal(fixed.quantize_cepstra(cep, fe_spec).ravel(), c["feat"], err_msg=name)


def test_c_unit_test_passes_on_golden(native):
    # `native` built build/host/test_frontend (ASan + UBSan) with the same Makefile.
    r = subprocess.run(
        [str(REPO_ROOT / "build" / "host" / "test_frontend"), str(DEFAULT_DIR)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stdout + r.stderr
    _, cases = read_index(DEFAULT_DIR)
    assert f"{len(cases)} passed, 0 failed" in r.stdout


def test_c_unit_test_fails_on_a_corrupted_vector(native, tmp_path):
    """The C test can fail: flip one expected integer and it must report it."""
    import shutil

    shutil.copytree(DEFAULT_DIR, tmp_path / "g")
    feat = tmp_path / "g" / "speech_espeak.feat"
    data = bytearray(feat.read_bytes())
    data[100] = (data[100] + 1) % 256
    feat.write_bytes(bytes(data))
    r = subprocess.run(
        [str(REPO_ROOT / "build" / "host" / "test_frontend"), str(tmp_path / "g")], capture_output=True, text=True
    )
    assert r.returncode == 1 and "speech_espeak" in r.stderr and "1 failed" in r.stdout
