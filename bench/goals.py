"""Where the product stands against every goal (bench/goals.toml, by area): reads the released models'
manifests and the benchmark results (bench/results/*.json), compares them with the targets in
bench/goals.toml, and writes bench/results/goals.json and goals.md. It measures nothing itself:
every row names the file its figure comes from; the command that makes that file is in the
file's own script (bench/<name>.py) or, for a manifest, `kws release` / `kws budget --record`.

    python bench/goals.py

A result file that does not exist yet is reported as "not measured", never as met.
"""

from __future__ import annotations

import argparse
import json
import tomllib

from kws.evaluate.stats import frr_interval, rate_interval
from kws.fsio import write_if_changed
from kws.paths import REPO_ROOT

MODELS = ("commands", "wakeword")


def _load(rel: str) -> dict | None:
    p = REPO_ROOT / rel
    return json.loads(p.read_text()) if p.exists() else None


def _row(area: str, goal: str, target: str, value: str, met: bool | None, source: str) -> dict:
    return {
        "area": area,
        "goal": goal,
        "target": target,
        "measured": value,
        "status": "not measured" if met is None else "met" if met else "not met",
        "source": source,
    }


def operating_point(det_all: list[dict], frr_max: float) -> dict | None:
    """The point of a whole-model DET curve with FRR <= frr_max and the fewest false accepts
    (then the lower FRR); None when the curve never gets there."""
    ok = [p for p in det_all if p["frr"] <= frr_max]
    return min(ok, key=lambda p: (p["fa_per_hour"], p["frr"])) if ok else None


def frr_within(det_all: list[dict], fa_max: float) -> dict | None:
    """The point with FA/hr <= fa_max and the lowest FRR."""
    ok = [p for p in det_all if p["fa_per_hour"] <= fa_max]
    return min(ok, key=lambda p: (p["frr"], p["fa_per_hour"])) if ok else None


def _made_for_released(day: dict, name: str) -> bool:
    """Whether a day's evaluation was made for the model released under ``name``: by the model's
    sha256 where the result records it, else by the thresholds it calibrated (the release's own)."""
    man = _load(f"models/{name}/manifest.json") or {}
    if "model_sha256" in day:
        return day["model_sha256"] == (man.get("model") or {}).get("sha256")
    return day.get("calibrated_thresholds") == ((man.get("thresholds") or {}).get("values"))


