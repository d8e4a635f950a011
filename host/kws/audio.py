"""Reading and checking PCM audio. The front end never converts or resamples silently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from kws.errors import AudioFormatError


def check_pcm(pcm, *, sample_rate: int, expected_rate: int, source: str | None = None) -> np.ndarray:
    """Return ``pcm`` as a contiguous 1-D int16 array, or raise :class:`AudioFormatError`.

    Parameters
    ----------
    pcm : array_like
        Mono samples. Must already be int16: floats are refused (with a note when they hold
        NaN), never rescaled.
    sample_rate : int
        Rate of ``pcm`` in Hz.
    expected_rate : int
        Rate the spec requires. A mismatch is an error, never a silent resample.
    source : str, optional
        File or stream name to put in error messages.
    """
    if sample_rate != expected_rate:
        raise AudioFormatError(f"sample rate is {sample_rate} Hz, the front end needs {expected_rate} Hz "
                               "(resample explicitly, e.g. `kws data` ingestion records it in lineage)", source)
    arr = np.asarray(pcm)
    if arr.ndim != 1:
        if arr.ndim == 2 and 1 in arr.shape:
            raise AudioFormatError(f"audio has shape {arr.shape}; pass a 1-D mono array", source)
        raise AudioFormatError(f"audio must be mono (1-D); got shape {arr.shape}", source)
    if arr.dtype != np.int16:
        if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
            raise AudioFormatError(f"audio contains NaN and is {arr.dtype}, not int16", source)
        raise AudioFormatError(f"audio samples must be int16, got {arr.dtype}", source)
    if arr.size == 0:
        raise AudioFormatError("audio is empty", source)
    return np.ascontiguousarray(arr)


def read_wav(path: str | Path, *, expected_rate: int) -> np.ndarray:
    """Read a mono 16-bit PCM WAV at ``expected_rate`` into int16, or raise naming the file."""
    path = Path(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioFormatError(f"not a readable audio file ({e})", str(path)) from e
    if info.channels != 1:
        raise AudioFormatError(f"audio must be mono; file has {info.channels} channels", str(path))
    if info.subtype != "PCM_16":
        raise AudioFormatError(f"audio must be 16-bit PCM; file is {info.subtype}", str(path))
    data, rate = sf.read(str(path), dtype="int16", always_2d=False)
    return check_pcm(data, sample_rate=rate, expected_rate=expected_rate, source=str(path))


def write_wav(path: str | Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write int16 mono PCM atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sf.write(str(tmp), np.asarray(pcm, dtype=np.int16), sample_rate, subtype="PCM_16", format="WAV")
    tmp.replace(path)
