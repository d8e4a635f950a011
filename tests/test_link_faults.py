"""Nothing lost silently on the serial link: a fault-injecting TCP proxy between the host and the
firmware in QEMU damages or drops one frame of a chosen type in one direction (the first
attempt only), and every such fault is detected within a probe interval, reported with counts,
and recovered: kws device eval streams again and its windows and events equal the host
reference. Without retries the same fault fails fast with an error naming it."""

import socket
import threading
import time

import numpy as np
import pytest
from cobs import cobs

from kws.audio import write_wav
from kws.device import protocol as p
from kws.device.qemu import Sim
from kws.errors import KwsError
from kws.paths import REPO_ROOT

pytestmark = pytest.mark.slow  # not in `make check`

ELF = REPO_ROOT / "build" / "qemu" / "kws_serial.elf"
MODEL = REPO_ROOT / "models" / "commands"


class FaultProxy:
    """Loopback TCP proxy to ``target`` port; ``fault = (direction, frame type, n, action)``:
    the n-th frame (from 1) of that type going that way ("up": host to device, "down": device to
    host) is, once, flipped (one bit of its body), dropped (with its delimiter), duplicated,
    truncated (half its bytes, then the delimiter) or reordered (sent after the next frame)."""

    def __init__(self, target: int, fault: tuple[str, int, int, str]):
        self.target, self.fault, self.fired = target, fault, 0
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.url = f"socket://127.0.0.1:{self.srv.getsockname()[1]}"
        self.seen = {"up": {}, "down": {}}
        self.held: dict[str, bytes] = {}
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                host, _ = self.srv.accept()
            except OSError:
                return
            for _ in range(200):
                try:
                    dev = socket.create_connection(("127.0.0.1", self.target))
                    break
                except OSError:
                    time.sleep(0.05)
            for s in (host, dev):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(host, dev, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(dev, host, "down"), daemon=True).start()

    def _pump(self, src, dst, way):
        buf = b""
        while True:
            try:
                data = src.recv(4096)
            except OSError:
                data = b""
            if not data:
                for s in (src, dst):
                    s.close()
                return
            buf += data
            out = b""
            while b"\x00" in buf:
                raw, buf = buf.split(b"\x00", 1)
                out += self._apply(way, raw)
            try:
                dst.sendall(out)
            except OSError:
                return

    def _apply(self, way: str, raw: bytes) -> bytes:
        try:
            ftype = cobs.decode(raw)[1]
        except (cobs.DecodeError, IndexError):
            return raw + b"\x00"
        n = self.seen[way][ftype] = self.seen[way].get(ftype, 0) + 1
        want_way, want_type, want_n, action = self.fault
        if (way, ftype, n) != (want_way, want_type, want_n) or self.fired:
            held, self.held[way] = self.held.get(way, b""), b""
            return raw + b"\x00" + held
        self.fired = time.monotonic()
        if action == "drop":
            return b""
        if action == "duplicate":
            return (raw + b"\x00") * 2
        if action == "truncate":
            return raw[: len(raw) // 2] + b"\x00"
        if action == "reorder":  # held back, sent after the next frame that way
            self.held[way] = raw + b"\x00"
            return b""
        body = bytearray(cobs.decode(raw))
        body[len(body) // 2] ^= 0x10
        return cobs.encode(bytes(body)) + b"\x00"

    def close(self):
        self.srv.close()


@pytest.fixture(scope="module")
def image(qemu_images):
    return qemu_images / "kws_serial.elf"


@pytest.fixture(scope="module")
def stream_wav(tmp_path_factory):
    """A recorded human voice (alsa-utils' speaker test), 4.8 s of it: "front left, front right",
    two keywords the released commands model finds at its own thresholds."""
    from kws.audio import read_wav
    from kws.data.alsa_voice import make_stream
    from kws.released import ReleasedModel

    d = tmp_path_factory.mktemp("faults")
    make_stream(d / "voice", list(ReleasedModel.load(MODEL).labels))
    pcm = read_wav(d / "voice" / "alsa_voice.wav", expected_rate=16000)[3 * 16000 : int(7.8 * 16000)]
    path = d / "two.wav"
    write_wav(path, pcm, 16000)
    return path


FAULTS = {
    "event damaged": ("down", p.EVENT, 1, "flip"),
    "event dropped": ("down", p.EVENT, 2, "drop"),
    "credit damaged": ("down", p.CREDIT, 3, "flip"),
    "last credit dropped": ("down", p.CREDIT, -1, "drop"),  # -1: resolved to the stream's last block
    "logits dropped": ("down", p.LOGITS, 4, "drop"),
    "audio damaged": ("up", p.AUDIO, 3, "flip"),
    "last audio dropped": ("up", p.AUDIO, -1, "drop"),
}


def _resolve(fault, blocks):
    way, ftype, n, action = fault
    return way, ftype, blocks if n == -1 else n, action


@pytest.fixture
def sim(image):
    """A fresh emulated board per case: nothing one fault leaves behind reaches the next."""
    with Sim(image) as s:
        with s.link() as first:  # the block size the device grants, for "the last block"
            first.handshake()
            s.max_block = first.hello.max_block
        yield s


def _eval_through(sim, spec, wav, fault, retries):
    from kws.audio import read_wav
    from kws.evaluate.device import device_eval

    blocks = -(-read_wav(wav, expected_rate=16000).size // sim.max_block)
    proxy = FaultProxy(int(sim.url.rsplit(":", 1)[1]), _resolve(fault, blocks))
    try:
        return proxy, device_eval(spec, MODEL, wav, port=proxy.url, retries=retries)
    finally:
        proxy.close()


@pytest.mark.parametrize("name", list(FAULTS))
def test_every_injected_fault_is_detected_reported_and_recovered(sim, stream_wav, spec, name):
    t0 = time.monotonic()
    proxy, r = _eval_through(sim, spec, stream_wav, FAULTS[name], retries=1)
    assert proxy.fired, f"{name}: the fault was never injected"
    assert len(r["restarts"]) == 1 and "LinkDamaged" in r["restarts"][0], r["restarts"]
    assert r["windows"]["differ"] == [] and r["windows"]["device"] == r["windows"]["reference"]
    assert r["events"]["differ"] == [] and r["events"]["device"] == r["events"]["reference"] >= 2
    assert r["link_damage"] == {"bad_crc": 0, "bad_frames": 0, "seq_gaps": 0}
    assert time.monotonic() - t0 < 60


# {flip, drop, duplicate, reorder, truncate} x {host -> device, device -> host} x the messages each way
# (the handshake's own STATS is the first: a stream's is the second)
MATRIX = [
    (action, way, ftype, {p.AUDIO: 3, p.CREDIT: 3, p.STATS_REQ: 2, p.STATS: 2}.get(ftype, 1))
    for action in ("flip", "drop", "duplicate", "reorder", "truncate")
    for way, ftype in (
        ("up", p.AUDIO),
        ("up", p.HELLO_REQ),
        ("up", p.STATS_REQ),
        ("down", p.CREDIT),
        ("down", p.EVENT),
        ("down", p.HELLO),
        ("down", p.STATS),
    )
]


@pytest.mark.parametrize("action, way, ftype, n", MATRIX, ids=[f"{a}-{w}-{p.NAMES[t]}" for a, w, t, _ in MATRIX])
def test_fault_matrix_never_a_silent_loss(sim, stream_wav, spec, action, way, ftype, n):
    """Each fault, once, with one retry: the result equals the host reference on every window and
    event (a fault in a stream detected and streamed again; one in the handshake absorbed by its
    retries). Never a different result; failing fast without retries is the test below."""
    proxy, r = _eval_through(sim, spec, stream_wav, (way, ftype, n, action), retries=1)
    assert proxy.fired, "the fault was never injected"
    assert r["windows"]["differ"] == [] and r["windows"]["device"] == r["windows"]["reference"]
    assert r["events"]["differ"] == [] and r["events"]["device"] == r["events"]["reference"]
    if ftype not in (p.HELLO_REQ, p.HELLO):  # a stream's fault is reported, the stream done again
        assert len(r["restarts"]) == 1 and "LinkDamaged" in r["restarts"][0], r["restarts"]


@pytest.mark.parametrize(
    "action, way, ftype",
    [("flip", "up", p.STATS_REQ), ("drop", "down", p.STATS), ("flip", "down", p.STATS)],
    ids=["flip-up-STATS_REQ", "drop-down-STATS", "flip-down-STATS"],
)
def test_a_handshake_asks_again_for_the_counters_the_link_lost(sim, stream_wav, spec, action, way, ftype):
    """The handshake reads the device's counters (they run from boot); a request or answer lost
    there is asked again, the stream's counters stay its own."""
    proxy, r = _eval_through(sim, spec, stream_wav, (way, ftype, 1, action), retries=0)
    assert proxy.fired and r["restarts"] == [] and r["events"]["differ"] == []
    assert r["device_counters"]["bad_crc"] == 0 and r["link_damage"]["bad_crc"] == 0


@pytest.mark.parametrize("name", ["event dropped", "audio damaged", "last credit dropped"])
def test_without_retries_a_fault_fails_fast_with_counts(image, stream_wav, spec, name):
    from kws.audio import read_wav
    from kws.evaluate.device import device_eval

    with Sim(image) as sim:
        with sim.link() as probe:
            hello = probe.handshake()
        blocks = -(-read_wav(stream_wav, expected_rate=16000).size // hello.max_block)
        proxy = FaultProxy(int(sim.url.rsplit(":", 1)[1]), _resolve(FAULTS[name], blocks))
        try:
            with pytest.raises(KwsError, match=r"void.*|.*acknowledged \d+ of \d+ samples") as err:
                device_eval(spec, MODEL, stream_wav, port=proxy.url, retries=0)
            failed = time.monotonic()
        finally:
            proxy.close()
    assert proxy.fired and failed - proxy.fired < 5.0, f"{name}: failed {failed - proxy.fired:.1f} s after the fault"
    assert "acknowledged" in str(err.value) and "void" in str(err.value)


def test_listening_says_when_events_may_be_missing(qemu_images, spec, tmp_path):
    """A microphone board whose first EVENT is lost on the way: kws device listen's result says
    so (the damage and the device's own event count) instead of reporting fewer detections."""
    from kws.data import tts
    from kws.device.listen import device_listen
    from kws.reference.pipeline import ReferencePipeline

    x = np.concatenate(
        [
            np.zeros(6000, np.int16),
            tts.espeak("yes", voice="en+m3"),
            np.zeros(9000, np.int16),
            tts.espeak("stop", voice="en+f2"),
            np.zeros(16000, np.int16),
        ]
    )
    block = spec.frontend.hop_samples * spec.detector.stride_frames
    x = x[: x.size // block * block]
    _, ref = ReferencePipeline(spec, MODEL).run(x)
    x.astype("<i2").tofile(tmp_path / "mic.pcm")
    with Sim(qemu_images / "kws_mic.elf", args=[str(tmp_path / "mic.pcm")]) as sim:
        proxy = FaultProxy(int(sim.url.rsplit(":", 1)[1]), ("down", p.EVENT, 1, "drop"))
        from kws.device.link import Link

        with Link.wait_open(proxy.url, wait=10.0) as link:
            link.handshake()
            r = device_listen(link, seconds=60, until_frames=spec.frontend.num_frames(x.size))
        proxy.close()
    assert proxy.fired and len(ref) >= 1 and len(r.events) == len(ref) - 1
    assert r.lost and "seq_gaps" in r.lost and r.stats["events"] == len(ref)


class FakeDevice:
    """A misbehaving device on a loopback socket: answers HELLO_REQ with ``hello`` (payload bytes,
    or None for silence), STATS_REQ with zero counts, then every AUDIO frame with
    ``credit(samples so far)`` frames."""

    def __init__(self, hello, credit):
        import struct as st

        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.url = f"socket://127.0.0.1:{self.srv.getsockname()[1]}"
        self.hello, self.credit, self.st = hello, credit, st
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.srv.accept()
        dec, seq, samples = p.Decoder(), 0, 0
        while True:
            data = conn.recv(4096)
            if not data:
                return
            for f in dec.feed(data):
                out = []
                if f.type == p.HELLO_REQ and self.hello is not None:
                    out.append((p.HELLO, self.hello))
                elif f.type == p.STATS_REQ:
                    out.append((p.STATS, bytes(p.STATS_BASE)))
                elif f.type == p.AUDIO:
                    samples += len(f.payload) // 2
                    out += [(p.CREDIT, c) for c in self.credit(samples)]
                for ftype, payload in out:
                    conn.sendall(p.encode(ftype, seq, payload))
                    seq += 1


HELLO_OK = __import__("struct").pack(p.HELLO_FMT, 0x10100, 1, 2, 3, 16000, 320, 320, 2, 12) + b"\x00"


@pytest.mark.parametrize(
    "case, hello, credit, says",
    [
        ("silent", None, None, r"never answered HELLO_REQ"),
        ("short HELLO", HELLO_OK[:10], None, r"a HELLO frame of 10 payload bytes"),
        ("short CREDIT", HELLO_OK, lambda n: [b"\x01\x00"], r"a CREDIT frame of 2 payload bytes"),
        (
            "zero credits, nothing acknowledged",
            HELLO_OK,
            lambda n: [__import__("struct").pack("<HQ", 0, 0)] * 3,
            r"no progress for 2 s: it had acknowledged 0 of",
        ),
    ],
)
def test_a_misbehaving_device_gets_a_named_error_not_a_hang_or_a_traceback(case, hello, credit, says):
    from kws.device.link import Link

    dev = FakeDevice(hello, credit)
    t0 = time.monotonic()
    with Link(dev.url, timeout=2.0) as link:
        with pytest.raises(KwsError, match=says):
            link.handshake(attempts=4)
            link.stream(np.zeros(16000, np.int16))
    assert time.monotonic() - t0 < 8
