"""What each false accept heard: the spoken word inside the window that fired.

A detection at sample ``s`` fired on the network's window ``[s - span, s)``. A false accept is
attributed to the word (from the stream's ``.words.csv``, kws.data.streams) whose speech overlaps
that window most — on a tie the later one, the word the window ends on — or to ``no speech``
when no word overlaps it. Each is one of:

- ``near-miss``: a word of the task's near-miss list (gown, oft, stock...);
- ``keyword``: a keyword was said, and the event named another keyword or fired twice;
- ``other word``: any other word;
- ``no speech``: background only.

This says where a model's false accepts come from (which words to train against, or whether it
fires on noise); it does not change how they are counted (kws.evaluate.scoring).
"""

from __future__ import annotations

import bisect
from collections import Counter

KINDS = ("near-miss", "other word", "keyword", "no speech")
# A negative stream whose recordings are each said this many times or more (the median) measures
# those recordings, not hours of independent speech: `kws eval` says so beside the thresholds it fits.
REPEATED_TAKES = 10


def window_span(spec) -> int:
    """Samples covered by one network window (its frames, first sample to last)."""
    fe = spec.frontend
    return (spec.model.window_frames - 1) * fe.hop_samples + fe.window_samples


def kind_of(word: dict) -> str:
    """near-miss, keyword or other word (labels starting with "_" are not keywords)."""
    if word["near_miss"]:
        return "near-miss"
    return "other word" if word["label"].startswith("_") else "keyword"


def _bed_under(beds: list[tuple[int, int, str]], lo: int, hi: int) -> str | None:
    """The background kind that covers most of ``[lo, hi)`` (beds sorted by start, not overlapping)."""
    i = max(bisect.bisect_right(beds, (lo,)) - 1, 0)
    best, best_ov = None, 0
    for a, b, kind in beds[i:]:
        if a >= hi:
            break
        ov = min(hi, b) - max(lo, a)
        if ov > best_ov:
            best, best_ov = kind, ov
    return best


def attribute(
    events: list[tuple[str, int]], words: list[dict], span: int, beds: list[tuple[int, int, str]] | None = None
) -> list[dict]:
    """One record per false-accept event (label, sample): what it fired as, what was said and,
    given the stream's ``beds`` (kws.data.streams.read_beds), the background it was said over."""
    starts = [w["start_sample"] for w in words]
    longest = max((w["end_sample"] - w["start_sample"] for w in words), default=0)
    out = []
    for label, s in events:
        lo, hi = s - span, s
        best, best_ov = None, 0
        for i in range(bisect.bisect_right(starts, lo - longest), bisect.bisect_left(starts, hi)):
            w = words[i]
            ov = min(hi, w["end_sample"]) - max(lo, w["start_sample"])
            if ov > 0 and ov >= best_ov:
                best, best_ov = w, ov
        kind = kind_of(best) if best is not None else "no speech"
        out.append(
            {
                "fired": label,
                "sample": s,
                "kind": kind,
                "said": best["word"] if best else None,
                "text": best["text"] if best else None,
                "take": best.get("clip_id") if best else None,
                "bed": _bed_under(beds, lo, hi) if beds else None,
            }
        )
    return out


