"""Running a released model with other thresholds than it was built with: one for every keyword,
or a calibration made later (on your own recordings, say) — on the host (kws listen) and on a
device, which takes them at run time over the serial link (THRESHOLDS_REQ, docs/protocol.md)
without being rebuilt."""

from __future__ import annotations

import json
from pathlib import Path

from kws.errors import KwsError
from kws.released import ReleasedModel


def threshold_overrides(
    model: ReleasedModel, *, threshold: float | None = None, file: str | Path | None = None
) -> dict[str, float] | None:
    """Per-keyword thresholds to run a released model with instead of the ones it was built with
    (None: no override): ``threshold`` for every keyword, or ``file``, the JSON of a calibration —
    ``calibration/<model>/thresholds.json`` or ``kws eval``'s ``eval.json`` (made for this very
    model: its sha256 is checked when the file records it), or a plain {keyword: threshold}.
    Keywords a file leaves out keep the model's thresholds."""
    if threshold is not None and file is not None:
        raise KwsError("give one threshold for every keyword or a thresholds file, not both")
    keywords = model.keywords
    if threshold is not None:
        if not 0.0 < threshold < 1.0:
            raise KwsError(f"threshold {threshold}: a posterior threshold lies between 0 and 1")
        return {k: float(threshold) for k in keywords}
    if file is None:
        return None
    try:
        rec = json.loads(Path(file).read_text())
    except (OSError, ValueError) as e:
        raise KwsError(f"{file}: cannot read thresholds: {e}") from e
    if not isinstance(rec, dict):
        raise KwsError(f"{file}: not a thresholds file (a JSON object is expected)")
    sha, mine = rec.get("model_sha256"), model.sha256
    if sha is not None and sha != mine:
        raise KwsError(
            f"{file}: these thresholds were calibrated for another model (sha256 {sha[:12]}…, "
            f"{model.name} is {mine[:12]}…): calibrate again with kws eval"
        )
    values = rec.get("thresholds", rec.get("calibrated_thresholds", rec))
    if not isinstance(values, dict) or not values:
        raise KwsError(
            f"{file}: no thresholds in it (expected 'thresholds' or 'calibrated_thresholds': {{keyword: threshold}})"
        )
    unknown = sorted(set(values) - set(keywords))
    if unknown:
        verb = "is not a keyword" if len(unknown) == 1 else "are not keywords"
        raise KwsError(f"{file}: {', '.join(map(str, unknown))} {verb} of {model.name} ({', '.join(keywords)})")
    bad = {k: v for k, v in values.items() if not isinstance(v, (int, float)) or not 0.0 < v < 1.0}
    if bad:
        raise KwsError(f"{file}: thresholds must lie between 0 and 1: {bad}")
    return {**(model.thresholds or {}), **{k: float(v) for k, v in values.items()}}


def add_args(parser, *, what: str = "the model's calibrated ones") -> None:
    """--threshold / --thresholds on a command that runs a model."""
    parser.add_argument(
        "--threshold",
        type=float,
        help=f"one posterior threshold for every keyword instead of {what} (set for 1 FA/hr, where "
        "the released models miss most keywords: docs/live.md)",
    )
    parser.add_argument(
        "--thresholds",
        metavar="JSON",
        help="per-keyword thresholds from a calibration instead: calibration/<model>/thresholds.json "
        "or kws eval's eval.json, made for this model",
    )


def from_args(args, model: ReleasedModel) -> dict[str, float] | None:
    return threshold_overrides(model, threshold=args.threshold, file=args.thresholds)
