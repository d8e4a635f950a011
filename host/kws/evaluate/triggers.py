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


def window_span(spec) -> int:
    """Samples covered by one network window (its frames, first sample to last)."""
    fe = spec.frontend
    return (spec.model.window_frames - 1) * fe.hop_samples + fe.window_samples


def kind_of(word: dict) -> str:
    """near-miss, keyword or other word (labels starting with "_" are not keywords)."""
    if word["near_miss"]:
        return "near-miss"
    return "other word" if word["label"].startswith("_") else "keyword"


def attribute(events: list[tuple[str, int]], words: list[dict], span: int) -> list[dict]:
    """One record per false-accept event (label, sample): what it fired as, what was said."""
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
            }
        )
    return out


def summarize(records: list[dict], words: list[dict], top: int = 12) -> dict:
    """Counts by kind, how many words of each kind the streams said and the false accepts per
    100 of them (a rate that carries over to another mix of words), and the most frequent
    (fired as, word said) pairs."""
    kinds = Counter(r["kind"] for r in records)
    said = Counter(kind_of(w) for w in words)
    pairs = Counter((r["fired"], r["said"]) for r in records if r["said"] is not None)
    return {
        "false_accepts": len(records),
        "by_kind": {k: kinds.get(k, 0) for k in KINDS},
        "words_said": {k: said.get(k, 0) for k in KINDS[:3]},
        "per_100_words": {k: 100.0 * kinds.get(k, 0) / said[k] if said.get(k) else None for k in KINDS[:3]},
        "top": [{"fired": f, "said": w, "count": c} for (f, w), c in pairs.most_common(top)],
    }


def describe(summary: dict, top: int = 6) -> str:
    """One line for the terminal: shares by kind, then the commonest pairs."""
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
    return f"{n} heard: {kinds}" + (f"; most often {pairs}" if pairs else "")
