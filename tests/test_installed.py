"""`pip install .` into a fresh venv outside the checkout gives a `kws` that works on its own for
what needs only the package (the spec, features, a data set, a model's accuracy given by path,
the front end's C) and finds the firmware and models through the one root setting, KWS_ROOT, for
the rest — and says so when it is missing."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from kws.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # not in `make check`


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the dependencies (TensorFlow and the rest) from the project's venv; kws itself from a wheel of the checkout
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            str(REPO_ROOT),
        ],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert r.returncode == 0, r.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("KWS_ROOT", "PYTHONPATH", "VIRTUAL_ENV")}
    work = root / "work"
    work.mkdir()

    def kws(*args, root_setting=None):
        e = dict(env, **({"KWS_ROOT": str(root_setting)} if root_setting else {}))
        return subprocess.run(
            [str(venv / "bin" / "kws"), *map(str, args)], capture_output=True, text=True, cwd=work, env=e
        )

    return kws, venv, work


def test_the_installed_package_is_not_the_checkout(installed):
    kws, venv, work = installed
    r = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import kws.paths, kws.spec; print(kws.spec.__file__); print(kws.paths.REPO_ROOT)",
        ],
        capture_output=True,
        text=True,
        cwd=work,
        env={k: v for k, v in os.environ.items() if k != "KWS_ROOT"},
    )
    spec_file, root = r.stdout.split()
    assert str(venv) in spec_file and root == str(work)


def test_installed_kws_works_alone_and_through_kws_root(installed):
    from kws.audio import write_wav
    from kws.data import tts

    kws, venv, work = installed
    r = kws("spec")
    assert r.returncode == 0 and "mfcc13-q" in r.stdout
    for i, (w, v) in enumerate([("yes", "en+m3"), ("no", "en+f2"), ("stop", "en+m1"), ("go", "en+f4")]):
        write_wav(
            work / "rec" / w / f"ana_{i}.wav",
            np.concatenate([np.zeros(3000, np.int16), tts.espeak(w, voice=v), np.zeros(3000, np.int16)]),
            16000,
        )
    r = kws("features", work / "rec" / "yes" / "ana_0.wav", "--out", work / "f.npy")
    assert r.returncode == 0 and np.load(work / "f.npy").shape[1] == 13
    r = kws("data", "ingest", "recordings", work / "rec", "--out", work / "data")
    assert r.returncode in (0, 3), r.stderr
    r = kws(
        "eval",
        "--model",
        REPO_ROOT / "models" / "commands",
        "--clips",
        work / "data",
        "--split",
        "all",
        "--out",
        work / "eval",
    )
    assert r.returncode == 0 and (work / "eval" / "clips.json").exists(), r.stderr
    r = kws("codegen", "frontend", "--out", work / "gen")
    assert r.returncode == 0 and (work / "gen" / "kws_fe_tables.c").exists(), r.stderr
    assert (work / "gen" / "kws_fe_tables.c").read_bytes() == (
        REPO_ROOT / "firmware" / "generated" / "kws_fe_tables.c"
    ).read_bytes()
    # the firmware is not in the package: a clear error naming the setting, then the setting works
    tfl = REPO_ROOT / "models" / "commands" / "model.tflite"
    r = kws("budget", tfl)
    assert r.returncode == 2 and "set KWS_ROOT to a checkout of the repository" in r.stderr, r.stderr
    r = kws("budget", tfl, root_setting=REPO_ROOT)
    assert r.returncode == 0 and "total" in r.stdout, r.stderr
