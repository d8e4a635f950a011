"""The serial protocol between host and device, version 1 (docs/protocol.md).

Frame on the wire: COBS(body) followed by a 0x00 delimiter, where
body = version u8 | type u8 | seq u16 | payload | crc u16 (all little-endian),
crc = CRC-16/CCITT (poly 0x1021, init 0xFFFF) over version..payload.

A receiver resynchronizes at every 0x00: a corrupted, truncated or overlong frame costs only
itself and is counted, never misread (COBS guarantees no 0x00 inside a frame; the CRC catches
damage). Sequence numbers are per direction and wrap at 2^16; a gap is reported. Both sides
judge a frame in the same order (firmware/core/kws_proto.c): the wire size, COBS, the body size
(6 to MAX_BODY bytes), then the CRC, then the version.

A frame with a good CRC whose payload has a size its message does not allow is refused by the
parser of that message with MalformedFrame, a KwsError naming the frame: never a struct.error.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field

from cobs import cobs

from kws.errors import KwsError

VERSION = 1
MAX_BODY = 1024

# host -> device
HELLO_REQ = 0x01
STATS_REQ = 0x03
MONITOR_REQ = 0x04
THRESHOLDS_REQ = 0x05
AUDIO = 0x10
# device -> host
HELLO = 0x81
CREDIT = 0x82
STATS = 0x83
MONITOR = 0x84
THRESHOLDS = 0x85
ERROR = 0x8F
EVENT = 0x90
LOGITS = 0x91

NAMES = {
    HELLO_REQ: "HELLO_REQ",
    STATS_REQ: "STATS_REQ",
    MONITOR_REQ: "MONITOR_REQ",
    THRESHOLDS_REQ: "THRESHOLDS_REQ",
    AUDIO: "AUDIO",
    HELLO: "HELLO",
    CREDIT: "CREDIT",
    STATS: "STATS",
    MONITOR: "MONITOR",
    THRESHOLDS: "THRESHOLDS",
    ERROR: "ERROR",
    EVENT: "EVENT",
    LOGITS: "LOGITS",
}
ERRORS = {
    1: "bad_crc",
    2: "bad_frame",
    3: "seq_gap",
    4: "bad_audio_size",
    5: "unknown_type",
    6: "started",
    7: "bad_request",
}
ERR_STARTED = 6  # sent once at boot: the device (re)started, no session survives
ERR_UNKNOWN = 5

HELLO_FMT = "<IIIIIHHBB"  # fw version, fe hash, model hash, detector hash, rate, hop, max block, credits, classes
# [+ audio source u8: 0 host-streamed, 1 the device's microphone]
STATS_FMT = "<IIIIIIIQQQ"  # frames, runs, events, rx frames, bad crc, bad frames, seq gaps, fe, net, det ticks
STATS_BASE = struct.calcsize(STATS_FMT)
STATS_EXT = (("stack_peak", "audio_overruns"), ("rx_lost",), ("tick_hz",))  # appended since v1.0, u32 each:
#   [+ stack peak bytes, audio overruns] [+ serial bytes lost before the protocol saw them] [+ ticks per second of
#   the tick counts]; older devices send fewer


MAX_WIRE = MAX_BODY + MAX_BODY // 254 + 1  # COBS bytes of the longest body, delimiter excluded


class MalformedFrame(KwsError):
    """A frame whose CRC is good but whose payload its message does not allow."""


def _need(f_name: str, payload: bytes, n: int, *, exact: bool = False) -> None:
    if len(payload) < n or (exact and len(payload) != n):
        raise MalformedFrame(
            f"a {f_name} frame of {len(payload)} payload bytes: {'exactly' if exact else 'at least'} "
            f"{n} expected (a device speaking another protocol, or a firmware bug)"
        )


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)


def encode(ftype: int, seq: int, payload: bytes = b"") -> bytes:
    body = struct.pack("<BBH", VERSION, ftype, seq & 0xFFFF) + payload
    body += struct.pack("<H", crc16(body))
    return cobs.encode(body) + b"\x00"


@dataclass
class Frame:
    type: int
    seq: int
    payload: bytes
    damage: tuple[int, int, int] = (0, 0, 0)  # the decoder's (bad crc, bad frames, gaps) once it was decoded

    @property
    def name(self) -> str:
        return NAMES.get(self.type, f"0x{self.type:02x}")


@dataclass
class Decoder:
    """Incremental decoder: feed bytes, get frames; damage is counted, never raised."""

    buf: bytearray = field(default_factory=bytearray)
    overlong: bool = False  # more than MAX_WIRE bytes since the last delimiter: dropped at the next one
    frames: int = 0
    bad_crc: int = 0
    bad_frame: int = 0
    seq_gaps: int = 0
    last_seq: int | None = None

    def feed(self, data: bytes) -> list[Frame]:
        out = []
        for b in data:
            if b != 0:
                if len(self.buf) < MAX_WIRE:
                    self.buf.append(b)
                else:
                    self.overlong = True  # kept bounded; rejected at the delimiter
                continue
            raw, self.buf = bytes(self.buf), bytearray()
            if self.overlong:
                self.overlong = False
                self.bad_frame += 1
                continue
            if not raw:
                continue
            f = self._decode(raw)
            if f is not None:
                out.append(f)
        return out

    def _decode(self, raw: bytes) -> Frame | None:
        try:
            body = cobs.decode(raw)
        except cobs.DecodeError:
            self.bad_frame += 1
            return None
        if not 6 <= len(body) <= MAX_BODY:
            self.bad_frame += 1
            return None
        if crc16(body[:-2]) != struct.unpack("<H", body[-2:])[0]:
            self.bad_crc += 1
            return None
        version, ftype, seq = struct.unpack("<BBH", body[:4])
        if version != VERSION:
            self.bad_frame += 1
            return None
        if self.last_seq is not None and seq != (self.last_seq + 1) & 0xFFFF:
            self.seq_gaps += 1
        self.last_seq = seq
        self.frames += 1
        return Frame(ftype, seq, body[4:-2], self.damage)

    @property
    def damage(self) -> tuple[int, int, int]:
        """(bad CRC, bad frames, sequence gaps) so far."""
        return self.bad_crc, self.bad_frame, self.seq_gaps


@dataclass(frozen=True)
class Hello:
    fw_version: int
    frontend_hash32: int
    model_hash32: int
    detector_hash32: int
    sample_rate: int
    hop: int
    max_block: int
    credits: int
    classes: int
    audio_source: int = 0  # 1: the device listens to its own microphone

    @property
    def version(self) -> str:
        """The firmware version, major << 16 | minor << 8 | patch, as "major.minor.patch"."""
        v = self.fw_version
        return f"{v >> 16}.{v >> 8 & 0xFF}.{v & 0xFF}"

    @classmethod
    def parse(cls, payload: bytes) -> Hello:
        n = struct.calcsize(HELLO_FMT)
        _need("HELLO", payload, n)
        return cls(*struct.unpack(HELLO_FMT, payload[:n]), *payload[n : n + 1])


def parse_event(payload: bytes) -> tuple[int, int, int]:
    """(class, score Q15, sample index)."""
    _need("EVENT", payload, 11, exact=True)
    return struct.unpack("<BHQ", payload)


def parse_credit(payload: bytes) -> tuple[int, int]:
    """(credits returned, samples consumed since the session began)."""
    _need("CREDIT", payload, 10, exact=True)
    return struct.unpack("<HQ", payload)


def parse_error(payload: bytes) -> tuple[int, int]:
    """(code, the sequence number it concerns)."""
    _need("ERROR", payload, 3, exact=True)
    return payload[0], struct.unpack("<H", payload[1:3])[0]


def thresholds_payload(thresholds_q: list[int]) -> bytes:
    """THRESHOLDS_REQ setting one u16 Q(frac) threshold per class."""
    return struct.pack(f"<{len(thresholds_q)}H", *thresholds_q)


def parse_thresholds(payload: bytes) -> tuple[bool, list[int]]:
    """THRESHOLDS: (set by the host this session, the Q(frac) threshold per class in force)."""
    _need("THRESHOLDS", payload, 1)
    if (len(payload) - 1) % 2:
        raise MalformedFrame(f"a THRESHOLDS frame of {len(payload)} payload bytes: 1 + 2 per class expected")
    n = (len(payload) - 1) // 2
    return bool(payload[0]), list(struct.unpack(f"<{n}H", payload[1 : 1 + 2 * n]))


def parse_logits(payload: bytes) -> tuple[int, bytes]:
    _need("LOGITS", payload, 5)
    (run,) = struct.unpack("<I", payload[:4])
    return run, payload[4:]


def parse_stats(payload: bytes) -> dict:
    keys = (
        "frames",
        "runs",
        "events",
        "rx_frames",
        "bad_crc",
        "bad_frames",
        "seq_gaps",
        "fe_ticks",
        "net_ticks",
        "det_ticks",
    )
    n = STATS_BASE
    _need("STATS", payload, n)
    out = dict(zip(keys, struct.unpack(STATS_FMT, payload[:n])))
    for names in STATS_EXT:
        m = n + 4 * len(names)
        if len(payload) < m:
            break
        out.update(zip(names, struct.unpack(f"<{len(names)}I", payload[n:m])))
        n = m
    return out
