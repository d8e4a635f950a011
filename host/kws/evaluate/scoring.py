"""Scoring of detection events against ground truth (MLPerf Tiny's streaming rule).

- A keyword occurrence (label, start, end) is **detected** when an event of the same label
  falls in [start, end + 1 s]; the first such event is its detection, and its **latency** is
  event sample - end.
- Every other event is a **false accept**: outside any occurrence's window, or of the wrong
  keyword inside one, or a second event on an already detected occurrence. False accepts
  closer than 1 s to the previous false accept count once (debounce).
- **FRR** = undetected occurrences / occurrences. **FA/hr** = false accepts / hours of audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Score:
    occurrences: int
    detected: int
    false_accepts: int
    hours: float
    latencies_ms: list[float] = field(default_factory=list)
    false_accept_events: list[tuple[str, int]] = field(default_factory=list)  # the counted ones
    hits: str = ""  # per occurrence in order of start: "1" detected, "0" missed (paired comparisons)
    detection_samples: list[int] = field(default_factory=list)  # the event that detected each, as latencies_ms

    @property
    def frr(self) -> float:
        return 1.0 - self.detected / self.occurrences if self.occurrences else 0.0

    @property
    def fa_per_hour(self) -> float:
        return self.false_accepts / self.hours if self.hours > 0 else 0.0

    def latency(self, q: float) -> float | None:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else None

    def as_dict(self) -> dict:
        return {
            "occurrences": self.occurrences,
            "detected": self.detected,
            "frr": self.frr,
            "false_accepts": self.false_accepts,
            "hours": self.hours,
            "fa_per_hour": self.fa_per_hour,
            "latency_ms_p50": self.latency(50),
            "latency_ms_p95": self.latency(95),
        }


def score(
    events: list[tuple[str, int]],
    truth: list[tuple[str, int, int]],
    *,
    total_samples: int,
    rate: int,
    only: str | None = None,
) -> Score:
    """Score ``events`` [(label, sample)] against ``truth`` [(label, start, end)]. With ``only``,
    just that keyword's occurrences and events (its FA/hr and FRR)."""
    if only is not None:
        events = [e for e in events if e[0] == only]
        truth = [t for t in truth if t[0] == only]
    grace = rate  # 1 s after the word's end
    truth = sorted(truth, key=lambda t: t[1])
    detected = [False] * len(truth)
    latencies, detections = [], []
    fa_times = []
    for label, sample in sorted(events, key=lambda e: e[1]):
        hit = None
        for i, (tl, start, end) in enumerate(truth):
            if start <= sample <= end + grace and tl == label and not detected[i]:
                hit = i
                break
        if hit is None:
            fa_times.append((sample, label))
        else:
            detected[hit] = True
            latencies.append((sample - truth[hit][2]) * 1000.0 / rate)
            detections.append(sample)
    counted = []
    last = None
    for s, label in fa_times:
        if last is None or s - last >= rate:
            counted.append((label, s))
        last = s
    return Score(
        len(truth),
        sum(detected),
        len(counted),
        total_samples / rate / 3600.0,
        latencies,
        counted,
        "".join("1" if d else "0" for d in detected),
        detections,
    )
