"""Offline speech synthesis with the Debian TTS engines (espeak-ng, flite).

Each call returns int16 PCM at the requested rate. The engines' native rates (espeak-ng
22050 Hz, flite 16 kHz or 8 kHz) are converted explicitly with scipy's polyphase resampler,
clipped to int16 (never silently). The data pipeline (kws.data) builds on these.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from kws.errors import KwsError


def resample_int16(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of int16 audio, rounded and clipped back to int16."""
    if rate_in == rate_out:
        return np.asarray(pcm, dtype=np.int16)
    r = Fraction(rate_out, rate_in)
    y = resample_poly(np.asarray(pcm, dtype=np.float64), r.numerator, r.denominator)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def _run_to_wav(cmd: list[str], wav: Path, what: str) -> tuple[np.ndarray, int]:
    if shutil.which(cmd[0]) is None:
        raise KwsError(f"{cmd[0]} is not installed (Debian package {cmd[0]}; `make setup` installs it)")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 or not wav.exists():
        raise KwsError(f"{what} failed: {r.stderr.strip()}")
    data, rate = sf.read(str(wav), dtype="int16", always_2d=False)
    return data, rate


def espeak(text: str, *, voice: str = "en+m3", speed: int = 160, pitch: int = 50, rate: int = 16000) -> np.ndarray:
    """Speak ``text`` with espeak-ng (``voice`` in file-name form, e.g. ``en+f2``)."""
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "out.wav"
        data, r = _run_to_wav(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
                              wav, f"espeak-ng {voice!r} {text!r}")
    return resample_int16(data, r, rate)


def flite(text: str, *, voice: str = "slt", rate: int = 16000) -> np.ndarray:
    """Speak ``text`` with flite (voices kal16, awb, rms, slt)."""
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "out.wav"
        data, r = _run_to_wav(["flite", "-voice", voice, "-t", text, "-o", str(wav)], wav, f"flite {voice!r} {text!r}")
    return resample_int16(data, r, rate)
