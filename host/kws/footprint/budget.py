"""`kws budget`: what the always-on island holds, against the spec's budget.

Two sources of truth, named in every report:

- **measured** components come from built objects (today the front end's ARM objects and
  its generated header: code, tables, scratch, stream state);
- **estimated** components come from the model alone (weights, biases and per-channel
  requantization from the int8 ``.tflite``; activation RAM from its tensor shapes) or are
  placeholders for code that has not landed (network kernels, detector, protocol, stack).

When the firmware ELF exists every line becomes measured; the stack is the worst case
over the image's call graph (kws.footprint.stack), with a run's painted high-water mark beside it. The model build fails
with a clear message when the total exceeds ``budget.island_bytes``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kws.errors import KwsError
from kws.paths import REPO_ROOT, make_firmware

# Placeholders until the code exists, sized from comparable code (kept in one place).
ESTIMATE_KERNEL_CODE = 6 * 1024  # int8 conv / depthwise / pool / FC kernels
ESTIMATE_DETECTOR_PROTOCOL = 2 * 1024
ESTIMATE_STACK = 1024


class BudgetError(KwsError):
    pass


@dataclass(frozen=True)
class Item:
    name: str
    kind: str  # flash | ram
    bytes: int
    source: str  # measured | estimated


def model_items(tflite: bytes, spec) -> list[Item]:
    """Flash and RAM of the network, estimated from the int8 model."""
    from kws.codegen import stream
    from kws.codegen.model import lower
    from kws.reference.tflite_model import TFLiteModel

    m = TFLiteModel.from_bytes(tflite)
    # what the C generator stores: an ensemble's 1x1 convolutions keep only their diagonal blocks
    layers, tin, _ = lower(m, drop_softmax=True)
    pl = stream.plan(layers, tin, spec.detector.stride_frames)
    weights = sum(ly.weights.size for ly in layers if ly.weights is not None)
    biases = 4 * sum(
        (ly.bias_in if ly.bias_in is not None else ly.bias).size  # depthwise: the folded bias only
        for ly in layers
        if ly.bias is not None or ly.bias_in is not None
    )
    channels = sum(
        m.tensors[op.outputs[0]].shape[-1]
        for op in m.operators
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    )
    act = sorted((t.nbytes for t in m.tensors if not t.is_const), reverse=True)
    window = spec.model.window_frames * spec.frontend.num_cepstra
    return [
        Item("network weights (int8)", "flash", weights, "estimated"),
        Item("network biases (int32)", "flash", biases, "estimated"),
        Item("requantization (multiplier + shift per channel)", "flash", 8 * channels, "estimated"),
        Item("activations (two largest tensors, ping-pong)", "ram", sum(act[:2]), "estimated")
        if pl is None
        else Item(
            "streaming network state and scratch (rows kept, pool)",
            "ram",
            sum(stream.ram_bytes(layers, pl)),
            "estimated",
        ),
        Item("feature window (int8 frames x cepstra)", "ram", window, "estimated"),
    ]


def frontend_items() -> list[Item]:
    """The front end: measured from its ARM objects and generated header (built on demand)."""
    make_firmware("arm", what="ARM build of the front end")
    objs = [
        REPO_ROOT / "build" / "arm" / "core" / "kws_frontend.o",
        REPO_ROOT / "build" / "arm" / "generated" / "kws_fe_tables.o",
    ]
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
    return [
        Item("network kernels code", "flash", ESTIMATE_KERNEL_CODE, "estimated"),
        Item("detector + protocol", "flash", ESTIMATE_DETECTOR_PROTOCOL, "estimated"),
        Item("peak stack", "ram", ESTIMATE_STACK, "estimated"),
    ]


# Where each source directory's bytes go (the island is core/ + generated/ + the app's
# buffers; start-up, vector table and port drivers are reported on their own line, not counted).
ISLAND_DIRS = {"core": "island", "generated": "island", "app": "island", "ports": "port"}


def map_sections(map_path: Path) -> list[tuple[str, str, int]]:
    """(output section kind, object path, bytes) of every input section the linker kept."""
    import re

    text = Path(map_path).read_text()
    text = text[text.index("Linker script and memory map") :]
    out = []
    pending = None
    for line in text.splitlines():
        m = re.match(r"^ (\.\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o)\s*$", line)
        if m:
            out.append((m.group(1), m.group(3), int(m.group(2), 16)))
            pending = None
            continue
        m = re.match(r"^ (\.\S+)\s*$", line)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r"^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o)\s*$", line)
        if m and pending:
            out.append((pending, m.group(2), int(m.group(1), 16)))
        pending = None
    return out


def _kind(section: str) -> str:
    """Memory kind of an input section; "none" for sections not loaded on the target
    (.comment, .ARM.attributes, debug info)."""
    if section.startswith((".text", ".isr_vector", ".ARM.exidx", ".ARM.extab")):
        return "code"
    if section.startswith(".rodata"):
        return "rodata"
    if section.startswith(".data"):
        return "data"
    if section.startswith((".bss", "COMMON")):
        return "bss"
    return "none"


def loaded_bytes(map_path: Path) -> dict[str, int]:
    """Bytes of every loaded input section in the map, by kind, over all objects (libgcc too)."""
    out = {"code": 0, "rodata": 0, "data": 0, "bss": 0}
    for section, _, size in map_sections(map_path):
        k = _kind(section)
        if k in out:
            out[k] += size
    return out


def elf_items(elf: Path, stack_bytes: int | None) -> list[Item]:
    """The island measured from a linked image and its map: bytes per source object, by kind."""
    from elftools.elf.elffile import ELFFile

    elf = Path(elf)
    map_path = elf.with_suffix(".map")
    if not map_path.exists():
        raise BudgetError(f"{map_path}: no linker map beside the ELF (link with -Wl,-Map)")
    with open(elf, "rb") as f:
        if ELFFile(f)["e_machine"] != "EM_ARM":
            raise BudgetError(f"{elf}: not an ARM image")
    per: dict[tuple[str, str], int] = {}
    for section, obj, size in map_sections(map_path):
        parts = Path(obj).parts
        top = next((p for p in parts if p in ISLAND_DIRS), None)
        if top is None or size == 0 or _kind(section) == "none":
            continue
        name = Path(obj).stem if ISLAND_DIRS[top] == "island" else "board start-up, vectors and port"
        key = (name, _kind(section))
        per[key] = per.get(key, 0) + size
    items = []
    for (name, kind), size in sorted(per.items()):
        is_port = name.startswith("board")
        items.append(
            Item(
                f"{name} ({kind})",
                "ram" if kind == "bss" else "flash",
                size,
                "measured (port, not counted)" if is_port else "measured",
            )
        )
    from kws.footprint.stack import worst_case

    # The island counts the stack's bound from the call graph; a run's painted high-water mark
    # (where interrupts happened to land) is shown beside it, below the bound.
    items.append(Item("worst-case stack (call graph)", "ram", worst_case(elf)["bytes"], "measured (bound)"))
    if stack_bytes is not None:
        items.append(Item("peak stack (painted, whole run)", "ram", int(stack_bytes), "measured (run, not counted)"))
    return items


def estimated_budget(spec, tflite: bytes) -> dict:
    """The island of a model before any firmware is linked: the network's parts estimated from its
    ``.tflite``, the front end's measured, the rest placeholders (what ``kws budget --model``,
    ``kws quantize`` and ``kws release`` report)."""
    return report(model_items(tflite, spec) + frontend_items() + placeholder_items(), spec)


def report(items: list[Item], spec) -> dict:
    counted = [i for i in items if "not counted" not in i.source]
    total = sum(i.bytes for i in counted)
    return {
        "items": [i.__dict__ for i in items],
        "total_bytes": total,
        "flash_bytes": sum(i.bytes for i in counted if i.kind == "flash"),
        "ram_bytes": sum(i.bytes for i in counted if i.kind == "ram"),
        "budget_bytes": spec.budget.island_bytes,
        "target_bytes": spec.budget.target_bytes,
        "fits": total <= spec.budget.island_bytes,
        "meets_target": total <= spec.budget.target_bytes,
        "all_measured": all(i.source.startswith("measured") for i in items),
    }


def check(rep: dict) -> None:
    if not rep["fits"]:
        big = max(rep["items"], key=lambda i: i["bytes"])
        raise BudgetError(
            f"island needs {rep['total_bytes']:,} B, over the {rep['budget_bytes']:,} B budget "
            f"(largest: {big['name']}, {big['bytes']:,} B): reduce model.width or model.blocks, "
            "or raise budget.island_bytes"
        )


def format_table(rep: dict) -> str:
    lines = [f"{'component':52s} {'kind':5s} {'bytes':>8s}  source", "-" * 78]
    for i in rep["items"]:
        lines.append(f"{i['name']:52s} {i['kind']:5s} {i['bytes']:8,d}  {i['source']}")
    lines.append("-" * 78)
    lines.append(
        f"{'total (flash ' + format(rep['flash_bytes'], ',') + ' + RAM ' + format(rep['ram_bytes'], ',') + ')':52s}"
        f" {'':5s} {rep['total_bytes']:8,d}  of {rep['budget_bytes']:,} budget, target {rep['target_bytes']:,}"
    )
    return "\n".join(lines)


def plot(rep: dict, path: Path) -> None:
    """The island as one bar per part, stacked left to right in the order of the bars below it,
    against the 48 KB target and the 64 KB budget: readable without the text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [i for i in rep["items"] if "not counted" not in i["source"]]
    colors = {"flash": "#4c72b0", "ram": "#dd8452"}
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.28 * len(items)))
    left = 0
    for row, i in enumerate(items):
        estimated = not i["source"].startswith("measured")
        ax.barh(
            row,
            i["bytes"],
            left=left,
            color=colors.get(i["kind"], "#55a868"),
            hatch="//" if estimated else "",
            edgecolor="white",
        )
        ax.text(left + i["bytes"] + 300, row, f"{i['bytes']:,} B", va="center", fontsize=7)
        left += i["bytes"]
    for x, text, style in (
        (rep["target_bytes"], f"target {rep['target_bytes'] // 1024} KB", "--"),
        (rep["budget_bytes"], f"budget {rep['budget_bytes'] // 1024} KB", "-"),
    ):
        ax.axvline(x, color="#c44e52", ls=style, lw=1.2)
        ax.text(x - 400, -0.9, text, color="#c44e52", ha="right", fontsize=8)
    ax.set_yticks(range(len(items)), [f"{i['name']}" for i in items], fontsize=7)
    ax.set_ylim(len(items) - 0.5, -1.3)
    ax.set_xlim(0, max(rep["budget_bytes"], left) * 1.08)
    ax.set_xlabel("bytes, cumulative (blue: flash, orange: RAM; hatched: estimated, not measured)")
    ax.set_title(
        f"Always-on island: {rep['total_bytes']:,} B (flash {rep['flash_bytes']:,} + RAM "
        f"{rep['ram_bytes']:,}) of {rep['budget_bytes']:,} B",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def measured_budget(spec, elf: Path, *, model_sha256: str | None = None) -> dict:
    """Island from the linked image, its stack bounded over its call graph (kws.footprint.stack); beside it
    the painted peak stack of a short run of it in QEMU: the semihosting
    app (kws_app.elf) reads 3 s of audio from a file, the serial-protocol app (kws_serial.elf)
    gets them over its link and reports its stack in STATS. With ``model_sha256``, the image's
    hello must name that model (the network was generated from it)."""
    import numpy as np

    pcm = np.random.default_rng(0).integers(-3000, 3000, 3 * spec.frontend.sample_rate_hz).astype(np.int16)
    if elf.name == "kws_app.elf":
        from kws.device.qemu import run_app

        run = run_app(pcm, elf.parent / "budget_run")
        stack = run["stats"]["stack"]
        got = str(run["hello"].get("model", "")).lower().removeprefix("0x")
    elif elf.name == "kws_serial.elf":
        from kws.device.qemu import Sim

        with Sim(elf) as sim, sim.link() as link:
            got = f"{link.handshake().model_hash32:08x}"
            link.stream(pcm)
            stack = link.stats()["stack_peak"]
    else:
        stack = got = None
        if model_sha256 is not None:
            raise KwsError(
                f"{elf}: only kws_app.elf and kws_serial.elf are run (for their stack and the model they "
                "report); measure one of them"
            )
    if model_sha256 is not None and got != model_sha256[:8]:
        raise KwsError(
            f"{elf} runs model {got or '?'}, not {model_sha256[:8]}: generate the network from that "
            "model (`kws codegen model --tflite MODEL_DIR/model.tflite`) and rebuild"
        )
    return {**report(elf_items(elf, stack), spec), "image": elf.name}
