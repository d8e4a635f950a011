"""The host microphone through sounddevice (PortAudio): int16 mono at the spec's rate, with
errors that say what is missing and which input devices exist."""

from __future__ import annotations

from kws.errors import KwsError


def sounddevice():
    try:
        import sounddevice as sd
    except OSError as e:                       # the PortAudio library itself is missing
        raise KwsError(f"PortAudio is not installed ({e}): apt-get install libportaudio2") from e
    except ImportError as e:
        raise KwsError("the Python package sounddevice is missing: pip install sounddevice") from e
    return sd


def input_devices() -> list[str]:
    sd = sounddevice()
    return [f"{i}: {d['name']} ({d['max_input_channels']} ch, {d['default_samplerate']:.0f} Hz)"
            for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]


def _device_arg(device):
    return int(device) if isinstance(device, str) and device.isdigit() else device


def open_input(device, *, rate: int, block: int):
    """An opened (not started) int16 mono InputStream; KwsError naming the devices on failure."""
    sd = sounddevice()
    try:
        return sd.InputStream(samplerate=rate, channels=1, dtype="int16", device=_device_arg(device), blocksize=block)
    except (sd.PortAudioError, ValueError) as e:
        devs = input_devices()
        listing = "\n  ".join(devs) if devs else "(none: no microphone, or no permission for the audio devices)"
        raise KwsError(f"cannot open input device {device if device is not None else '(default)'} at {rate} Hz mono "
                       f"int16: {e}\ninput devices:\n  {listing}") from e


def read_block(stream, n: int):
    """n int16 samples (blocking); the overflow flag says samples were lost before them."""
    data, overflowed = stream.read(n)
    return data[:, 0].copy(), bool(overflowed)
