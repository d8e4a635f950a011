"""`kws eval`: FA/hr, FRR, latency, DET and thresholds on streams; accuracy on clips; two results compared."""

from __future__ import annotations

import sys
from pathlib import Path

from kws.cli.common import spec_of
from kws.errors import KwsError
from kws.released import ReleasedModel


def calibration_hours(keywords: int, target_fa_per_hour: float) -> float:
    """Negative audio needed to fit thresholds for ``target_fa_per_hour``: every keyword gets an
    equal share of it (kws.evaluate.run), and a share is resolved only where it is at least one
    false accept."""
    return keywords / target_fa_per_hour


def cmd_eval(args) -> int:
    from kws.evaluate.run import evaluate, write_calibration
    from kws.evaluate.triggers import REPEATED_TAKES

    if args.compare:
        return _eval_compare(args)
    spec = spec_of(args)
    model = Path(args.model)
    if args.clips:
        return _eval_clips(spec, model, Path(args.clips), args)
    if not args.streams:
        raise KwsError("kws eval needs --streams DIR (FA/hr, FRR, latency) or --clips DIR (accuracy on a data set)")
    released = ReleasedModel.load(model).thresholds
    r = evaluate(
        spec,
        model,
        Path(args.streams),
        Path(args.out),
        target_fa_per_hour=args.target_fa,
        engine=args.engine,
        fixed_thresholds=released,
        workers=args.workers,
    )
    rows = [
        (f"default {spec.detector.threshold:g}", "at_default_threshold"),
        *([("released", "at_fixed")] if released else []),
        ("fitted here", "at_calibrated"),
    ]
    print(
        f"thresholds: default = the spec's one for every keyword; released = the model's ({model}/manifest.json); "
        f"fitted here = fitted to {args.target_fa:g} FA/hr on these very streams"
    )
    for name, key in rows:
        m = r[key]
        lat = f"{m['latency_ms_p95']:.0f}" if m["latency_ms_p95"] is not None else "-"
        fa_ci = "[{:.2f}, {:.2f}]".format(*m["fa_per_hour_ci95"]) if m.get("fa_per_hour_ci95") else ""
        frr_ci = "[{:.0%}, {:.0%}]".format(*m["frr_ci95"]) if m.get("frr_ci95") else ""
        print(
            f"{name:12s} FA/hr {m['fa_per_hour']:7.2f} {fa_ci}  FRR {m['frr']:6.1%} {frr_ci}  latency p95 {lat} ms  "
            f"({m['occurrences']} keywords, {m['hours'] * 60:.1f} min; 95% intervals)"
        )
    ctx = r["by_context"]["at_default_threshold"]
    if ctx:
        print(
            "misses at the default threshold by how the keyword is said: "
            + ", ".join(
                f"{c} {m['frr']:.0%} of {m['occurrences']} (p95 {m['latency_ms_p95'] or 0:.0f} ms)"
                for c, m in ctx.items()
            )
        )
    voices = r["by_voice"]["at_calibrated"]
    if voices:
        worst = sorted(voices.items(), key=lambda kv: (-kv[1]["missed"], kv[0]))[:6]
        print(
            f"misses at the thresholds fitted here by voice ({len(voices)} voices; most first): "
            + ", ".join(f"{v} {m['missed']} of {m['occurrences']}" for v, m in worst)
        )
        print(
            "FRR with every voice weighing the same (the mean of the voices' FRR): "
            + ", ".join(f"{name} {r[key]['frr_voice_mean']:.1%}" for name, key in rows if "frr_voice_mean" in r[key])
        )
    if "false_accepts_heard" in r:
        from kws.evaluate.triggers import describe

        print("false accepts at the default threshold: " + describe(r["false_accepts_heard"]["at_default_threshold"]))
    print(f"thresholds fitted here for {args.target_fa:g} FA/hr: {r['calibrated_thresholds']}")
    hours = r["at_default_threshold"]["hours"]
    need = calibration_hours(len(r["calibrated_thresholds"]), args.target_fa)
    if hours < need:
        print(
            f"warning: the thresholds were fitted to {hours * 60:.0f} min of negatives, where one false accept is "
            f"{1 / hours:.1f} FA/hr; each of the {len(r['calibrated_thresholds'])} keywords gets "
            f"{args.target_fa / len(r['calibrated_thresholds']):g} FA/hr of the {args.target_fa:g}, which needs "
            f"{need:g} h to resolve one false accept: they are no calibration for a release; fit on hours of "
            "validation-speaker streams (docs/evaluation.md)",
            file=sys.stderr,
        )
    takes = r.get("negative_takes")
    if takes and takes["repeats_median"] >= REPEATED_TAKES:
        print(
            f"warning: the streams without keywords say {takes['takes']} distinct recordings, each about "
            f"{takes['repeats_median']} times: a recording that fires once tends to fire again on its repeats, so the fitted "
            f"FA/hr rests on {takes['takes']} recordings, not on {hours:.0f} h of independent speech; new speakers' "
            "recordings may fire where these do not (docs/evaluation.md)",
            file=sys.stderr,
        )
    if r.get("throughput_x_realtime"):
        print(
            f"engine {r['engine']}: {r['audio_seconds'] / 60:.1f} min of audio at {r['throughput_x_realtime']:.0f}x "
            "real time (front end + network)"
        )
    print(f"DET: {Path(args.out) / 'det.png'}")
    if args.calibrate:
        print(f"wrote {write_calibration(spec, model, r)}")
    return 0


