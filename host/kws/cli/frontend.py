"""`kws spec`, `kws codegen`, `kws features`, `kws golden`: the spec, the C it generates, the front end's features and golden vectors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from kws.cli.common import spec_of
from kws.errors import KwsError
from kws.paths import REPO_ROOT, model_generated_dir
from kws.released import ReleasedModel


def cmd_spec(args) -> int:
    spec = spec_of(args)
    fe = spec.frontend
    if args.json:
        print(json.dumps({"source": spec.source, "frontend_hash": fe.hash, "frontend": fe.as_dict()}, indent=2))
    else:
        print(f"spec:      {spec.source}")
        print(f"frontend:  {fe.name} v{fe.version}  sha256 {fe.hash}")
        print(
            f"           {fe.sample_rate_hz} Hz, window {fe.window_samples}, hop {fe.hop_samples}, "
            f"FFT {fe.fft_size}, {fe.mel.num_bands} mel bands, {fe.num_cepstra} cepstra"
        )
    return 0


def cmd_codegen(args) -> int:
    from kws.codegen import frontend as cg
    from kws.codegen import model as cgm

    spec = spec_of(args)
    out = Path(args.out) if args.out else cg.DEFAULT_GENERATED_DIR
    if args.what == "model":
        tfl = Path(args.tflite) if args.tflite else REPO_ROOT / "models" / "commands" / "model.tflite"
        try:
            blob = tfl.read_bytes()
        except OSError as e:
            raise KwsError(f"{tfl}: cannot read model ({e.strerror})") from e
        man_path = tfl.with_name("manifest.json")
        rm = ReleasedModel.load(tfl.parent) if man_path.exists() else None  # a release: its model file checked
        if not args.out:
            if rm is None:
                raise KwsError(f"{tfl}: not a released model (no manifest.json beside it): give --out DIR for its C")
            out = model_generated_dir(rm.name)  # firmware/generated/<model>/
        labels = list(rm.labels) if rm else None
        cfg_path = tfl.with_name("config.json")  # a training directory (kws train)
        if labels is None and cfg_path.exists():
            labels = json.loads(cfg_path.read_text()).get("task", {}).get("labels")
        if labels is None:
            print(
                f"kws: warning: no manifest.json or config.json beside {tfl}: C for the network only, without the "
                "detector's tables the firmware app needs (release the model with kws release, or generate from "
                "its training directory)",
                file=sys.stderr,
            )
        changed = cgm.generate(
            blob,
            out,
            frontend_hash32=spec.frontend.hash32,
            source=str(tfl),
            drop_softmax=args.drop_softmax,
            spec=spec if labels else None,
            labels=labels,
            thresholds=rm.thresholds if rm else None,
        )
        files = cgm.FILES
    else:
        changed = cg.generate(spec, out)
        files = cg.FILES
    for name in files:
        p = out / name
        print(f"{'wrote    ' if p in changed else 'unchanged'} {p}")
    return 0


FEATURES_MAX_SECONDS = 3600.0  # kws features holds a file's features in memory: an hour is 180 k frames


def cmd_features(args) -> int:
    import numpy as np

    from kws.audio import read_wav
    from kws.frontend import Frontend

    spec = spec_of(args)
    fe = Frontend(spec.frontend)
    pcm = read_wav(args.wav, expected_rate=spec.frontend.sample_rate_hz, max_seconds=args.max_seconds)
    feats = fe.features(pcm, sample_rate=spec.frontend.sample_rate_hz, source=args.wav)
    if args.out:
        tmp = Path(args.out).with_suffix(".tmp.npy")
        np.save(tmp, feats)
        tmp.replace(args.out)
        print(f"{feats.shape[0]} frames x {feats.shape[1]} -> {args.out}")
    else:
        hop_ms = 1000.0 * spec.frontend.hop_samples / spec.frontend.sample_rate_hz
        print(
            f"# {args.wav}: {feats.shape[0]} frames (one per {hop_ms:g} ms) x {feats.shape[1]} int8 cepstra "
            f"c0..c{feats.shape[1] - 1}, front end {spec.frontend.hash[:12]}; --out FILE.npy saves them"
        )
        print("# time_s " + " ".join(f"c{j:<3d}" for j in range(feats.shape[1])))
        for t, row in enumerate(feats):
            print(f"{t * hop_ms / 1000:8.2f} " + " ".join(f"{v:4d}" for v in row))
    return 0


def cmd_golden(args) -> int:
    from kws.reference.golden import write_golden

    spec = spec_of(args)
    for path in write_golden(spec, Path(args.out) if args.out else None):
        print(f"wrote {path}")
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser("spec", help="show the spec and its hash")
    s.add_argument("--json", action="store_true", help="print it as JSON")
    s.set_defaults(fn=cmd_spec)

    s = sub.add_parser("codegen", help="generate C: the front end from the spec, the network from an int8 model")
    s.add_argument(
        "what",
        choices=["frontend", "model"],
        help="frontend: tables and headers from the spec; model: the network from --tflite",
    )
    s.add_argument(
        "--out",
        help="output directory (default: firmware/generated for the front end, firmware/generated/<model>/ for a released model)",
    )
    s.add_argument("--tflite", help="model: the int8 .tflite (default models/commands/model.tflite)")
    s.add_argument("--drop-softmax", action="store_true", help="model: stop at the logits of a model ending in SOFTMAX")
    s.set_defaults(fn=cmd_codegen)

    s = sub.add_parser("features", help="int8 features of a mono 16-bit WAV at the spec's rate")
    s.add_argument("wav", help="16 kHz mono 16-bit WAV")
    s.add_argument("--out", help=".npy output (default: print them, one labelled row per frame)")
    s.add_argument(
        "--max-seconds",
        type=float,
        default=FEATURES_MAX_SECONDS,
        help=f"refuse longer files before reading them (default {FEATURES_MAX_SECONDS:g})",
    )
    s.set_defaults(fn=cmd_features)

    s = sub.add_parser("golden", help="regenerate the golden vectors shared by the Python and C tests")
    s.add_argument("--out", help="directory (default tests/golden/frontend)")
    s.set_defaults(fn=cmd_golden)
