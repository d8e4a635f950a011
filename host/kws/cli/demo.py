"""`kws demo`: the main job end to end."""

from __future__ import annotations

from pathlib import Path


def cmd_demo(args) -> int:
    from kws.demo import run_demo

    return run_demo(spec_path=args.spec, out_dir=Path(args.out), task=args.task, retrain=args.retrain)


def add_parsers(sub) -> None:
    s = sub.add_parser("demo", help="run the main job end to end, as far as it goes today")
    s.add_argument("--out", default="build/demo", help="output directory (default build/demo)")
    s.add_argument("--task", default="commands", help="released model to use: commands or wakeword")
    s.add_argument("--retrain", action="store_true", help="build the corpus and train from scratch (minutes)")
    s.set_defaults(fn=cmd_demo)
