"""Protocol v1: C and Python implementations agree byte for byte; the host decoder survives
corrupted, dropped, duplicated and reordered bytes, counting what it lost; a byte stream
recorded from the device decodes to the expected frames."""

import ctypes
import struct

import numpy as np
import pytest

from kws.device import protocol as p
from kws.paths import REPO_ROOT


@pytest.fixture(scope="module")
def clib(native):  # the host library (built by the `native` fixture) contains kws_proto.c
    lib = ctypes.CDLL(str(REPO_ROOT / "build" / "host" / "libkws_fe.so"))
    lib.kws_proto_encode.restype = ctypes.c_size_t
    lib.kws_proto_encode.argtypes = [ctypes.c_uint8, ctypes.c_uint16, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_void_p]
    lib.kws_proto_rx_byte.restype = ctypes.c_int
    lib.kws_proto_rx_byte.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint8,
        ctypes.POINTER(ctypes.c_uint8),
        ctypes.POINTER(ctypes.c_uint16),
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_uint32),
    ]
    lib.kws_proto_rx_reset.argtypes = [ctypes.c_void_p]
    lib.kws_proto_rx_pcm16.restype = ctypes.c_void_p
    lib.kws_proto_rx_pcm16.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    return lib


def c_encode(lib, ftype, seq, payload):
    out = ctypes.create_string_buffer(2048)
    n = lib.kws_proto_encode(ftype, seq, payload, len(payload), out)
    return out.raw[:n]


def c_decode(lib, data):
    rx = ctypes.create_string_buffer(4096)
    lib.kws_proto_rx_reset(rx)
    frames = []
    t, s, pl, n = ctypes.c_uint8(), ctypes.c_uint16(), ctypes.c_void_p(), ctypes.c_uint32()
    for b in data:
        if lib.kws_proto_rx_byte(rx, b, ctypes.byref(t), ctypes.byref(s), ctypes.byref(pl), ctypes.byref(n)):
            frames.append((t.value, s.value, ctypes.string_at(pl, n.value)))
    counters = struct.unpack("<IIII", rx.raw[1032 + 4 : 1032 + 20])  # frames, bad_crc, bad_frames, seq_gaps
    return frames, counters


def payloads(rng):
    yield b""
    yield b"\x00"
    yield b"\x00" * 300
    yield bytes(range(1, 255))  # 254 non-zero bytes: COBS's block boundary
    yield bytes(range(1, 256)) * 2
    for _ in range(60):
        n = int(rng.integers(0, 1000))
        yield (
            bytes(rng.integers(0, 256, n, dtype=np.uint8))
            if rng.random() < 0.5
            else bytes(rng.choice([0, 1, 255], n).astype(np.uint8))
        )


def test_c_and_python_encode_identically_and_decode_each_other(clib, rng):
    for i, pl in enumerate(payloads(rng)):
        wire = p.encode(p.AUDIO, i, pl)
        assert c_encode(clib, p.AUDIO, i, pl) == wire
        frames, _ = c_decode(clib, wire)
        assert frames == [(p.AUDIO, i, pl)]
        assert [(f.type, f.seq, f.payload) for f in p.Decoder().feed(wire)] == [(p.AUDIO, i, pl)]


def test_crc_is_crc16_ccitt_false(clib, rng):
    """The firmware's table-driven CRC against Python's binascii.crc_hqx and the catalogue's
    check value for "123456789" (0x29B1)."""
    import binascii

    clib.kws_crc16.restype = ctypes.c_uint16
    clib.kws_crc16.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    assert clib.kws_crc16(b"123456789", 9) == 0x29B1
    for n in (0, 1, 2, 17, 649, 1000):
        data = bytes(rng.integers(0, 256, n, dtype=np.uint8))
        assert clib.kws_crc16(data, n) == binascii.crc_hqx(data, 0xFFFF), n


def test_device_reads_audio_samples_in_place_in_its_receive_buffer(clib, rng):
    """The firmware hands AUDIO samples to the front end straight from the frame it received
    (kws_proto_rx_pcm16): little-endian bytes become the same int16 samples, in place, with
    the extremes and a full block of the spec's hop."""
    from kws.spec import load_spec

    hop = load_spec().frontend.hop_samples
    blocks = [
        np.array([0, 1, -1, 255, 256, -256, 32767, -32768], dtype=np.int16),
        rng.integers(-32768, 32768, hop, dtype=np.int16),
    ]
    rx = ctypes.create_string_buffer(4096)
    clib.kws_proto_rx_reset(rx)
    t, s, pl, n = ctypes.c_uint8(), ctypes.c_uint16(), ctypes.c_void_p(), ctypes.c_uint32()
    for seq, pcm in enumerate(blocks):
        got = [
            clib.kws_proto_rx_byte(rx, b, ctypes.byref(t), ctypes.byref(s), ctypes.byref(pl), ctypes.byref(n))
            for b in p.encode(p.AUDIO, seq, pcm.astype("<i2").tobytes())
        ]
        assert got[-1] == 1 and t.value == p.AUDIO and n.value == 2 * pcm.size
        ptr = clib.kws_proto_rx_pcm16(rx, n.value)
        assert ptr == pl.value and ptr % 2 == 0  # the payload itself, aligned
        assert np.array_equal(np.frombuffer(ctypes.string_at(ptr, n.value), dtype=np.int16), pcm)


