"""How sure a stream figure is, and whether two models differ on the same streams.

A day of negatives with a dozen false accepts, or 105 keywords of which 80 are missed, are
small counts: the figure read off them moves by several points from one draw of voices,
seeds or streams to the next. Every total ``kws eval`` reports therefore carries a 95 %
interval, and two evaluations of the same streams can be compared occurrence by occurrence.

- **FRR interval**: Clopper-Pearson (exact binomial) on missed / occurrences.
- **FA/hr interval**: Garwood (exact Poisson) on the false-accept count, divided by the hours.
- **Paired misses** (McNemar, exact): the same keyword occurrences scored for two models; only
  the occurrences one model finds and the other misses carry information. Two-sided p from
  the binomial test of those discordant counts at 1/2. Keywords of one voice are not
  independent, so the same comparison is also made with voices as the units
  (``paired_misses_by_voice``, a sign-flip permutation test) when the streams' label files
  name each keyword's voice.
- **FA/hr interval by recordings** (``rate_interval_by_takes``): long streams repeat a few hundred
  recordings, and a recording that fires once tends to fire again on its repeats, so false
  accepts are not independent events. With each recording said as the unit: a bootstrap over
  the recordings said (their false-accept counts, most of them 0), plus a Poisson draw for the
  false accepts where no word was said; percentile interval, seeded. It is the interval to read a day of repeated
  recordings by: the Poisson one says how sure the count is for these recordings, this one how
  sure the rate is for other recordings like them.
- **False accepts** (exact conditional test of two Poisson rates): given n = a + b false
  accepts over hours h_a and h_b, a is binomial(n, h_a / (h_a + h_b)) when the rates are equal.

``compare`` reads two ``kws eval`` results (eval.json, or bench/eval_24h.py's JSON) and, for each
FA/hr level, takes each model's lowest FRR along its ``det_all`` within that level (the DET
reading the docs tables use) and tests the difference. The levels are read off the same
curves, so their p-values are not independent: one small p among several levels is weak
evidence; a difference that holds at every level with small p is not a draw of the dice.
"""

from __future__ import annotations

import hashlib
import json

from scipy import stats

LEVEL = 0.95
FA_LEVELS = (20.0, 10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1)


def frr_interval(missed: int, occurrences: int, level: float = LEVEL) -> list[float] | None:
    """Exact binomial interval for missed / occurrences (None without occurrences)."""
    if occurrences <= 0:
        return None
    ci = stats.binomtest(int(missed), int(occurrences)).proportion_ci(confidence_level=level, method="exact")
    return [float(ci.low), float(ci.high)]


def rate_interval(count: int, hours: float, level: float = LEVEL) -> list[float] | None:
    """Exact Poisson interval for ``count`` events in ``hours``, per hour (None without hours)."""
    if hours <= 0:
        return None
    a = 1.0 - level
    lo = 0.0 if count == 0 else stats.chi2.ppf(a / 2, 2 * count) / 2
    hi = stats.chi2.ppf(1 - a / 2, 2 * count + 2) / 2
    return [float(lo / hours), float(hi / hours)]


def rate_interval_by_takes(
    per_take: list[int],
    no_speech: int,
    hours: float,
    level: float = LEVEL,
    *,
    draws: int = 20_000,
    seed: int = 0,
) -> list[float] | None:
    """FA/hr interval with each recording as the unit: ``per_take`` holds the false accepts of
    every recording said (0 for most), ``no_speech`` those where no word was said. Bootstrap over
    the recordings (``draws`` seeded resamples) plus a Poisson draw of the no-speech count;
    percentile interval, per hour. None without hours or recordings."""
    import numpy as np

    if hours <= 0 or not per_take:
        return None
    rng = np.random.default_rng(seed)
    counts = np.asarray(per_take, dtype=np.int64)
    totals = counts[rng.integers(0, counts.size, size=(draws, counts.size))].sum(axis=1)
    totals = totals + rng.poisson(no_speech, size=draws)
    a = 1.0 - level
    lo, hi = np.quantile(totals, [a / 2, 1 - a / 2])
    return [float(lo / hours), float(hi / hours)]


def paired_misses(hits_a: str, hits_b: str) -> dict:
    """McNemar's exact test on two models' outcomes for the same occurrences ("1" found, "0"
    missed, in the same order). ``only_a``: found by A alone; ``only_b``: by B alone."""
    if len(hits_a) != len(hits_b):
        raise ValueError(f"paired outcomes of different lengths ({len(hits_a)} and {len(hits_b)})")
    only_a = sum(1 for x, y in zip(hits_a, hits_b) if x == "1" and y == "0")
    only_b = sum(1 for x, y in zip(hits_a, hits_b) if x == "0" and y == "1")
    n = only_a + only_b
    p = 1.0 if n == 0 else float(stats.binomtest(only_a, n, 0.5).pvalue)
    return {"only_a": only_a, "only_b": only_b, "p": p}