def stream_rows(goals: dict, name: str, rel: str) -> list[dict]:
    g = goals["streams"]
    day = _load(rel)
    target = f"<= {g['fa_per_hour_max']} FA/hr at FRR <= {g['frr_max']:.0%}"
    lat_target = f"p95 <= {g['latency_p95_ms_max']} ms at that operating point"
    why = ""
    if day is not None and not _made_for_released(day, name):
        why, day = f"made for another model than models/{name} holds: rerun bench/eval_24h.py", None
    if day is None or "det_all" not in day:
        return [
            _row("streams", f"{name}: false accepts", target, why, None, rel),
            _row("streams", f"{name}: latency", lat_target, why, None, rel),
        ]
    hours = day["audio_hours_total"]
    occ = day.get("at_calibrated_thresholds", {}).get("occurrences")  # days written before: no intervals

    def ci(p: dict) -> str:
        """95 % intervals of a point's FA/hr and FRR (kws.evaluate.stats)."""
        if not occ:
            return ""
        fa = rate_interval(p["false_accepts"], hours)
        frr = frr_interval(round(p["frr"] * occ), occ)
        return f" [FA/hr {fa[0]:.2f}–{fa[1]:.2f}, FRR {frr[0]:.0%}–{frr[1]:.0%}]"

    op = operating_point(day["det_all"], g["frr_max"])
    best = frr_within(day["det_all"], g["fa_per_hour_max"])
    lowest = min(day["det_all"], key=lambda p: p["frr"])
    if op is None:
        fa_value = (
            f"no threshold reaches FRR {g['frr_max']:.0%} (lowest {lowest['frr']:.1%}, at "
            f"{lowest['fa_per_hour']:.1f} FA/hr)"
        )
    else:
        fa_value = f"{op['fa_per_hour']:.2f} FA/hr at FRR {op['frr']:.1%}{ci(op)}"
    fa_value += (
        f"; within {g['fa_per_hour_max']} FA/hr: FRR {best['frr']:.1%}{ci(best)}"
        if best
        else f"; never within {g['fa_per_hour_max']} FA/hr"
    )
    fa_value += f" ({hours:.1f} h of audio, {occ} keywords; 95 % intervals)" if occ else f" ({hours:.1f} h of audio)"
    fa_met = op is not None and op["fa_per_hour"] <= g["fa_per_hour_max"]

    def p95(p: dict | None, what: str) -> str:
        if p is None:
            return ""
        lat = p.get("latency_ms_p95")
        return (
            f"p95 {lat:.0f} ms {what} ({p['fa_per_hour']:.2f} FA/hr, FRR {p['frr']:.1%})"
            if lat is not None
            else f"no detections {what}"
        )

    # one goal with the false accepts: the latency counts only where that operating point meets it
    lat_value = "; ".join(
        x for x in (p95(op, f"at FRR <= {g['frr_max']:.0%}"), p95(best, f"within {g['fa_per_hour_max']} FA/hr")) if x
    )
    lat_value = lat_value or (
        f"no operating point to time: FRR {g['frr_max']:.0%} is not reached and no "
        f"threshold stays within {g['fa_per_hour_max']} FA/hr"
    )
    lat = op.get("latency_ms_p95") if op else None
    lat_met = fa_met and lat is not None and lat <= g["latency_p95_ms_max"]
    thr = day.get("throughput_x_realtime")
    return [
        _row("streams", f"{name}: false accepts", target, fa_value, fa_met, rel),
        _row("streams", f"{name}: latency", lat_target, lat_value, lat_met, rel),
        _row(
            "streams",
            f"{name}: host evaluation throughput",
            f">= {g['eval_x_realtime_min']}x real time",
            f"{thr:.0f}x" if thr else "",
            (thr >= g["eval_x_realtime_min"]) if thr else None,
            rel,
        ),
    ]


def real_speaker_rows(goals: dict) -> list[dict]:
    """The released commands model on held-out real speakers (bench/real_speakers.py): clips, and
    real-speech streams at the goal's operating point."""
    g, rel = goals["real_speakers"], "bench/results/real_speakers.json"
    res = _load(rel)
    m = (res or {}).get("models", {}).get("models/commands")
    released = ((_load("models/commands/manifest.json") or {}).get("model") or {}).get("sha256")
    acc_goal = f">= {g['int8_min']:.0%} (then {g['int8_stretch']:.0%})"
    st_goal = f"<= {g['fa_per_hour_max']:g} FA/hr at FRR <= {g['frr_max']:.0%}"
    lat_goal = f"p95 <= {g['latency_p95_ms_max']} ms at that operating point"
    names = (
        "commands: int8 accuracy, held-out real speakers",
        "commands: real-speech streams, false accepts",
        "commands: real-speech streams, latency",
    )
    if m is None or m.get("model_sha256") != released:
        why = "" if m is None else "measured on a model released before this one: rerun bench/real_speakers.py"
        return [_row("real_speakers", n, t, why, None, rel) for n, t in zip(names, (acc_goal, st_goal, lat_goal))]
    st = m.get("day") or m["streams"]  # a day of negatives where the benchmark ran one (--day-hours)
    c, det = m["clips"], st["det_all"]
    w = c["test_set_weighted_accuracy"]
    rows = [
        _row(
            "real_speakers",
            names[0],
            acc_goal,
            f"{w:.1%} weighed as the test set, {c['accuracy']:.1%} plain, "
            f"{c['balanced_accuracy']:.1%} class-balanced ({c['clips']} clips, {c['speakers']} speakers)",
            w >= g["int8_min"],
            rel,
        )
    ]
    hours = st["hours"]
    p = operating_point(det, g["frr_max"])
    q = frr_within(det, g["fa_per_hour_max"])
    scale = f"({hours:.1f} h of audio, {st['keywords']} keywords)"
    txt = (
        f"{p['fa_per_hour']:.2f} FA/hr at FRR {p['frr']:.1%}"
        if p
        else f"no threshold reaches FRR {g['frr_max']:.0%} (lowest {min(x['frr'] for x in det):.1%})"
    )
    txt += f"; within {g['fa_per_hour_max']:g} FA/hr: FRR {q['frr']:.1%}" if q else ""
    rows.append(
        _row(
            "real_speakers",
            names[1],
            st_goal,
            f"{txt} {scale}",
            p is not None and p["fa_per_hour"] <= g["fa_per_hour_max"],
            rel,
        )
    )
    lat = p if p is not None and p["fa_per_hour"] <= g["fa_per_hour_max"] else q
    rows.append(
        _row(
            "real_speakers",
            names[2],
            lat_goal,
            f"p95 {lat['latency_ms_p95']:.0f} ms at {lat['fa_per_hour']:.2f} FA/hr, FRR {lat['frr']:.1%}"
            if lat and lat["latency_ms_p95"] is not None
            else "",
            (lat["latency_ms_p95"] <= g["latency_p95_ms_max"] and lat is p)
            if lat and lat["latency_ms_p95"] is not None
            else None,
            rel,
        )
    )
    return rows