def test_overlong_frames_are_refused_by_both(clib):
    big = bytes(1100)
    assert c_encode(clib, p.AUDIO, 0, big) == b""
    wire = b"\x05" * 3000 + b"\x00" + p.encode(p.HELLO_REQ, 1)
    frames, (nframes, bad_crc, bad_frames, gaps) = c_decode(clib, wire)
    assert frames == [(p.HELLO_REQ, 1, b"")] and bad_frames == 1
    d = p.Decoder()
    assert [f.type for f in d.feed(wire)] == [p.HELLO_REQ] and d.bad_frame == 1


@pytest.mark.parametrize("fault", ["flip", "drop", "duplicate", "reorder", "noise"])
def test_host_decoder_survives_faults_and_counts_them(rng, fault):
    frames = [p.encode(p.EVENT, i, bytes(rng.integers(0, 256, 11, dtype=np.uint8))) for i in range(200)]
    victims = set(rng.choice(200, 20, replace=False).tolist())
    out = []
    for i, f in enumerate(frames):
        if i not in victims:
            out.append(f)
        elif fault == "flip":
            b = bytearray(f)
            b[int(rng.integers(0, len(b) - 1))] ^= 0x5A
            out.append(bytes(b).replace(b"\x00", b"\x01", 1) if b.count(0) > 1 else bytes(b))
        elif fault == "duplicate":
            out += [f, f]
        elif fault == "reorder":
            out.insert(max(0, len(out) - 1), f)
        elif fault == "noise":
            out += [bytes(rng.integers(1, 256, 30, dtype=np.uint8)), f]
        # drop: nothing appended
    d = p.Decoder()
    got = d.feed(b"".join(out))
    intact = [i for i in range(200) if i not in victims]
    assert {f.seq for f in got} >= set(intact)  # every undamaged frame comes through
    damage = d.bad_crc + d.bad_frame + d.seq_gaps
    assert damage > 0  # and the loss is visible, not silent


def test_recorded_device_session_decodes(tmp_path):
    """A byte stream captured from the firmware in QEMU (tests/golden/protocol)."""
    import json

    rec = REPO_ROOT / "tests" / "golden" / "protocol"
    data = (rec / "device_session.bin").read_bytes()
    expect = json.loads((rec / "device_session.json").read_text())
    d = p.Decoder()
    frames = d.feed(data)
    assert d.bad_crc == 0 and d.bad_frame == 0 and d.seq_gaps == 0
    assert [f.name for f in frames][:1] == ["HELLO"]
    hello = p.Hello.parse(frames[0].payload)
    assert hello.frontend_hash32 == expect["frontend_hash32"] and hello.classes == expect["classes"]
    events = [list(p.parse_event(f.payload)) for f in frames if f.type == p.EVENT]
    assert events == expect["events"]
    assert sum(f.type == p.CREDIT for f in frames) == expect["credits"]


