"""A device over a pyserial URL (/dev/ttyACM0, socket://127.0.0.1:PORT for emulators): the
handshake, credit-based audio streaming, events, logits and stats of protocol v1.

Every wait has a timeout: a device that never answers, resets or vanishes raises KwsError
with the counts so far, never hangs.

Nothing is lost silently. A frame damaged or lost in either direction shows up as the host
decoder's bad CRC, bad frame or sequence gap (device to host) or as the device's ERROR 1-3
(host to device; if that ERROR is lost in turn, as a gap). A quiet link is probed with
STATS_REQ, whose answer exposes a gap even when the last frame of a burst vanished, and every
stream ends with STATS, whose event count must equal the events received. Any of these makes the
stream void: LinkDamaged, with the counts, within a probe interval of the damage; callers stream
again from a new handshake (kws device eval and stream: ``--retries``).
"""

from __future__ import annotations

import bisect
import socket
import time
from dataclasses import dataclass, field

import numpy as np

from kws.device import protocol as p
from kws.errors import KwsError


class DeviceMismatch(KwsError):
    pass


class DeviceLost(KwsError):
    """The port went away (a board unplugged or re-enumerating, an emulator that exited)."""


class DeviceReset(KwsError):
    """The device started again mid-stream: what it reported after that is not this stream's."""


class LinkDamaged(KwsError):
    """Frames were damaged or lost in flight mid-stream: audio the device did not compute, or
    events, credits or logits the host did not receive. The stream's results are void."""


PROBE_S = 0.5  # a stream with audio in flight and no frame for this long asks for STATS (a gap shows)


COUNTERS = ("bad_crc", "bad_frames", "seq_gaps", "rx_frames", "rx_lost")  # the device's link counters in STATS


def counters_since(stats: dict, before: dict) -> dict:
    """The device's link counters from ``before`` to ``stats`` (two STATS): its STATS count since
    boot, and bytes a host sent before its UART was up are not this session's."""
    return {k: stats[k] - before.get(k, 0) for k in COUNTERS if k in stats}


@dataclass
class StreamResult:
    events: list[tuple[int, int, int]] = field(default_factory=list)  # (class, score, sample)
    logits: list[bytes] = field(default_factory=list)
    errors: list[tuple[str, int]] = field(default_factory=list)
    samples_acked: int = 0
    seconds: float = 0.0
    event_received: list[float] = field(default_factory=list)  # host clock (time.monotonic) when each event arrived
    block_ends: list[int] = field(default_factory=list)  # samples sent up to the end of each AUDIO block
    block_sent: list[float] = field(default_factory=list)  # host clock when each block was sent
    stats: dict = field(default_factory=dict)  # the device's STATS at the end of the stream
    stats_before: dict = field(default_factory=dict)  # ... and at the handshake (its counters run from boot)
    link: dict = field(default_factory=dict)  # the host decoder's damage counts during it (all 0)

    def device_counters(self) -> dict:
        """The device's link counters during this stream."""
        return counters_since(self.stats, self.stats_before)

    def event_delays_ms(self) -> list[float]:
        """Per event: from sending the AUDIO block that held its window's last sample to its
        EVENT's arrival — the device's queue (at most ``credits`` blocks when the host streams
        faster than real time), its compute, and the link both ways."""
        import bisect

        out: list[float] = []
        if not self.block_sent:
            return out
        for (_, _, sample), t in zip(self.events, self.event_received):
            i = min(bisect.bisect_left(self.block_ends, sample), len(self.block_sent) - 1)
            out.append((t - self.block_sent[i]) * 1000.0)
        return out


def stream_again_on_damage(link: Link, pcm: np.ndarray, handshake, *, retries: int) -> tuple[StreamResult, list[str]]:
    """``handshake()`` then ``link.stream(pcm)``, from the beginning again (a new handshake
    resets the device's pipeline) after a restart or damage on the link voided the stream, at most
    ``retries`` times; the reason of each void attempt is returned beside the result. The only
    exact recovery: a device computes audio in order and cannot take a block back."""
    void: list[str] = []
    while True:
        handshake()
        try:
            return link.stream(pcm), void
        except (DeviceReset, LinkDamaged) as e:
            if len(void) >= retries:
                if not void:
                    raise
                raise type(e)(f"{e} (after {len(void)} void attempts: {void})") from e
            void.append(f"{type(e).__name__}: {e}")