def wakeword_peer_rows() -> list[dict]:
    """The alexa model against openWakeWord and PocketSphinx on the same streams (bench/wakeword_peers.py):
    at each FA/hr a peer's threshold reaches, the product's recall within it against the peer's."""
    rel = "bench/results/wakeword_peers.json"
    res = _load(rel)
    released = ((_load("models/alexa/manifest.json") or {}).get("model") or {}).get("sha256")
    if res is None or res.get("model_sha256") != released:
        why = "" if res is None else "measured on a model released before this one: rerun bench/wakeword_peers.py"
        return [
            _row(
                "real_speakers",
                "alexa against openWakeWord and PocketSphinx",
                "recall >= the peer's at its FA/hr",
                why,
                None,
                rel,
            )
        ]
    rows = []
    for cond, c in res["conditions"].items():
        for r in c["comparison"]:
            ours = "-" if r["ours_recall"] is None else f"{r['ours_recall']:.1%}"
            rows.append(
                _row(
                    "real_speakers",
                    f"alexa against {r['peer']} at {r['peer_threshold']:g} ({cond.replace('_', ' ')})",
                    "recall >= the peer's at its FA/hr",
                    f"{ours} against {r['peer_recall']:.1%} within {r['fa_per_hour']:.1f} FA/hr",
                    r["met"],
                    rel,
                )
            )
    return rows