def _eval_compare(args) -> int:
    import json

    from kws.evaluate.stats import compare, compare_clips, format_clip_comparison, format_comparison
    from kws.fsio import write_if_changed

    runs = []
    for p in map(Path, args.compare):
        path = (p / "eval.json" if (p / "eval.json").exists() else p / "clips.json") if p.is_dir() else p
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as e:
            raise KwsError(f"{path}: not a readable kws eval result ({e})") from e
    names = tuple(args.names.split(",")) if args.names else tuple(str(p) for p in args.compare)
    if len(names) != 2:
        raise KwsError(f"--names wants two names separated by a comma, got {args.names!r}")
    if all("accuracy" in r and "det_all" not in r for r in runs):  # two kws eval --clips results
        c = compare_clips(*runs, names=names)
        print(format_clip_comparison(c))
    elif any("accuracy" in r and "det_all" not in r for r in runs):
        raise KwsError("--compare: one result is of clips (kws eval --clips) and the other of streams")
    else:
        c = compare(*runs, names=names)
        print(format_comparison(c))
    out = Path(args.out)
    out = out if out.suffix == ".json" else out / "compare.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(c, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def _eval_clips(spec, model: Path, data: Path, args) -> int:
    import json

    from kws.evaluate.clips import clip_accuracy
    from kws.fsio import write_if_changed

    r = clip_accuracy(spec, model, data, split=args.split)
    print(
        f"{model} on {data} ({args.split}, {r['n']} clips): int8 accuracy {r['accuracy']:.1%}, "
        f"balanced {r['balanced_accuracy']:.1%}"
    )
    for key, title in (("per_source", "source"), ("per_context", "context"), ("per_voice", "voice")):
        rows = sorted(r[key].items(), key=lambda kv: kv[1]["accuracy"])
        print(f"  by {title}: " + ", ".join(f"{g} {m['accuracy']:.1%} ({m['n']})" for g, m in rows))
    for src, m in sorted(r["per_source"].items()):
        if "per_class_recall" in m:  # a recorded source: its own class figures
            w = m.get("test_set_weighted_accuracy")
            print(
                f"  {src} ({m['n']} clips): {m['accuracy']:.1%}"
                + (f", weighed as the published Speech Commands test set {w:.1%}" if w is not None else "")
                + f", class-balanced {m['balanced_accuracy']:.1%}; per class: "
                + ", ".join(f"{c} {v:.0%}" for c, v in m["per_class_recall"].items() if v is not None)
            )
    out = Path(args.out) / "clips.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(out, json.dumps(r, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser(
        "eval", help="FA/hr, FRR, latency, DET curves and thresholds fitted on streams; accuracy on clips"
    )
    s.add_argument("--model", default="models/commands", help="a released model directory (default models/commands)")
    s.add_argument("--streams", help="directory of streams (kws data streams)")
    s.add_argument("--clips", help="a data set directory (kws data synth / ingest): int8 accuracy on its clips instead")
    s.add_argument("--split", default="test", choices=["train", "val", "test", "all"], help="with --clips")
    s.add_argument(
        "--out", default="build/eval", help="where eval.json, det.png (or clips.json) go (default build/eval)"
    )
    s.add_argument("--target-fa", type=float, default=1.0, help="target false accepts per hour (all keywords)")
    s.add_argument(
        "--workers",
        type=int,
        help="score the streams on this many worker processes (or a --cluster's); default: this process, "
        "every core on each stream",
    )
    s.add_argument(
        "--engine",
        choices=["native", "tflm"],
        default="native",
        help="native: the firmware's C built for the host (fast); tflm: TFLM's interpreter",
    )
    s.add_argument(
        "--calibrate",
        action="store_true",
        help="write the thresholds fitted here to calibration/<model>/thresholds.json and the model "
        "manifest: the model's released thresholds from then on (fit on hours of validation streams)",
    )
    s.add_argument(
        "--compare",
        nargs=2,
        metavar="RESULT",
        help="two results of kws eval on the same streams (eval.json or its directory; bench/eval_24h.py's "
        "JSON): FRR with 95%% intervals and paired tests at each FA/hr; or two of kws eval --clips "
        "(clips.json) on the same clips: accuracy, paired tests by clips and by voices",
    )
    s.add_argument("--names", help="with --compare: two names for the table, comma-separated")
    s.set_defaults(fn=cmd_eval)