def test_stats_of_older_and_newer_firmware_parse_to_the_fields_they_carry():
    base = struct.pack(p.STATS_FMT, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    assert "stack_peak" not in p.parse_stats(base)
    old = p.parse_stats(base + struct.pack("<II", 500, 0))
    assert old["stack_peak"] == 500 and "rx_lost" not in old
    mid = p.parse_stats(base + struct.pack("<III", 500, 0, 17))
    assert (mid["frames"], mid["det_ticks"], mid["stack_peak"], mid["rx_lost"]) == (1, 10, 500, 17)
    assert "tick_hz" not in mid
    new = p.parse_stats(base + struct.pack("<IIII", 500, 0, 17, 64_000_000))
    assert (new["rx_lost"], new["tick_hz"]) == (17, 64_000_000)


def test_event_delay_is_from_the_block_holding_the_windows_last_sample_to_the_event():
    """StreamResult.event_delays_ms on a hand-made timeline: an event at sample n completed its
    window with sample n - 1, which the first block ending at or after n carried."""
    from kws.device.link import StreamResult

    r = StreamResult(
        events=[(2, 30000, 640), (3, 30000, 641), (2, 30000, 960)],
        event_received=[0.15, 0.5, 0.9],
        block_ends=[320, 640, 960],
        block_sent=[0.0, 0.1, 0.2],
    )
    assert r.event_delays_ms() == pytest.approx([50.0, 300.0, 700.0])
    assert StreamResult(events=[(2, 1, 5)], event_received=[1.0]).event_delays_ms() == []  # nothing sent


def _body_frame(body: bytes) -> bytes:
    """A frame whose body (version .. payload) is ``body``, with a good CRC."""
    from cobs import cobs

    return cobs.encode(body + struct.pack("<H", p.crc16(body))) + b"\x00"


def test_the_body_limit_and_the_order_of_checks_agree_between_c_and_python(clib):
    """A body of exactly MAX_BODY bytes is taken by both sides; one byte more is a bad frame on
    both (not a request of a wrong size); a bad version with a bad CRC counts as bad CRC on both."""
    header = struct.pack("<BBH", 1, p.AUDIO, 0)
    for extra, taken in ((0, True), (1, False), (5, False)):
        wire = _body_frame(header + bytes(p.MAX_BODY - 6 + extra))
        frames, (_, bad_crc, bad_frames, _) = c_decode(clib, wire)
        d = p.Decoder()
        got = d.feed(wire)
        assert (len(frames) == 1, len(got) == 1) == (taken, taken), extra
        assert (bad_frames, d.bad_frame) == ((0, 0) if taken else (1, 1)) and bad_crc == d.bad_crc == 0
    wrong = bytearray(_body_frame(struct.pack("<BBH", 2, p.HELLO_REQ, 0)))
    frames, (_, bad_crc, bad_frames, _) = c_decode(clib, bytes(wrong))
    d = p.Decoder()
    d.feed(bytes(wrong))
    assert (bad_crc, bad_frames) == (0, 1) == (d.bad_crc, d.bad_frame)  # good CRC, foreign version
    body = bytearray(struct.pack("<BBH", 2, p.HELLO_REQ, 0) + b"\x00\x00")  # foreign version and bad CRC
    from cobs import cobs

    wire = cobs.encode(bytes(body)) + b"\x00"
    frames, (_, bad_crc, bad_frames, _) = c_decode(clib, wire)
    d = p.Decoder()
    d.feed(wire)
    assert (bad_crc, bad_frames) == (1, 0) == (d.bad_crc, d.bad_frame)


def test_the_host_decoder_buffers_at_most_one_frame_without_a_delimiter():
    d = p.Decoder()
    for _ in range(100):
        d.feed(b"\x07" * 10_000)
    assert len(d.buf) <= p.MAX_WIRE
    assert [f.type for f in d.feed(b"\x00" + p.encode(p.CREDIT, 3, bytes(10)))] == [p.CREDIT] and d.bad_frame == 1


@pytest.mark.parametrize(
    "parse, sizes",
    [
        (p.Hello.parse, (0, 1, struct.calcsize(p.HELLO_FMT) - 1)),
        (p.parse_event, (0, 10, 12)),
        (p.parse_credit, (0, 2, 9, 11)),
        (p.parse_error, (0, 1, 2, 4)),
        (p.parse_thresholds, (0, 2, 4)),
        (p.parse_logits, (0, 3, 4)),
        (p.parse_stats, (0, 4, p.STATS_BASE - 1)),
    ],
)
def test_a_short_or_long_payload_with_a_good_crc_is_a_named_error_not_a_traceback(parse, sizes):
    from kws.errors import KwsError

    for n in sizes:
        with pytest.raises(KwsError, match=rf"frame of {n} payload bytes"):
            parse(bytes(n))


def test_host_parsers_raise_nothing_but_their_own_error_on_random_payloads(rng):
    """Every parser of a device message, on 20,000 random payloads of every size up to a body's:
    a result or MalformedFrame, never struct.error, IndexError or ValueError."""
    parsers = (
        p.Hello.parse,
        p.parse_event,
        p.parse_credit,
        p.parse_error,
        p.parse_thresholds,
        p.parse_logits,
        p.parse_stats,
    )
    sizes = np.concatenate([np.arange(0, 80), rng.integers(0, p.MAX_BODY - 6, 120)])
    for i in range(20_000):
        payload = bytes(rng.integers(0, 256, int(sizes[i % sizes.size]), dtype=np.uint8))
        for parse in parsers:
            try:
                parse(payload)
            except p.MalformedFrame:
                pass