def collect(goals: dict) -> list[dict]:
    rows = []
    isl = goals["island"]
    for name in MODELS:
        rel = f"models/{name}/manifest.json"
        man = _load(rel)
        b = (man or {}).get("budget", {})
        measured = b.get("all_measured", False)
        total = b.get("total_bytes")
        rows.append(
            _row(
                "island",
                f"{name}: island",
                f"<= {isl['target_bytes']:,} B",
                f"{total:,} B ({b.get('image', 'estimate')})" if total else "",
                (total <= isl["target_bytes"]) if total and measured else None,
                rel,
            )
        )
    os_ = _load("bench/results/island_os.json")
    rows.append(
        _row(
            "island",
            "commands: island built with -Os (moonshot)",
            f"<= {isl['moonshot_bytes']:,} B",
            f"{os_['total_bytes']:,} B" if os_ else "",
            (os_["total_bytes"] <= isl["moonshot_bytes"]) if os_ else None,
            "bench/results/island_os.json",
        )
    )
    acc = goals["accuracy"]
    rel = "models/commands/manifest.json"
    a = ((_load(rel) or {}).get("accuracy")) or {}
    i8, fl = a.get("int8_test"), a.get("float_test")
    rows.append(
        _row(
            "accuracy",
            "commands: int8 accuracy, held-out voices",
            f">= {acc['int8_min']:.0%}",
            f"{i8:.1%} ({a['test_clips']} clips)" if i8 is not None else "",
            (i8 >= acc["int8_min"]) if i8 is not None else None,
            rel,
        )
    )
    rows.append(
        _row(
            "accuracy",
            "commands: int8 against float",
            f"within {acc['int8_vs_float_max_gap']:.0%}",
            f"{i8:.1%} against {fl:.1%}" if i8 is not None and fl is not None else "",
            (fl - i8 <= acc["int8_vs_float_max_gap"]) if i8 is not None and fl is not None else None,
            rel,
        )
    )
    rows += real_speaker_rows(goals)
    rows += wakeword_peer_rows()
    for name, rel in (
        ("commands", "bench/results/eval_24h.json"),
        ("wakeword", "bench/results/eval_24h_wakeword.json"),
    ):
        rows += stream_rows(goals, name, rel)
    dev = goals["device"]
    for goal, rel, optional in (
        ("device against host reference (QEMU)", "bench/results/stream_bitexact.json", False),
        ("device against host reference (QEMU), a day of negatives", "bench/results/stream_bitexact_day.json", True),
    ):
        bx = _load(rel)
        if bx is None and optional:
            continue
        target = f"<= {dev['differing_windows_max']} windows, <= {dev['differing_events_max']} events differ"
        released = ((_load(f"{bx['model']}/manifest.json") or {}).get("model") or {}).get("sha256") if bx else None
        if bx and bx.get("model_sha256") != released:  # measured on a model released before this one
            rows.append(
                _row(
                    "device",
                    goal,
                    target,
                    f"made for another model than {bx['model']} holds: rerun bench/stream_bitexact.py",
                    None,
                    rel,
                )
            )
            continue
        dw = bx["windows"] - bx["windows_equal"] if bx else None
        de = max(bx["events_reference"], bx["events_device"]) - bx["events_equal"] if bx else None
        rows.append(
            _row(
                "device",
                goal,
                target,
                f"{dw:,} of {bx['windows']:,} windows, {de} of {bx['events_reference']} events differ "
                f"({bx['audio_seconds']:,.0f} s)"
                if bx
                else "",
                (dw <= dev["differing_windows_max"] and de <= dev["differing_events_max"]) if bx else None,
                rel,
            )
        )
    cs = _load("bench/results/data_synth.json")
    rows.append(
        _row(
            "corpus",
            "default corpus on 2 cores",
            f"<= {goals['corpus']['minutes_max']} min",
            f"{cs['full_corpus_projected_minutes']:.1f} min ({cs['full_corpus_clips']:,} clips, projected)"
            if cs
            else "",
            (cs["full_corpus_projected_minutes"] <= goals["corpus"]["minutes_max"]) if cs else None,
            "bench/results/data_synth.json",
        )
    )
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| area | goal | target | measured | status | from |", "|---|---|---|---|---|---|"]
    out += [
        f"| {r['area']} | {r['goal']} | {r['target']} | {r['measured']} | {r['status']} | `{r['source']}` |"
        for r in rows
    ]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--goals", default="bench/goals.toml")
    ap.add_argument("--out", default="bench/results/goals.json")
    args = ap.parse_args()
    goals = tomllib.loads((REPO_ROOT / args.goals).read_text())
    rows = collect(goals)
    out = REPO_ROOT / args.out
    write_if_changed(out, json.dumps({"benchmark": "goals", "goals": args.goals, "rows": rows}, indent=2) + "\n")
    md = markdown(rows)
    write_if_changed(out.with_suffix(".md"), md)
    print(md, end="")


if __name__ == "__main__":
    main()