def summarize(
    records: list[dict],
    words: list[dict],
    top: int = 12,
    *,
    hours: float = 0.0,
    bed_seconds: dict[str, float] | None = None,
) -> dict:
    """Counts by kind, how many words of each kind the streams said and the false accepts per
    100 of them (a rate that carries over to another mix of words), the most frequent
    (fired as, word said) pairs, and ``takes``: the recordings behind them.

    Long streams repeat a finite set of recordings (takes): a day of negatives made from a few
    hundred takes says each of them a couple of hundred times, and a take that fires once tends
    to fire again on its repeats (over other backgrounds and gains). ``takes`` counts the
    distinct takes said and those that fired, the false accepts of the takes that fired most
    (with how often each was said) and the share of all false accepts on speech that the top
    five account for. When that share is large the
    FA/hr rests on a handful of recordings, not on hours of independent speech. Given the
    ``hours`` of the streams, ``takes`` also gives ``fa_per_hour_ci95``: the FA/hr interval with
    each recording as the unit (kws.evaluate.stats.rate_interval_by_takes), the one that says how
    far the rate can move for other recordings like these. Given ``bed_seconds`` (how long each
    kind of background played), ``no_speech_by_bed`` splits the false accepts on no speech by the
    background they fired on, with each kind's rate per hour of it: babble is speech too, and a
    model that fires on it is hearing voices the words file does not list."""
    from kws.evaluate.stats import rate_interval_by_takes

    kinds = Counter(r["kind"] for r in records)
    said = Counter(kind_of(w) for w in words)
    pairs = Counter((r["fired"], r["said"]) for r in records if r["said"] is not None)
    said_takes = Counter(w["clip_id"] for w in words if w.get("clip_id"))
    fired_takes = Counter((r["fired"], r["said"], r["take"]) for r in records if r.get("take"))
    by_take: Counter = Counter()
    for (_, _, t), c in fired_takes.items():
        by_take[t] += c
    on_takes = sum(by_take.values())
    by_bed = Counter(r.get("bed") for r in records if r["kind"] == "no speech")
    no_speech_by_bed = (
        {
            k: {
                "false_accepts": by_bed.get(k, 0),
                "hours": sec / 3600.0,
                "fa_per_hour": by_bed.get(k, 0) / (sec / 3600.0) if sec else None,
            }
            for k, sec in sorted(bed_seconds.items())
        }
        if bed_seconds
        else None
    )
    return {
        "false_accepts": len(records),
        "by_kind": {k: kinds.get(k, 0) for k in KINDS},
        "words_said": {k: said.get(k, 0) for k in KINDS[:3]},
        "per_100_words": {k: 100.0 * kinds.get(k, 0) / said[k] if said.get(k) else None for k in KINDS[:3]},
        "top": [{"fired": f, "said": w, "count": c} for (f, w), c in pairs.most_common(top)],
        "takes": {
            "said": len(said_takes),
            "fired": len(by_take),
            "top": [
                {"fired": f, "said": w, "take": t, "count": c, "times_said": said_takes.get(t, 0)}
                for (f, w, t), c in fired_takes.most_common(top)
            ],
            "top5_share": sum(c for _, c in fired_takes.most_common(5)) / on_takes if on_takes else None,
            "fa_per_hour_ci95": rate_interval_by_takes(
                [by_take.get(t, 0) for t in said_takes], len(records) - on_takes, hours
            ),
        },
        "no_speech_by_bed": no_speech_by_bed,
    }


def negative_takes(streams_words: list[list[dict]]) -> dict | None:
    """The recordings behind streams without keywords (their ``.words.csv`` rows): how many distinct
    takes, how many sayings, and the median number of times a take is said; None without words."""
    said = Counter(w["clip_id"] for words in streams_words for w in words if w.get("clip_id"))
    if not said:
        return None
    reps = sorted(said.values())
    return {"takes": len(said), "sayings": sum(reps), "repeats_median": reps[len(reps) // 2], "repeats_max": reps[-1]}


def describe(summary: dict, top: int = 6) -> str:
    """One line for the terminal: shares by kind, the commonest pairs, then how many takes fired."""
    n = summary["false_accepts"]
    if not n:
        return "no false accepts"
    rate = summary["per_100_words"]
    kinds = ", ".join(
        f"{k} {c / n:.0%}" + (f" ({rate[k]:.1f} per 100 said)" if rate.get(k) is not None else "")
        for k, c in summary["by_kind"].items()
        if c
    )
    pairs = ", ".join(f"'{p['said']}' -> {p['fired']} {p['count']}" for p in summary["top"][:top])
    takes = summary.get("takes") or {}
    spread = (
        f"; {takes['fired']} of {takes['said']} takes fired, the top five {takes['top5_share']:.0%} of those on speech"
        if takes.get("fired")
        else ""
    )
    ci = takes.get("fa_per_hour_ci95")
    if takes.get("fired") and ci:
        spread += f" (FA/hr with the takes as units: 95 % {ci[0]:.1f}–{ci[1]:.1f})"
    beds = summary.get("no_speech_by_bed") or {}
    on_beds = ", ".join(
        f"{k} {b['false_accepts']} ({b['fa_per_hour']:.1f}/hr of it)"
        for k, b in sorted(beds.items(), key=lambda kv: -kv[1]["false_accepts"])
        if b["false_accepts"]
    )
    if on_beds:
        spread += f"; on no speech, by background: {on_beds}"
    return f"{n} heard: {kinds}" + (f"; most often {pairs}" if pairs else "") + spread