def paired_misses_by_voice(hits_a: str, hits_b: str, voices: list[str], *, draws: int = 200_000, seed: int = 0) -> dict:
    """The paired test with voices, not keywords, as the independent units: keywords of one voice
    share its quirks (a test day's wake words came 40 of 105 from one person), so McNemar's test
    on keywords overstates how sure a difference is. Per voice, d = keywords only A found minus
    keywords only B found; under no difference either model is as likely to be the better one
    on each voice, so every voice's d flips sign with probability 1/2 (a sign-flip permutation
    test; exact over all flips up to 2^16 of them, else ``draws`` seeded random flips).
    Two-sided p = share of flips with |sum| >= the observed |sum|."""
    import numpy as np

    if not len(hits_a) == len(hits_b) == len(voices):
        raise ValueError(
            f"paired outcomes and voices of different lengths ({len(hits_a)}, {len(hits_b)}, {len(voices)})"
        )
    d: dict[str, int] = {}
    for x, y, v in zip(hits_a, hits_b, voices):
        d[v] = d.get(v, 0) + (x == "1" and y == "0") - (x == "0" and y == "1")
    nz = np.array([v for v in d.values() if v != 0], dtype=np.int64)
    observed = abs(int(nz.sum()))
    if nz.size == 0:
        return {"voices": len(d), "voices_differing": 0, "p": 1.0}
    if nz.size <= 16:
        signs = ((np.arange(2**nz.size)[:, None] >> np.arange(nz.size)) & 1) * 2 - 1
    else:
        signs = np.random.default_rng(seed).choice(np.array([-1, 1]), size=(draws, nz.size))
    sums = np.abs(signs @ nz)
    return {"voices": len(d), "voices_differing": int(nz.size), "p": float(np.mean(sums >= observed))}


def rate_difference(count_a: int, hours_a: float, count_b: int, hours_b: float) -> float:
    """Two-sided p that two false-accept counts come from the same rate per hour."""
    n = int(count_a) + int(count_b)
    if n == 0:
        return 1.0
    return float(stats.binomtest(int(count_a), n, hours_a / (hours_a + hours_b)).pvalue)


def misses_by_voice(hits: str, voices: list[str]) -> dict:
    """Occurrences, misses and FRR per voice of per-occurrence ``hits`` ("1" found, "0" missed)."""
    per: dict[str, list[int]] = {}
    for v, h in zip(voices, hits, strict=True):
        n = per.setdefault(v, [0, 0])
        n[0] += 1
        n[1] += h == "0"
    return {v: {"occurrences": n, "missed": m, "frr": m / n} for v, (n, m) in sorted(per.items())}


def voice_mean_frr(hits: str, voices: list[str]) -> float:
    """The mean over voices of each voice's FRR: every speaker weighs the same, however many
    keywords the stream gave it (a test split's few voices rarely speak equally often; the wake
    word's test day has 40 of its 105 wake words from one person)."""
    per = misses_by_voice(hits, voices)
    return sum(m["frr"] for m in per.values()) / len(per)


def with_intervals(total: dict, level: float = LEVEL) -> dict:
    """``total`` (occurrences, frr, false_accepts, hours) with its FRR and FA/hr intervals added."""
    occ = total["occurrences"]
    missed = round(total["frr"] * occ)
    return {
        **total,
        "frr_ci95": frr_interval(missed, occ, level),
        "fa_per_hour_ci95": rate_interval(total["false_accepts"], total["hours"], level),
    }


def occurrences_key(items) -> str:
    """Identity of the scored occurrences: sha256 over (stream, label, start, end) in order."""
    return hashlib.sha256(json.dumps([list(x) for x in items], separators=(",", ":")).encode()).hexdigest()


def best_within(det_all: list[dict], fa_level: float) -> dict | None:
    """The lowest-FRR point (then the lowest threshold) whose FA/hr is within ``fa_level``."""
    ok = [p for p in det_all if p["fa_per_hour"] <= fa_level]
    return min(ok, key=lambda p: (p["frr"], p["threshold"])) if ok else None


def compare(a: dict, b: dict, *, fa_levels=FA_LEVELS, names=("A", "B")) -> dict:
    """Paired comparison of two evaluations of the same streams (see the module's text)."""
    from kws.errors import KwsError

    for r, name in zip((a, b), names):
        missing = [k for k in ("occurrences_key", "det_all") if k not in r] + (
            ["hits in det_all"] if r.get("det_all") and "hits" not in r["det_all"][0] else []
        )
        if missing:
            raise KwsError(f"{name}: no {', '.join(missing)} (evaluate it again with this version of kws eval)")
    if a["occurrences_key"] != b["occurrences_key"]:
        raise KwsError(
            f"{names[0]} and {names[1]} were not scored on the same keyword occurrences "
            "(other streams or labels): a paired comparison needs the same streams"
        )
    ha, hb = a["det_all"][0]["hours"], b["det_all"][0]["hours"]
    if abs(ha - hb) > 1e-6 * max(ha, hb):
        raise KwsError(f"{names[0]} and {names[1]} cover different hours of audio ({ha:.3f} and {hb:.3f})")
    # keywords grouped by voice when both results know them (streams made with the voice column)
    voices = a.get("occurrence_voices") if a.get("occurrence_voices") == b.get("occurrence_voices") else None
    rows = []
    for level in fa_levels:
        pa, pb = best_within(a["det_all"], level), best_within(b["det_all"], level)
        row = {"fa_level": level, "a": _point(pa), "b": _point(pb)}
        if pa and pb:
            row["misses"] = paired_misses(pa["hits"], pb["hits"])
            if voices:
                row["misses"]["by_voice"] = paired_misses_by_voice(pa["hits"], pb["hits"], voices)
            row["false_accepts_p"] = rate_difference(pa["false_accepts"], pa["hours"], pb["false_accepts"], pb["hours"])
        rows.append(row)
    return {
        "names": list(names),
        "occurrences": a["det_all"][0]["occurrences"],
        "hours": ha,
        "voices": len(set(voices)) if voices else None,
        "confidence": LEVEL,
        "levels": rows,
    }


