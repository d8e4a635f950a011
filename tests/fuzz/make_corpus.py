"""Writes the committed seed corpora of the fuzz targets (deterministic; rerun after a protocol
change): sessions a host sends (handshake, audio of spoken words, every request, with and
without damage) for the device's targets, and what a device sends for the host's parsers.

    python tests/fuzz/make_corpus.py
"""

from pathlib import Path

import numpy as np

from kws.data import tts
from kws.device import protocol as p

HERE = Path(__file__).parent
HOP = 320  # the device's AUDIO block: one hop (firmware/core/kws_link.h)


def session(pcm: np.ndarray, *, logits: bool, thresholds: list[int] | None = None) -> bytes:
    seq, out = 0, b""

    def send(ftype, payload=b""):
        nonlocal seq, out
        out += p.encode(ftype, seq, payload)
        seq += 1

    send(p.HELLO_REQ, bytes([int(logits)]) + (p.thresholds_payload(thresholds) if thresholds else b""))
    for a in range(0, pcm.size, HOP):
        send(p.AUDIO, pcm[a : a + HOP].astype("<i2").tobytes())
    send(p.STATS_REQ)
    send(p.MONITOR_REQ, b"\x01")
    send(p.THRESHOLDS_REQ)
    send(p.THRESHOLDS_REQ, p.thresholds_payload([0, 0] + [30000] * 10))
    return out


def main() -> None:
    word = tts.espeak("yes", voice="en+m3")[:8000]
    seeds = {
        "session_words": session(np.concatenate([np.zeros(1600, np.int16), word]), logits=True),
        "session_thresholds": session(word[:3200], logits=False, thresholds=[0, 0] + [20000] * 10),
        "session_bad_thresholds": session(word[:640], logits=False, thresholds=[1, 2, 3]),
        "session_odd_audio": session(word[:640], logits=True) + p.encode(p.AUDIO, 99, b"\x01\x02\x03"),
    }
    damaged = bytearray(seeds["session_words"])
    damaged[len(damaged) // 3] ^= 0x20
    seeds["session_damaged"] = bytes(damaged)
    for name, data in seeds.items():
        for target in ("session", "rx"):
            (HERE / "corpus" / target).mkdir(parents=True, exist_ok=True)
            (HERE / "corpus" / target / name).write_bytes(data)
    dev = (HERE.parent / "golden" / "protocol" / "device_session.bin").read_bytes()
    (HERE / "corpus" / "host").mkdir(parents=True, exist_ok=True)
    (HERE / "corpus" / "host" / "device_session").write_bytes(dev)
    (HERE / "corpus" / "host" / "device_session_head").write_bytes(dev[:200])
    for ftype, payload in (
        (p.CREDIT, bytes(10)),
        (p.EVENT, bytes(11)),
        (p.ERROR, b"\x06\x00\x00"),
        (p.STATS, bytes(p.STATS_BASE + 16)),
        (p.THRESHOLDS, bytes(25)),
        (p.LOGITS, bytes(16)),
    ):
        (HERE / "corpus" / "host" / p.NAMES[ftype].lower()).write_bytes(p.encode(ftype, 7, payload))


if __name__ == "__main__":
    main()
