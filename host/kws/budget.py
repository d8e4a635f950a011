"""`kws budget`: what the always-on island holds, against the spec's budget.

Two sources of truth, named in every report:

- **measured** components come from built objects (today the front end's ARM objects and
  its generated header: code, tables, scratch, stream state);
- **estimated** components come from the model alone (weights, biases and per-channel
  requantization from the int8 ``.tflite``; activation RAM from its tensor shapes) or are
  placeholders for code that has not landed (network kernels, detector, protocol, stack).

When the firmware ELF exists (issue 5) every line becomes measured. The model build fails
with a clear message when the total exceeds ``budget.island_bytes``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kws.codegen.common import REPO_ROOT
from kws.errors import KwsError

# Placeholders until the code exists, sized from comparable code (kept in one place).
ESTIMATE_KERNEL_CODE = 6 * 1024     # int8 conv / depthwise / pool / FC kernels
ESTIMATE_DETECTOR_PROTOCOL = 2 * 1024
ESTIMATE_STACK = 1024


class BudgetError(KwsError):
    pass


@dataclass(frozen=True)
class Item:
    name: str
    kind: str          # flash | ram
    bytes: int
    source: str        # measured | estimated


def model_items(tflite: bytes, spec) -> list[Item]:
    """Flash and RAM of the network, estimated from the int8 model."""
    from kws.tflite_model import TFLiteModel

    m = TFLiteModel.from_bytes(tflite)
    weights = sum(t.nbytes for t in m.tensors if t.is_const and t.dtype != np.int32)
    biases = sum(t.nbytes for t in m.tensors if t.is_const and t.dtype == np.int32)
    channels = sum(m.tensors[op.outputs[0]].shape[-1] for op in m.operators
                   if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    act = sorted((t.nbytes for t in m.tensors if not t.is_const), reverse=True)
    window = spec.model.window_frames * spec.frontend.num_cepstra
    return [
        Item("network weights (int8)", "flash", weights, "estimated"),
        Item("network biases (int32)", "flash", biases, "estimated"),
        Item("requantization (multiplier + shift per channel)", "flash", 8 * channels, "estimated"),
        Item("activations (two largest tensors, ping-pong)", "ram", sum(act[:2]), "estimated"),
        Item("feature window (int8 frames x cepstra)", "ram", window, "estimated"),
    ]


def frontend_items() -> list[Item]:
    """The front end: measured from its ARM objects and generated header (built on demand)."""
    r = subprocess.run(["make", "-s", "-C", str(REPO_ROOT / "firmware"), "arm"], capture_output=True, text=True)
    if r.returncode != 0:
        raise BudgetError(f"ARM build of the front end failed:\n{r.stdout}{r.stderr}")
    objs = [REPO_ROOT / "build" / "arm" / "core" / "kws_frontend.o",
            REPO_ROOT / "build" / "arm" / "generated" / "kws_fe_tables.o"]
    out = subprocess.run(["arm-none-eabi-size", *map(str, objs)], capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in out.splitlines()[1:]]
    header = (REPO_ROOT / "firmware" / "generated" / "kws_fe_config.h").read_text()
    scratch = int(re.search(r"KWS_FE_SCRATCH_BYTES\s+(\d+)", header).group(1))
    window = int(re.search(r"KWS_FE_WINDOW\s+(\d+)", header).group(1))
    return [
        Item("front end code", "flash", int(rows[0][0]), "measured"),
        Item("front end tables", "flash", int(rows[1][0]), "measured"),
        Item("front end scratch", "ram", scratch, "measured"),
        Item("front end stream state", "ram", 2 * window + 8, "measured"),
    ]


def placeholder_items() -> list[Item]:
    return [Item("network kernels code", "flash", ESTIMATE_KERNEL_CODE, "estimated"),
            Item("detector + protocol", "flash", ESTIMATE_DETECTOR_PROTOCOL, "estimated"),
            Item("peak stack", "ram", ESTIMATE_STACK, "estimated")]


def report(items: list[Item], spec) -> dict:
    total = sum(i.bytes for i in items)
    return {"items": [i.__dict__ for i in items], "total_bytes": total,
            "flash_bytes": sum(i.bytes for i in items if i.kind == "flash"),
            "ram_bytes": sum(i.bytes for i in items if i.kind == "ram"),
            "budget_bytes": spec.budget.island_bytes, "target_bytes": spec.budget.target_bytes,
            "fits": total <= spec.budget.island_bytes, "meets_target": total <= spec.budget.target_bytes,
            "all_measured": all(i.source == "measured" for i in items)}


def check(rep: dict) -> None:
    if not rep["fits"]:
        big = max(rep["items"], key=lambda i: i["bytes"])
        raise BudgetError(f"island needs {rep['total_bytes']:,} B, over the {rep['budget_bytes']:,} B budget "
                          f"(largest: {big['name']}, {big['bytes']:,} B): reduce model.width or model.blocks, "
                          "or raise budget.island_bytes")


def format_table(rep: dict) -> str:
    lines = [f"{'component':52s} {'kind':5s} {'bytes':>8s}  source", "-" * 78]
    for i in rep["items"]:
        lines.append(f"{i['name']:52s} {i['kind']:5s} {i['bytes']:8,d}  {i['source']}")
    lines.append("-" * 78)
    lines.append(f"{'total (flash ' + format(rep['flash_bytes'], ',') + ' + RAM ' + format(rep['ram_bytes'], ',') + ')':52s}"
                 f" {'':5s} {rep['total_bytes']:8,d}  of {rep['budget_bytes']:,} budget, target {rep['target_bytes']:,}")
    return "\n".join(lines)


def plot(rep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 2.6))
    left = 0
    for i in rep["items"]:
        ax.barh(0, i["bytes"], left=left, hatch="" if i["source"] == "measured" else "//",
                label=f"{i['name']} ({i['bytes']:,} B)")
        left += i["bytes"]
    ax.axvline(rep["target_bytes"], color="orange", ls="--")
    ax.axvline(rep["budget_bytes"], color="red")
    ax.set_yticks([])
    ax.set_xlabel("bytes (hatched: estimated)")
    ax.set_xlim(0, max(rep["budget_bytes"], left) * 1.02)
    ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.4))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
