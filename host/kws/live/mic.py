"""The host microphone through sounddevice (PortAudio): int16 mono at the spec's rate, with
errors that say what is missing and which input devices exist."""

from __future__ import annotations

import time

import numpy as np

from kws.errors import KwsError


def sounddevice():
    try:
        import sounddevice as sd
    except OSError as e:  # the PortAudio library itself is missing
        raise KwsError(f"PortAudio is not installed ({e}): apt-get install libportaudio2") from e
    except ImportError as e:
        raise KwsError("the Python package sounddevice is missing: pip install sounddevice") from e
    return sd


def input_devices() -> list[str]:
    sd = sounddevice()
    return [
        f"{i}: {d['name']} ({d['max_input_channels']} ch, {d['default_samplerate']:.0f} Hz)"
        for i, d in enumerate(sd.query_devices())
        if d["max_input_channels"] > 0
    ]


def _device_arg(device):
    return int(device) if isinstance(device, str) and device.isdigit() else device


class Microphone:
    """Blocks of int16 mono audio from an input device. PortAudio's own thread queues what the
    device delivers (callback stream); the caller waits in Python, a fraction of a second at a
    time, so Ctrl-C always interrupts, and a device that stops delivering audio is an error after
    ``stall_s`` seconds, never a hang."""

    WAIT_S = 0.1

    def __init__(self, device, *, rate: int, block: int, stall_s: float = 5.0):
        import queue

        sd = sounddevice()
        self.device, self.stall_s = device, stall_s
        self._q: queue.Queue = queue.Queue()
        self._buf = np.zeros(0, np.int16)
        self._lost = False

        def on_audio(indata, frames, time_info, status):  # PortAudio's thread: copy and queue only
            self._q.put((indata[:, 0].copy(), bool(status.input_overflow)))

        try:
            self.stream = sd.InputStream(
                samplerate=rate,
                channels=1,
                dtype="int16",
                device=_device_arg(device),
                blocksize=block,
                callback=on_audio,
            )
        except (sd.PortAudioError, ValueError) as e:
            devs = input_devices()
            listing = "\n  ".join(devs) if devs else "(none: no microphone, or no permission for the audio devices)"
            raise KwsError(
                f"cannot open input device {device if device is not None else '(default)'} at {rate} Hz "
                f"mono int16: {e}\ninput devices:\n  {listing}"
            ) from e

    def __enter__(self):
        self.stream.start()
        return self

    def __exit__(self, *exc):
        self.stream.abort()
        self.stream.close()
        return False

    def read(self, n: int) -> tuple[np.ndarray, bool]:
        """n samples, and whether audio was lost (input overflow) since the last read."""
        import queue

        last = time.monotonic()
        while self._buf.size < n:
            try:
                pcm, lost = self._q.get(timeout=self.WAIT_S)
            except queue.Empty:
                if time.monotonic() - last > self.stall_s:
                    name = self.device if self.device is not None else "(default)"
                    raise KwsError(
                        f"input device {name} delivered no audio for {self.stall_s:g} s "
                        "(unplugged, muted or in use elsewhere?)"
                    ) from None
                continue
            last = time.monotonic()
            self._buf = np.concatenate([self._buf, pcm])
            self._lost |= lost
        out, self._buf = self._buf[:n], self._buf[n:]
        lost, self._lost = self._lost, False
        return out, lost


def open_input(device, *, rate: int, block: int) -> Microphone:
    """An opened (not started: use it in a ``with``) int16 mono microphone; KwsError naming the
    devices on failure."""
    return Microphone(device, rate=rate, block=block)


def read_block(mic: Microphone, n: int) -> tuple[np.ndarray, bool]:
    """n int16 samples; the flag says samples were lost before them."""
    return mic.read(n)
