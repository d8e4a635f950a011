"""`kws listen`, `kws record`, `kws flash`: the microphone on the host and real boards."""

from __future__ import annotations

from pathlib import Path

from kws.cli.common import MODEL_HELP, TASK_HELP, spec_of


def cmd_listen(args) -> int:
    from kws.live.listen import listen
    from kws.live.mic import input_devices

    spec = spec_of(args)
    if args.list:
        print("\n".join(input_devices()) or "no input devices")
        return 0
    listen(
        spec,
        Path(args.model),
        device=args.device,
        seconds=args.seconds,
        level=args.level,
        threshold=args.threshold,
        thresholds_file=args.thresholds,
    )
    return 0


def cmd_record(args) -> int:
    from kws.data.task import load_task
    from kws.live.record import mic_capture, plan, record_session

    task = load_task(args.task)
    negatives = args.negatives.split(",") if args.negatives else list(task.synth.near_misses[:20])
    items = plan(
        task,
        words=args.words.split(",") if args.words else None,
        takes=args.takes,
        negatives=negatives,
        negative_takes=args.negative_takes,
        silence_takes=args.silence_takes,
    )
    ready = None if args.yes else (lambda: input("  press Enter when ready "))
    res = record_session(
        task,
        args.out,
        speaker=args.speaker,
        items=items,
        seconds=args.seconds,
        capture=mic_capture(args.device),
        ready=ready,
        countdown=args.countdown,
        max_attempts=args.max_attempts,
    )
    good = sum(r.path is not None for r in res)
    print(
        f"{good} of {len(res)} takes recorded in {args.out} ({sum(len(r.rejected) for r in res)} refused, kept in "
        f"{Path(args.out) / '.rejected'}); ingest with: kws data ingest recordings {args.out} --task {task.name}"
    )
    return 0 if good == len(res) else 1


def cmd_flash(args) -> int:
    from kws.device.boards import auto_port
    from kws.device.flash import upload, verify

    spec = spec_of(args)
    port = args.port or auto_port(args.env)
    if not args.no_upload:
        upload(args.env, port)
    info = verify(spec, Path(args.model), port, timeout=args.timeout)
    print(
        f"device on {port}: firmware {info['fw_version']}, front end {info['frontend_hash32']}, model "
        f"{info['model_hash32']} ({info['model']}), detector {info['detector_hash32']}, {info['sample_rate']} Hz: "
        "matches this spec and model"
    )
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser("listen", help="the host reference pipeline on the microphone: detections as they happen")
    s.add_argument("--model", default="models/commands", help=MODEL_HELP)
    s.add_argument("--device", help="input device (index or name; --list shows them); default: the system's")
    s.add_argument("--seconds", type=float, help="stop after this much audio (default: until Ctrl-C)")
    s.add_argument("--level", action="store_true", help="live input level and top keyword score on stderr")
    s.add_argument("--list", action="store_true", help="list input devices and exit")
    from kws.release import thresholds

    thresholds.add_args(s)
    s.set_defaults(fn=cmd_listen)

    s = sub.add_parser("record", help="enroll your own keyword, other-word and background takes, quality-checked")
    s.add_argument("out", help="recordings directory (<out>/<label>/<speaker>_<n>.wav)")
    s.add_argument("--speaker", required=True, help="your id (letters, digits, '-'): decides the split")
    s.add_argument("--task", default="commands", help=TASK_HELP)
    s.add_argument("--words", help="keywords to record, comma-separated (default: all of the task's)")
    s.add_argument("--takes", type=int, default=5, help="takes per keyword")
    s.add_argument("--negatives", help="other words to say for _unknown_, comma-separated (default: near misses)")
    s.add_argument("--negative-takes", type=int, default=10, help="takes of other words (default %(default)s)")
    s.add_argument(
        "--silence-takes", type=int, default=5, help="takes of your background, nothing said (default %(default)s)"
    )
    s.add_argument("--seconds", type=float, default=2.0, help="capture length per take (cut to the task's clip)")
    s.add_argument(
        "--countdown", type=int, default=3, help="seconds counted down before each take (default %(default)s)"
    )
    s.add_argument("--max-attempts", type=int, default=3, help="re-record a refused take up to this often")
    s.add_argument("--device", help="input device (index or name)")
    s.add_argument("--yes", action="store_true", help="do not wait for Enter between takes")
    s.set_defaults(fn=cmd_record)

    s = sub.add_parser("flash", help="build and upload the firmware with PlatformIO, then check the device's hashes")
    s.add_argument("--env", default="nano33ble", help="platformio.ini environment (nano33ble, stm32f4)")
    s.add_argument("--port", help="serial port / pyserial URL (default: found by USB ID)")
    s.add_argument("--model", default="models/commands", help="the model the firmware must run")
    s.add_argument("--no-upload", action="store_true", help="only check the connected device's hello")
    s.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the device's hello")
    s.set_defaults(fn=cmd_flash)