def compare_clips(a: dict, b: dict, *, names=("A", "B")) -> dict:
    """Paired comparison of two ``kws eval --clips`` results on the same clips: each accuracy with
    its interval, the clips only one model gets right (McNemar), and the same by voices."""
    from kws.errors import KwsError

    for r, name in zip((a, b), names):
        if "outcomes" not in r:
            raise KwsError(f"{name}: no per-clip outcomes (evaluate it again with this version of kws eval --clips)")
    if a["clip_ids_key"] != b["clip_ids_key"]:
        raise KwsError(
            f"{names[0]} and {names[1]} were not scored on the same clips (other data set or split): "
            "a paired comparison needs the same clips"
        )
    n = len(a["outcomes"])

    def acc(r):
        right = r["outcomes"].count("1")
        return {"accuracy": right / n, "accuracy_ci95": frr_interval(right, n)}

    m = paired_misses(a["outcomes"], b["outcomes"])
    m["by_voice"] = paired_misses_by_voice(a["outcomes"], b["outcomes"], a["clip_voices"])
    return {
        "names": list(names),
        "clips": n,
        "voices": len(set(a["clip_voices"])),
        "confidence": LEVEL,
        "a": acc(a),
        "b": acc(b),
        "right": m,
    }


def format_clip_comparison(c: dict) -> str:
    na, nb = c["names"]
    m = c["right"]

    def cell(x):
        lo, hi = x["accuracy_ci95"]
        return f"{x['accuracy']:.1%} [{lo:.1%}, {hi:.1%}]"

    return (
        f"{na} against {nb} on {c['clips']} clips of {c['voices']} voices (int8 accuracy, "
        f"{c['confidence']:.0%} intervals):\n  {na}: {cell(c['a'])}\n  {nb}: {cell(c['b'])}\n"
        f"  clips only {na} gets right: {m['only_a']}, only {nb}: {m['only_b']}; p {m['p']:.3g} (McNemar, clips), "
        f"p {m['by_voice']['p']:.3g} (by voices: {m['by_voice']['voices_differing']} of {m['by_voice']['voices']} "
        "differ), the one to trust"
    )


def _point(p: dict | None) -> dict | None:
    if p is None:
        return None
    return {k: p.get(k) for k in ("threshold", "frr", "fa_per_hour", "false_accepts")} | with_intervals(
        {k: p[k] for k in ("occurrences", "frr", "false_accepts", "hours")}
    )


def format_comparison(c: dict) -> str:
    """The comparison as a table a person reads."""
    na, nb = c["names"]
    wa, wb = max(24, len(na) + 4), max(24, len(nb) + 4)
    lines = [
        f"{na} against {nb}: {c['occurrences']} keywords, {c['hours']:.1f} h of audio; "
        f"FRR with its {c['confidence']:.0%} interval at each model's best point within each FA/hr",
        f"{'FA/hr':>6}  {'FRR ' + na:>{wa}}  {'FRR ' + nb:>{wb}}  {'found by one only':>18}  {'p (keywords)':>12}"
        f"  {'p (voices)':>10}",
    ]
    for r in c["levels"]:

        def cell(p):
            if p is None:
                return "none within"
            lo, hi = p["frr_ci95"] or (0, 0)
            return f"{p['frr']:.1%} [{lo:.0%}, {hi:.0%}]"

        m = r.get("misses")
        one = f"{m['only_a']} / {m['only_b']}" if m else "-"
        p = f"{m['p']:.3f}" if m else "-"
        pv = f"{m['by_voice']['p']:.3f}" if m and "by_voice" in m else "-"
        lines.append(f"{r['fa_level']:>6g}  {cell(r['a']):>{wa}}  {cell(r['b']):>{wb}}  {one:>18}  {p:>12}  {pv:>10}")
    lines.append(
        f"found by one only: keywords {na} found and {nb} missed / the reverse. p (keywords): McNemar, "
        "exact; p (voices): the same with each voice's keywords as one unit (sign flips over "
        + (f"{c['voices']} voices" if c.get("voices") else "voices: not in these streams' label files")
        + "), "
        "the one to trust. Levels share one curve: their p-values are not independent"
    )
    return "\n".join(lines)
