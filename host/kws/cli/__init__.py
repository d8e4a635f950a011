"""`kws` command line: global options, then one module per command group (argparse and printing
only; each command is a thin shell over a library function)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up banner is not for users

import argparse
import sys

from kws.cli import data, demo, device, evaluate, frontend, live, monitor, train
from kws.errors import KwsError

GROUPS = (frontend, data, train, evaluate, device, monitor, live, demo)  # the order of `kws --help`


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kws", description="Keyword spotting toolchain: host reference and firmware")
    p.add_argument("--spec", help="spec file (default: the packaged host/kws/spec/default.toml)")
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the parallel steps (rendering, validation, augmentation, stream scoring) on the Dask "
        "cluster whose scheduler is ADDRESS (tcp://host:8786); same as KWS_CLUSTER. Default: local "
        "worker processes",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.cluster:
        from kws.engine import CLUSTER_ENV

        os.environ[CLUSTER_ENV] = args.cluster
    try:
        return args.fn(args)
    except KwsError as e:
        print(f"kws: error: {e}", file=sys.stderr)
        return 2
