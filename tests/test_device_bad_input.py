"""The device side of the protocol under sanitizers: the serial program (firmware/app/main_serial.c,
the same C as in QEMU and on boards) built for the host with ASan + UBSan, stdin/stdout as its
UART (ports/native/port_stdio.c). A clean session reproduces the host reference's logits and
events; hundreds of damaged sessions — flipped bits, dropped, duplicated, reordered and
truncated frames, garbage, overlong frames, wrong-sized audio, unknown types — never crash,
never trip a sanitizer, always answer with well-formed frames and the defined ERROR codes."""

import struct
import subprocess

import numpy as np
import pytest

from kws.device import protocol as p
from kws.paths import REPO_ROOT

BIN = REPO_ROOT / "build" / "host" / "kws_serial_native"
MODEL = REPO_ROOT / "models" / "commands"


@pytest.fixture(scope="module")
def app():
    r = subprocess.run(["make", "-s", "-C", str(REPO_ROOT / "firmware"), "host"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return BIN


def run(app, data: bytes) -> list[p.Frame]:
    r = subprocess.run([str(app)], input=data, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")[-3000:]
    assert b"runtime error" not in r.stderr and b"AddressSanitizer" not in r.stderr, r.stderr.decode()[-2000:]
    dec = p.Decoder()
    frames = dec.feed(r.stdout)
    assert dec.bad_crc == 0 and dec.bad_frame == 0 and dec.seq_gaps == 0  # the device always speaks cleanly
    assert frames[0].type == p.ERROR and frames[0].payload[0] == p.ERR_STARTED  # first, it says it started
    assert all(f.payload[0] != p.ERR_STARTED for f in frames[1:] if f.type == p.ERROR)
    return frames[1:]


def session(pcm: np.ndarray, *, logits: bool = True) -> list[bytes]:
    frames = [p.encode(p.HELLO_REQ, 0, bytes([1 if logits else 0]))]
    for i in range(0, pcm.size, 320):
        frames.append(p.encode(p.AUDIO, len(frames), pcm[i : i + 320].astype("<i2").tobytes()))
    frames.append(p.encode(p.STATS_REQ, len(frames)))
    frames.append(p.encode(p.MONITOR_REQ, len(frames), b"\x00"))
    return frames


@pytest.fixture(scope="module")
def speech():
    from kws.data import tts

    # Piper's voice trains the released model, so its calibrated detector fires: events to compare
    x = np.concatenate(
        [
            np.zeros(4000, np.int16),
            tts.piper("yes"),
            np.zeros(6000, np.int16),
            tts.piper("stop"),
            np.zeros(12000, np.int16),
        ]
    )
    return x[: x.size // 320 * 320]


def test_clean_session_equals_the_host_reference(app, speech, spec):
    from kws.frontend import Frontend
    from kws.reference.monitor import stats_of
    from kws.reference.pipeline import ReferencePipeline

    out = run(app, b"".join(session(speech)))
    kinds = [f.type for f in out]
    assert kinds[0] == p.HELLO and kinds.count(p.CREDIT) == speech.size // 320 and p.ERROR not in kinds
    logits = np.frombuffer(b"".join(p.parse_logits(f.payload)[1] for f in out if f.type == p.LOGITS), np.int8)
    ref_logits, ref_events = ReferencePipeline(spec, MODEL).run(speech)
    np.testing.assert_array_equal(logits.reshape(ref_logits.shape), ref_logits)
    assert [p.parse_event(f.payload) for f in out if f.type == p.EVENT] == [
        (e.label, e.score_q, e.sample) for e in ref_events
    ] and ref_events
    mon = next(f for f in out if f.type == p.MONITOR)
    feats = Frontend(spec.frontend).features(speech, sample_rate=spec.frontend.sample_rate_hz)
    assert mon.payload == stats_of(feats, spec.monitor).to_bytes()


def _errors(frames):
    return [f.payload[0] for f in frames if f.type == p.ERROR]


def test_defined_errors_for_defined_faults(app, speech):
    hello = p.encode(p.HELLO_REQ, 0, b"\x00")
    odd = p.encode(p.AUDIO, 1, b"\x01\x02\x03")  # odd byte count
    big = p.encode(p.AUDIO, 1, b"\x00\x01" * 321)  # one sample more than a block
    unknown = p.encode(0x42, 1, b"hi")
    damaged = bytearray(p.encode(p.AUDIO, 1, speech[:320].astype("<i2").tobytes()))
    damaged[7] ^= 0x10
    gap = p.encode(p.STATS_REQ, 9)  # sequence jumps 1 -> 9
    overlong = bytes([7] * 3000) + b"\x00"  # no delimiter for 3000 bytes
    assert _errors(run(app, hello + odd)) == [4]
    assert _errors(run(app, hello + big)) == [4]
    assert _errors(run(app, hello + unknown)) == [5]
    assert _errors(run(app, hello + bytes(damaged))) == [1]
    assert _errors(run(app, hello + gap)) == [3]
    out = run(app, hello + overlong + p.encode(p.STATS_REQ, 1))
    assert 2 in _errors(out)
    stats = p.parse_stats(next(f for f in out if f.type == p.STATS).payload)
    assert stats["bad_frames"] >= 1  # and the device went on to answer


def test_thresholds_set_over_the_link_fire_as_the_reference_does(app, speech, spec):
    """THRESHOLDS_REQ: asked, the device reports its built-in thresholds (the model's calibrated
    ones); set, it echoes them; a wrong size gets ERROR 7. Thresholds in a HELLO_REQ hold for that
    session from its first sample: its events are the reference's at those thresholds (not at the
    built-in ones). A HELLO_REQ without them restores the built-in ones; one with a wrong-sized
    list still starts the session, with the built-in ones, and says ERROR 7 after its HELLO."""
    from kws.reference.detector import class_thresholds_q
    from kws.reference.pipeline import ReferencePipeline
    from kws.released import ReleasedModel

    rm = ReleasedModel.load(MODEL)
    built = class_thresholds_q(spec.detector, list(rm.labels), rm.thresholds)
    low = {k: 0.3 for k in rm.keywords}
    q = class_thresholds_q(spec.detector, list(rm.labels), low)
    reqs = [
        (p.HELLO_REQ, b"\x00"),
        (p.THRESHOLDS_REQ, b""),
        (p.THRESHOLDS_REQ, p.thresholds_payload(q)),
        (p.THRESHOLDS_REQ, b"\x01\x02\x03"),
        (p.HELLO_REQ, b"\x00" + p.thresholds_payload(q)),
        (p.THRESHOLDS_REQ, b""),
    ]
    reqs += [(p.AUDIO, speech[i : i + 320].astype("<i2").tobytes()) for i in range(0, speech.size, 320)]
    reqs += [(p.HELLO_REQ, b"\x00\x01\x02"), (p.THRESHOLDS_REQ, b"")]
    out = run(app, b"".join(p.encode(t, i, pl) for i, (t, pl) in enumerate(reqs)))
    assert [p.parse_thresholds(f.payload) for f in out if f.type == p.THRESHOLDS] == [
        (False, built),
        (True, q),
        (True, q),
        (False, built),
    ]
    assert [f.payload for f in out if f.type == p.ERROR] == [
        bytes([7, 3, 0]),
        bytes([7]) + (len(reqs) - 2).to_bytes(2, "little"),
    ]
    assert [f.type for f in out][-3:] == [p.HELLO, p.ERROR, p.THRESHOLDS]
    events = [p.parse_event(f.payload) for f in out if f.type == p.EVENT]
    _, at_low = ReferencePipeline(spec, MODEL, thresholds=low).run(speech)
    _, at_built = ReferencePipeline(spec, MODEL).run(speech)
    assert (
        events == [(e.label, e.score_q, e.sample) for e in at_low] != [(e.label, e.score_q, e.sample) for e in at_built]
    )


def _noise(rng, most: int) -> bytes:
    return rng.integers(0, 256, int(rng.integers(0, most)), dtype=np.uint8).tobytes()


def test_hundreds_of_damaged_sessions_never_crash(app, speech):
    rng = np.random.default_rng(2026)
    for trial in range(250):
        frames = session(speech[: int(rng.integers(1, 60)) * 320], logits=bool(rng.integers(2)))
        kind = trial % 8
        if kind == 0:  # flipped bits anywhere
            data = bytearray(b"".join(frames))
            for i in rng.integers(0, len(data), int(rng.integers(1, 20))):
                data[i] ^= 1 << int(rng.integers(8))
            data = bytes(data)
        elif kind == 1:  # dropped frames
            data = b"".join(f for f in frames if rng.random() > 0.2)
        elif kind == 2:  # duplicated frames
            data = b"".join(f * int(rng.integers(1, 3)) for f in frames)
        elif kind == 3:  # reordered frames
            order = rng.permutation(len(frames))
            data = b"".join(frames[i] for i in order)
        elif kind == 4:  # truncated mid-frame
            data = b"".join(frames)
            data = data[: int(rng.integers(1, len(data)))]
        elif kind == 5:  # random garbage spliced in
            data = b"".join(
                f
                + (bytes(rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8)) if rng.random() < 0.3 else b"")
                for f in frames
            )
        elif kind == 6:  # wrong-sized and unknown frames
            extra = [
                p.encode(p.AUDIO, 5, bytes(int(rng.integers(0, 1000)))),
                p.encode(int(rng.integers(0, 256)), 6, bytes(int(rng.integers(0, 50)))),
                # thresholds of any size and value, asked for alone and with a new session
                p.encode(p.THRESHOLDS_REQ, 7, _noise(rng, 40)),
                p.encode(p.HELLO_REQ, 8, _noise(rng, 40)),
            ]
            data = b"".join(frames[:3] + extra + frames[3:])
        else:  # long runs without a delimiter
            data = (
                b"".join(frames[:2])
                + bytes(rng.integers(1, 256, int(rng.integers(1000, 5000)), dtype=np.uint8))
                + b"".join(frames[2:])
            )
        out = run(app, data)
        for f in out:
            if f.type == p.ERROR:
                assert f.payload[0] in (1, 2, 3, 4, 5, 7) and len(f.payload) == 3
            if f.type == p.STATS:
                assert len(f.payload) == struct.calcsize(p.STATS_FMT) + 4 * sum(map(len, p.STATS_EXT))
                assert p.parse_stats(f.payload)["rx_lost"] == 0  # stdin loses nothing
