"""`kws drift`: baselines from reference audio, and checks of a device's (or a recording's)
feature statistics against them."""

from __future__ import annotations

import contextlib
from pathlib import Path

from kws.cli.common import MODEL_HELP, spec_of
from kws.errors import KwsError
from kws.released import ReleasedModel

BASELINE_FILE = "feature_baseline.json"


def cmd_baseline(args) -> int:
    from kws.reference.monitor.drift import baseline_from_wavs, reference_streams

    spec = spec_of(args)
    wavs = list(args.wav or [])
    if args.data:
        from kws.data.task import load_task

        wavs += reference_streams(
            load_task(ReleasedModel.load(args.model).task), args.data, args.work, minutes=args.minutes
        )
    if not wavs:
        raise KwsError("drift baseline: give reference audio (--wav) or a data set to build streams from (--data)")
    period_s = args.period_s or spec.monitor.period_s
    base = baseline_from_wavs(spec, wavs, period_s=period_s)
    out = Path(args.out) if args.out else Path(args.model) / BASELINE_FILE
    base.save(out)
    print(
        f"baseline: {base.stats.frames} frames from {len(wavs)} recordings, period {base.period_frames} frames "
        f"({period_s:g} s) -> {out}"
    )
    print("alarm PSI per coefficient: " + " ".join(f"{v:.2f}" for v in base.alarm))
    return 0


def cmd_check(args) -> int:
    from kws.reference.monitor import FeatureStats, stats_of
    from kws.reference.monitor.drift import Baseline, compare, wav_features, write_report

    spec = spec_of(args)
    base = Baseline.load(args.baseline or Path(args.model) / BASELINE_FILE, spec)
    if args.wav:
        field, source = stats_of(wav_features(spec, args.wav), spec.monitor), f"host reference on {args.wav}"
    elif args.stats:
        try:
            raw = Path(args.stats).read_bytes()
        except OSError as e:
            raise KwsError(f"{args.stats}: cannot read ({e.strerror})") from e
        field, source = FeatureStats.from_bytes(raw, source=args.stats), args.stats
    else:
        from kws.audio import read_wav
        from kws.device.connect import expected_hashes, open_link

        rm = ReleasedModel.load(args.model)
        with contextlib.ExitStack() as stack:
            link = open_link(stack, args.port, model=rm.firmware)
            if args.stream:
                link.handshake(expect=expected_hashes(spec, rm))
                link.stream(read_wav(args.stream, expected_rate=spec.frontend.sample_rate_hz))
            field = link.monitor(reset=args.reset)
        source = f"device at {args.port or 'QEMU'}" + (f" after {args.stream}" if args.stream else "")
    report = compare(base, field)
    files = write_report(base, field, report, args.out, source=source)
    print(f"drift: {report.status}: {report.reason}")
    print(report.table())
    print(f"report: {files['md']}, {files['png']}")
    levels = {"shift": ("shift", "drift"), "drift": ("drift",), "never": ()}
    return 1 if report.status in levels[args.fail_on] else 0


def add_parsers(sub) -> None:
    s = sub.add_parser("drift", help="feature drift: baselines, and device statistics checked against them")
    dsub = s.add_subparsers(dest="drift_cmd", required=True)

    b = dsub.add_parser("baseline", help="feature statistics and alarm levels of reference-condition audio")
    b.add_argument("--model", default="models/commands", help="model directory (the baseline is written there)")
    b.add_argument("--wav", nargs="*", help="reference recordings (16 kHz mono int16 WAV)")
    b.add_argument("--data", help="data set: build reference streams from its training split")
    b.add_argument("--minutes", type=float, default=10.0, help="--data: minutes per stream (negative, positive)")
    b.add_argument("--work", default="build/drift/baseline", help="--data: where the streams are written")
    b.add_argument(
        "--period-s",
        type=float,
        help="monitoring period the alarm levels are calibrated for (default: the spec's [monitor] period_s)",
    )
    b.add_argument("--out", help="output file (default <model>/feature_baseline.json)")
    b.set_defaults(fn=cmd_baseline)

    c = dsub.add_parser("check", help="compare feature statistics with the baseline: report and plot")
    c.add_argument("--model", default="models/commands", help=MODEL_HELP)
    c.add_argument("--baseline", help="baseline file (default <model>/feature_baseline.json)")
    src = c.add_mutually_exclusive_group()
    src.add_argument("--wav", help="a recording: the host reference's statistics of it")
    src.add_argument("--stats", help="a saved MONITOR payload (binary)")
    src.add_argument("--port", help="a device (pyserial URL); with neither --wav, --stats nor --port: QEMU")
    c.add_argument("--stream", help="device: stream this WAV first (emulator, tests)")
    c.add_argument("--reset", action="store_true", help="device: start a new statistics period after reading")
    c.add_argument("--out", default="build/drift", help="report directory")
    c.add_argument(
        "--fail-on",
        choices=["never", "shift", "drift"],
        default="never",
        help="exit status 1 when the status reaches this level",
    )
    c.set_defaults(fn=cmd_check)
