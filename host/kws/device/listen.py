"""`kws device listen`: a board listening to its own microphone; the host collects its
detections (EVENT frames) as they happen, and its counters (audio overruns: the board was too
slow for real time) at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kws.device import protocol as p
from kws.errors import KwsError


@dataclass
class ListenResult:
    events: list[tuple[int, int, int]] = field(default_factory=list)  # (class, score Q15, sample)
    errors: list[tuple[str, int]] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    interrupted: bool = False
    link: dict = field(default_factory=dict)  # damage on the way from the device while listening

    @property
    def lost(self) -> str | None:
        """Why events may be missing (frames damaged or lost, or fewer events than the device
        counted), or None: every event the device sent arrived."""
        damage = {k: v for k, v in self.link.items() if v}
        if damage:
            return f"frames from the device damaged or lost: {damage}"
        if "events" in self.stats and self.stats["events"] != len(self.events):
            return f"the device counted {self.stats['events']} events, {len(self.events)} arrived"
        return None


def device_listen(
    link, *, seconds: float | None = None, until_frames: int | None = None, on_event=None, poll_stats: float = 0.5
) -> ListenResult:
    """Collects events until ``seconds`` (wall clock) passed, the device has computed
    ``until_frames`` feature frames, or Ctrl-C. The link must have shaken hands with a device
    whose audio source is its microphone."""
    if link.hello is None:
        raise KwsError("handshake first")
    if link.hello.audio_source != 1:
        raise KwsError(
            f"{link.url}: this firmware takes its audio from the host (kws device stream); flash the "
            "microphone build (e.g. kws flash --env nano33ble) to listen"
        )
    res = ListenResult()
    dec = link.dec
    base = link.session_damage  # from the HELLO on: events may arrive with it
    t0 = time.monotonic()
    next_stats = t0
    try:
        while seconds is None or time.monotonic() - t0 < seconds:
            if until_frames is not None and time.monotonic() >= next_stats:
                link.send(p.STATS_REQ)
                next_stats = time.monotonic() + poll_stats
            frames = link.pending + link._poll()
            link.pending = []
            for f in frames:
                if f.type == p.EVENT:
                    ev = p.parse_event(f.payload)
                    res.events.append(ev)
                    if on_event:
                        on_event(ev)
                elif f.type == p.STATS:
                    res.stats = p.parse_stats(f.payload)
                elif f.type == p.ERROR:
                    res.errors.append(link.error_of(f, f"{len(res.events)} events heard before it"))
            if until_frames is not None and res.stats.get("frames", 0) >= until_frames:
                break
    except KeyboardInterrupt:
        res.interrupted = True
    res.stats = link.stats()
    res.link = {
        "bad_crc": dec.bad_crc - base[0],
        "bad_frames": dec.bad_frame - base[1],
        "seq_gaps": dec.seq_gaps - base[2],
    }
    return res