class Link:
    def __init__(self, url: str, *, timeout: float = 10.0):
        import serial

        self.url = url
        self.timeout = timeout
        try:
            self.ser = serial.serial_for_url(url, timeout=0.02)
        except (serial.SerialException, OSError) as e:
            raise KwsError(f"cannot open {url}: {e}") from e
        sock = getattr(self.ser, "_socket", None)
        if sock is not None:  # lock-step traffic stalls without it (Nagle's delay on each small frame)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.dec = p.Decoder()
        self.seq = 0
        self.hello: p.Hello | None = None
        self.stats_at_handshake: dict = {}
        self.session_damage = (0, 0, 0)
        self.pending: list[p.Frame] = []

    @classmethod
    def wait_open(cls, url: str, *, wait: float, timeout: float = 10.0, alive=None) -> Link:
        """Opens ``url`` as soon as it exists: a board's USB port re-enumerates after an upload,
        an emulator's socket appears after start. ``alive()`` False (the emulator died) stops early."""
        import time

        deadline = time.monotonic() + wait
        while True:
            try:
                return cls(url, timeout=timeout)
            except KwsError:
                if (alive is not None and not alive()) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.ser.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, ftype: int, payload: bytes = b"") -> None:
        import serial

        try:
            self.ser.write(p.encode(ftype, self.seq, payload))
        except (serial.SerialException, OSError) as e:
            raise self._lost(e) from e
        self.seq = (self.seq + 1) & 0xFFFF

    def _poll(self) -> list[p.Frame]:
        import serial

        try:
            data = self.ser.read(4096)
        except (serial.SerialException, OSError) as e:
            raise self._lost(e) from e
        return self.dec.feed(data) if data else []

    def error_of(self, f: p.Frame, so_far: str) -> tuple[str, int]:
        """An ERROR frame as (name, sequence number); the device's boot announcement (ERROR 6)
        instead ends the session: DeviceReset, with ``so_far`` (the counts) in its message."""
        code, seq = p.parse_error(f.payload)
        if code == p.ERR_STARTED:
            raise self.restarted(so_far)
        return p.ERRORS.get(code, str(code)), seq

    def restarted(self, what: str) -> DeviceReset:
        self.hello = None  # no session survives a restart
        return DeviceReset(
            f"{self.url}: the device restarted mid-session: {what}; what it reported is void "
            "(handshake again and start over)"
        )

    def _lost(self, e: Exception) -> DeviceLost:
        return DeviceLost(
            f"{self.url}: the port went away ({e}) after {self.dec.frames} frames received "
            f"(bad crc {self.dec.bad_crc}, bad frames {self.dec.bad_frame})"
        )

    def wait_for(
        self, ftype: int, timeout: float | None = None, *, drop_older: bool | tuple[int, ...] = False
    ) -> p.Frame:
        """The oldest received frame of ``ftype``; frames of other types stay queued in order
        (``drop_older``: those received before it are discarded, e.g. stale frames before a HELLO;
        a tuple: those of these types)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, f in enumerate(self.pending):
                if f.type == ftype:
                    if drop_older is True:
                        del self.pending[:i]
                        i = 0
                    elif drop_older:
                        older = [g for g in self.pending[:i] if g.type not in drop_older]
                        self.pending[:i] = older
                        i = len(older)
                    return self.pending.pop(i)
            if time.monotonic() >= deadline:
                break
            self.pending.extend(self._poll())
        raise KwsError(
            f"{self.url}: no {p.NAMES.get(ftype, ftype)} within {timeout or self.timeout:.0f} s "
            f"(frames {self.dec.frames}, bad crc {self.dec.bad_crc}, bad frames {self.dec.bad_frame})"
        )

    def handshake(
        self,
        *,
        logits: bool = False,
        expect: dict | None = None,
        attempts: int = 20,
        thresholds: list[int] | None = None,
    ) -> p.Hello:
        """HELLO_REQ until HELLO (bytes sent before the device's UART is up are lost); then
        refuse a device whose front end, model or detector differs from ``expect``.
        ``thresholds``: the detector's per-class thresholds (Q(frac)) for this session instead of
        its built-in ones, in force from its first sample (a microphone starts with the HELLO_REQ);
        the device must confirm them."""
        req = bytes([1 if logits else 0]) + (p.thresholds_payload(thresholds) if thresholds is not None else b"")
        self.pending.clear()  # what is left of an earlier session (a void stream's frames) is stale
        for _ in range(attempts):
            self.send(p.HELLO_REQ, req)
            try:
                f = self.wait_for(p.HELLO, timeout=0.5, drop_older=True)
                break
            except KwsError:
                continue
        else:
            raise KwsError(f"{self.url}: the device never answered HELLO_REQ ({attempts} tries)")
        self.hello = p.Hello.parse(f.payload)
        s = self._stats_frame(attempts)  # the device's counters run from boot: the session's start here
        self.stats_at_handshake = p.parse_stats(s.payload)
        # damage after this counts against the session's frames: from the HELLO on for a microphone device
        # (it may report events at once), after the STATS for one that computes only the host's audio
        self.session_damage = f.damage if self.hello.audio_source == 1 else s.damage
        for key, want in (expect or {}).items():
            got = getattr(self.hello, key)
            if got != want:
                raise DeviceMismatch(
                    f"{self.url}: device {key} is {got:08x}, expected {want:08x}: flash the firmware "
                    "built from this spec and model"
                )
        # frames after the HELLO belong to this session (a microphone device may already report events)
        if thresholds is not None:
            self._check_thresholds(self.thresholds(), list(thresholds))
        return self.hello

    def stream(self, pcm: np.ndarray) -> StreamResult:
        """Send int16 audio in blocks within the device's credits; collect everything it says."""
        if self.hello is None:
            raise KwsError("handshake first")
        if self.hello.audio_source == 1:
            raise KwsError(
                f"{self.url}: this firmware listens to its own microphone and refuses host audio; use "
                "kws device listen, or flash the serial-audio build"
            )
        pcm = np.ascontiguousarray(pcm, dtype="<i2")
        block = self.hello.max_block
        res = StreamResult(stats_before=self.stats_at_handshake)
        t0 = time.monotonic()
        sent = 0
        dec = self.dec
        base = self.session_damage  # frames after the HELLO (some may wait in self.pending) count
        last_progress = last_frame = time.monotonic()
        probed = 0.0
        asked = answered = 0  # STATS requested and answered during the stream

        def so_far() -> str:
            return (
                f"it had acknowledged {res.samples_acked} of {pcm.size} samples, {len(res.events)} events received "
                f"(bad crc {dec.bad_crc - base[0]}, bad frames {dec.bad_frame - base[1]}, "
                f"sequence gaps {dec.seq_gaps - base[2]} from the device; its errors {res.errors[:5]})"
            )

        def check_damage() -> None:
            if dec.damage != base:
                raise LinkDamaged(
                    f"{self.url}: frames from the device were damaged or lost: {so_far()}; the stream is "
                    "void (stream again)"
                )

        def handle(f: p.Frame):
            nonlocal last_progress, answered
            if f.type == p.CREDIT:
                _, acked = p.parse_credit(f.payload)
                if acked < res.samples_acked:  # frames out of order, else its count started again (a reset)
                    check_damage()
                    raise self.restarted(f"{so_far()}, then {acked}")
                i = bisect.bisect_left(res.block_ends, acked)
                if acked and (i == len(res.block_ends) or res.block_ends[i] != acked):
                    raise LinkDamaged(
                        f"{self.url}: the device acknowledged {acked} samples, which no block sent "
                        f"ends at: {so_far()}; the stream is void"
                    )
                if acked > res.samples_acked:
                    last_progress = time.monotonic()
                res.samples_acked = acked
            elif f.type == p.EVENT:
                res.events.append(p.parse_event(f.payload))
                res.event_received.append(time.monotonic())
            elif f.type == p.LOGITS:
                res.logits.append(p.parse_logits(f.payload)[1])
            elif f.type == p.ERROR:
                res.errors.append(self.error_of(f, so_far()))
                raise LinkDamaged(
                    f"{self.url}: the device refused a frame ({res.errors[-1][0]}, seq "
                    f"{res.errors[-1][1]}): audio it did not compute; {so_far()}; the stream is void"
                )
            elif f.type == p.STATS and answered < asked:  # else a stale answer to a handshake's request
                res.stats = p.parse_stats(f.payload)
                answered += 1

        def pump() -> None:
            """Everything received, in order (a restart's ERROR 6 before the gap its new numbering makes)."""
            nonlocal last_frame
            frames = self._poll()
            if frames:
                last_frame = time.monotonic()
            for f in frames:
                handle(f)
            check_damage()

        try:
            for f in self.pending:
                handle(f)
            self.pending.clear()
            while res.samples_acked < pcm.size:
                # credits in flight are re-derived from what the device has acknowledged: never counted up
                in_flight = len(res.block_ends) - bisect.bisect_right(res.block_ends, res.samples_acked)
                for _ in range(self.hello.credits - in_flight):
                    if sent >= pcm.size:
                        break
                    chunk = pcm[sent : sent + block]
                    self.send(p.AUDIO, chunk.tobytes())
                    sent += chunk.size
                    res.block_ends.append(sent)
                    res.block_sent.append(time.monotonic())
                pump()
                now = time.monotonic()
                if now - last_frame > PROBE_S and now - probed > PROBE_S:
                    self.send(p.STATS_REQ)  # its answer shows a gap if the device's last frames were lost
                    asked += 1
                    probed = now
                if now - last_progress > self.timeout:
                    raise KwsError(f"{self.url}: no progress for {self.timeout:.0f} s: {so_far()}")
            # every event of the stream precedes the answer to this request: then count them
            self.send(p.STATS_REQ)
            asked += 1
            probed = time.monotonic()
            deadline = probed + self.timeout
            while answered < asked:
                pump()
                now = time.monotonic()
                if now - max(last_frame, probed) > PROBE_S:  # a request or its answer lost: the next shows it
                    self.send(p.STATS_REQ)
                    asked += 1
                    probed = now
                if now > deadline:
                    raise KwsError(f"{self.url}: no STATS within {self.timeout:.0f} s after the stream: {so_far()}")
            if res.stats["events"] != len(res.events):
                raise LinkDamaged(
                    f"{self.url}: the device sent {res.stats['events']} events, {len(res.events)} "
                    f"arrived: {so_far()}; the stream is void"
                )
        except DeviceLost as e:
            raise DeviceLost(
                f"{e}; {res.samples_acked} of {pcm.size} samples acknowledged, {len(res.events)} events"
            ) from e
        res.link = {
            "bad_crc": dec.bad_crc - base[0],
            "bad_frames": dec.bad_frame - base[1],
            "seq_gaps": dec.seq_gaps - base[2],
        }
        res.seconds = time.monotonic() - t0
        return res

    def thresholds(self, thresholds_q: list[int] | None = None) -> tuple[bool, list[int]]:
        """The detector's per-class thresholds in force on the device (Q(frac), kws.reference.detector) and
        whether the host set them this session; with ``thresholds_q``, sets them first (from the
        next network run on; the next handshake restores the built-in ones unless it sets its own)."""
        if self.hello is None:
            raise KwsError("handshake first")
        if thresholds_q is not None and len(thresholds_q) != self.hello.classes:
            raise KwsError(f"{self.url}: {len(thresholds_q)} thresholds for a device with {self.hello.classes} classes")
        self.send(p.THRESHOLDS_REQ, p.thresholds_payload(thresholds_q) if thresholds_q is not None else b"")
        mine = (self.seq - 1) & 0xFFFF
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for i, f in enumerate(self.pending):
                if f.type == p.THRESHOLDS:
                    del self.pending[i]
                    got = p.parse_thresholds(f.payload)
                    if thresholds_q is not None:
                        self._check_thresholds(got, list(thresholds_q))
                    return got
                if f.type == p.ERROR and f.payload[:1] == bytes([p.ERR_STARTED]):
                    self.error_of(f, "before it answered THRESHOLDS_REQ")  # raises DeviceReset
                if f.type == p.ERROR and p.parse_error(f.payload)[1] == mine:
                    del self.pending[i]
                    code = f.payload[0]
                    if code == p.ERR_UNKNOWN:
                        raise KwsError(
                            f"{self.url}: this firmware cannot take thresholds at run time (it predates "
                            "THRESHOLDS_REQ): flash the current firmware, or build it with these "
                            "thresholds (kws eval --calibrate, then kws codegen model)"
                        )
                    raise KwsError(f"{self.url}: the device refused THRESHOLDS_REQ: {p.ERRORS.get(code, code)}")
            self.pending.extend(self._poll())
        raise KwsError(f"{self.url}: no THRESHOLDS within {self.timeout:.0f} s")

    def _check_thresholds(self, got: tuple[bool, list[int]], want: list[int]) -> None:
        if got != (True, want):
            raise KwsError(
                f"{self.url}: the device did not take the thresholds: asked {want}, it runs {got[1]}"
                + ("" if got[0] else " (its built-in ones)")
            )

    def stats(self, *, attempts: int = 1) -> dict:
        """The device's STATS; with ``attempts`` > 1 asked again after 0.5 s without an answer (a
        request or its answer lost on the link: asking again is harmless)."""
        return p.parse_stats(self._stats_frame(attempts).payload)

    def _stats_frame(self, attempts: int) -> p.Frame:
        """STATS; the device's ERRORs before it answer requests lost on the way (asked again)."""
        for _ in range(1, attempts):
            self.send(p.STATS_REQ)
            try:
                return self.wait_for(p.STATS, timeout=0.5, drop_older=(p.ERROR,))
            except KwsError:
                continue
        self.send(p.STATS_REQ)
        return self.wait_for(p.STATS, drop_older=(p.ERROR,) if attempts > 1 else False)

    def monitor(self, *, reset: bool = False):
        """The device's feature statistics (kws.reference.monitor.FeatureStats); ``reset`` starts a new
        period on the device after the report."""
        from kws.reference.monitor import FeatureStats

        self.send(p.MONITOR_REQ, bytes([1 if reset else 0]))
        return FeatureStats.from_bytes(self.wait_for(p.MONITOR).payload, source=f"{self.url} MONITOR")
