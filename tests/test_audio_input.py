"""Bad audio gets a clear error naming the problem (and the file); nothing is converted silently."""

import numpy as np
import pytest
import soundfile as sf

from kws.audio import read_wav
from kws.errors import AudioFormatError


@pytest.mark.parametrize(
    "pcm,rate,words",
    [
        (np.zeros(1000, np.int16), 8000, "sample rate is 8000 Hz"),
        (np.zeros((1000, 2), np.int16), 16000, "mono"),
        (np.zeros((1, 1000), np.int16), 16000, "1-D mono"),
        (np.zeros(1000, np.float32), 16000, "must be int16, got float32"),
        (np.full(1000, np.nan), 16000, "contains NaN"),
        (np.zeros(1000, np.int32), 16000, "got int32"),
        (np.zeros(0, np.int16), 16000, "empty"),
    ],
)
def test_bad_arrays_are_refused(frontend, pcm, rate, words):
    with pytest.raises(AudioFormatError, match=words):
        frontend.features(pcm, sample_rate=rate)
    if rate == 16000 and pcm.size:  # an empty chunk is a valid (no-op) stream push
        with pytest.raises(AudioFormatError, match=words):
            frontend.stream().push(pcm)


def test_bad_files_name_the_file(tmp_path):
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((1600, 2), np.int16), 16000, subtype="PCM_16")
    f32 = tmp_path / "float.wav"
    sf.write(f32, np.zeros(1600, np.float32), 16000, subtype="FLOAT")
    r8k = tmp_path / "r8k.wav"
    sf.write(r8k, np.zeros(1600, np.int16), 8000, subtype="PCM_16")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    for path, words in [
        (stereo, "2 channels"),
        (f32, "16-bit PCM"),
        (r8k, "8000 Hz"),
        (junk, "not a readable"),
        (empty, "not a readable"),
        (tmp_path / "missing.wav", "does not exist"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(AudioFormatError, match=words) as e:
            read_wav(path, expected_rate=16000)
        assert str(path) in str(e.value)


def test_good_file_round_trips(tmp_path, rng):
    from kws.audio import write_wav

    pcm = rng.integers(-32768, 32768, 4000).astype(np.int16)
    write_wav(tmp_path / "a.wav", pcm, 16000)
    np.testing.assert_array_equal(read_wav(tmp_path / "a.wav", expected_rate=16000), pcm)


def test_kws_features_refuses_what_it_cannot_read_and_labels_what_it_prints(tmp_path):
    """A 2 GiB (sparse) WAV is refused from its header at once, not read; a missing file and a
    directory say so; without --out every row says its time and every column its cepstrum."""
    import subprocess
    import sys
    import time

    from kws.cli import main

    big = tmp_path / "big.wav"
    sf.write(big, np.zeros(16000, np.int16), 16000, subtype="PCM_16")
    with open(big, "r+b") as f:
        f.truncate(2 * 1024**3)
        f.seek(4)
        f.write((2 * 1024**3 - 8).to_bytes(4, "little"))
        f.seek(40)
        f.write((2 * 1024**3 - 44).to_bytes(4, "little"))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "kws.cli", "features", str(big)], capture_output=True, text=True)
    assert r.returncode == 2 and "s long, more than the 3600 s this command reads" in r.stderr
    assert time.monotonic() - t0 < 30
    assert main(["features", str(tmp_path / "nope.wav")]) == 2
    assert main(["features", str(tmp_path)]) == 2
    ok = tmp_path / "ok.wav"
    sf.write(ok, (np.sin(np.arange(8000) * 0.3) * 8000).astype(np.int16), 16000, subtype="PCM_16")
    r = subprocess.run([sys.executable, "-m", "kws.cli", "features", str(ok)], capture_output=True, text=True)
    lines = r.stdout.splitlines()
    assert (
        r.returncode == 0
        and lines[0].startswith(f"# {ok}: 24 frames")
        and lines[1].split()[:3] == ["#", "time_s", "c0"]
    )
    assert len(lines) == 2 + 24 and lines[3].split()[0] == "0.02" and len(lines[3].split()) == 14
