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
        raise AudioFormatError(
            f"sample rate is {sample_rate} Hz, the front end needs {expected_rate} Hz "
            "(resample explicitly, e.g. `kws data` ingestion records it in lineage)",
            source,
        )
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


def read_wav(path: str | Path, *, expected_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Read a mono 16-bit PCM WAV at ``expected_rate`` into int16, or raise naming the file and
    every problem it has, with the fix. ``max_seconds``: refuse longer files before reading them."""
    path = Path(path)
    if not path.exists():
        raise AudioFormatError("does not exist", str(path))
    if path.is_dir():
        raise AudioFormatError("is a directory, not an audio file", str(path))
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioFormatError(f"not a readable audio file ({e})", str(path)) from e
    problems = []
    if info.channels != 1:
        problems.append(f"{info.channels} channels, not mono")
    if info.subtype != "PCM_16":
        problems.append(f"{info.subtype} samples, not 16-bit PCM")
    if info.samplerate != expected_rate:
        problems.append(f"{info.samplerate} Hz, not {expected_rate} Hz")
    if problems:
        raise AudioFormatError(
            f"{'; '.join(problems)}. Convert it explicitly, e.g. `sox IN -c 1 -b 16 -r "
            f"{expected_rate} OUT.wav`, or let `kws data ingest` convert it and record the "
            "conversion",
            str(path),
        )
    if max_seconds is not None and info.frames > max_seconds * info.samplerate:
        raise AudioFormatError(
            f"{info.frames / info.samplerate:.0f} s long, more than the {max_seconds:g} s this "
            "command reads; cut it first",
            str(path),
        )
    declared = wav_declared_samples(path) if info.format == "WAV" else None
    if declared is not None and declared > info.frames:
        raise AudioFormatError(f"truncated: its header says {declared} samples, it holds {info.frames}", str(path))
    data, rate = sf.read(str(path), dtype="int16", always_2d=False)
    return check_pcm(data, sample_rate=rate, expected_rate=expected_rate, source=str(path))


def wav_declared_samples(path: Path) -> int | None:
    """The samples a 16-bit mono WAV's ``data`` chunk header declares (libsndfile reports what the
    file holds, so a file cut short reads as a shorter, valid one); None if there is no such chunk."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            size = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                return size // 2
            f.seek(size + (size & 1), 1)


def write_wav(path: str | Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write int16 mono PCM atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sf.write(str(tmp), np.asarray(pcm, dtype=np.int16), sample_rate, subtype="PCM_16", format="WAV")
    tmp.replace(path)
