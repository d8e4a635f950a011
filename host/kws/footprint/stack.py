"""Worst-case stack of a linked Cortex-M image, from GCC's own call graph.

The firmware is compiled with ``-fcallgraph-info=su``: beside every object GCC writes a ``.ci``
file (VCG) naming each function's frame ("N bytes (static)") and every call it makes. This walks
that graph from the image's vector table, the roots of all execution:

- the thread: ``Reset_Handler`` and everything it calls;
- each interrupt handler in the table, entered on top of the deepest thread point with the
  Cortex-M4F exception frame (26 words when the floating-point context is stacked).

Every interrupt this firmware enables runs at the reset priority (no port writes NVIC_IPR or
SHPR), so handlers do not nest: the bound is the thread's deepest path + the deepest handler +
one exception frame. An indirect call may reach any function whose address the objects take
outside the vector table (relocations other than calls, read with pyelftools). A frame GCC could
not bound (alloca, VLAs), recursion, or a callee with no frame in any call graph (a library
function, an object built without the flag) is an error naming it: no silent under-estimate.

Unlike the painted high-water mark (a run's maximum, which depends on where interrupts happened
to land), this is a bound, and the same for every build of the same sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kws.errors import KwsError
from kws.paths import REPO_ROOT

EXCEPTION_FRAME_BYTES = 26 * 4  # R0-R3, R12, LR, PC, xPSR, S0-S15, FPSCR, reserved word
INDIRECT = "__indirect_call"
# ARM relocations that are calls or branches, not address-taking (ARM ELF ABI, table 4-9): R_ARM_PC24,
# THM_CALL, PLT32, CALL, JUMP24, THM_JUMP24, THM_JUMP19, THM_JUMP11, THM_JUMP8
CALL_RELOCS = {1, 10, 27, 28, 29, 30, 51, 102, 103}

_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_FRAME = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)")


class StackError(KwsError):
    pass


@dataclass(frozen=True)
class Graph:
    frames: dict[str, int]  # function -> its own frame (bytes)
    calls: dict[str, set[str]]  # function -> callees (INDIRECT for a call through a pointer)
    address_taken: set[str]  # functions whose address an object takes (indirect targets)


def objects_of(map_path: Path) -> list[Path]:
    """The object files the linker loaded (``LOAD x.o`` lines of the map), relative to its cwd."""
    text = Path(map_path).read_text(errors="replace")
    objs = [Path(m) for m in re.findall(r"^LOAD (\S+\.o)$", text, re.M)]
    if not objs:
        raise StackError(f"{map_path}: no LOAD lines for object files (link separate objects with -Wl,-Map)")
    return objs


def read_graph(objects: list[Path]) -> Graph:
    frames: dict[str, int] = {}
    calls: dict[str, set[str]] = {}
    local_of: dict[tuple[str, str], str] = {}  # (object, function name) -> title of a static function
    taken: set[str] = set()
    for obj in objects:
        ci = obj.with_suffix(".ci")
        if not ci.exists():
            raise StackError(
                f"{ci}: no call graph beside {obj.name} (compile with -fcallgraph-info=su; after a "
                "flags change, rebuild the objects: rm -rf build/qemu/obj build/boards)"
            )
        text = ci.read_text(errors="replace")
        for title, label in _NODE.findall(text):
            m = _FRAME.search(label)
            if m is None:
                continue  # a callee declared here, defined elsewhere
            if m.group(2) != "static":
                raise StackError(
                    f"{ci}: {title} has a {m.group(2)} frame ({m.group(1)} bytes): no bound; "
                    "remove its alloca or variable-length array"
                )
            frames[title] = int(m.group(1))
            calls.setdefault(title, set())
            if ":" in title:
                local_of[(str(obj), title.rsplit(":", 1)[1])] = title
        for src, dst in _EDGE.findall(text):
            calls.setdefault(src, set()).add(dst)
        taken |= _address_taken(obj, local_of)
    return Graph(frames, calls, taken)


def _address_taken(obj: Path, local_of: dict[tuple[str, str], str]) -> set[str]:
    """Functions this object takes the address of (not by calling them), outside the vector table."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection

    out: set[str] = set()
    with open(obj, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        for sec in elf.iter_sections():
            if not isinstance(sec, RelocationSection):
                continue
            target = elf.get_section(sec["sh_info"]).name
            if target == ".isr_vector" or target.startswith((".debug", ".ARM.")):
                continue
            for rel in sec.iter_relocations():
                if rel["r_info_type"] in CALL_RELOCS:
                    continue
                sym = symtab.get_symbol(rel["r_info_sym"])
                kind = sym["st_info"]["type"]
                if kind == "STT_FUNC":
                    name = sym.name
                elif kind == "STT_SECTION" and elf.get_section(sym["st_shndx"]).name.startswith(".text."):
                    name = elf.get_section(sym["st_shndx"]).name[len(".text.") :]
                else:
                    continue
                out.add(local_of.get((str(obj), name), name))
    return out


def vector_roots(elf_path: Path) -> tuple[str, list[str]]:
    """(reset handler, other handlers) named by the ELF's symbols for the vector table's entries."""
    from elftools.elf.elffile import ELFFile

    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        vt = elf.get_section_by_name(".isr_vector")
        if vt is None:
            raise StackError(f"{elf_path}: no .isr_vector section (not a Cortex-M image of this firmware)")
        data = vt.data()
        words = [int.from_bytes(data[i : i + 4], "little") for i in range(4, len(data) - 3, 4)]
        names: dict[int, list[str]] = {}
        for sym in elf.get_section_by_name(".symtab").iter_symbols():
            if sym["st_info"]["type"] == "STT_FUNC":
                names.setdefault(sym["st_value"] & ~1, []).append(sym.name)
    handlers = []
    for w in words:
        if w and (w & ~1) not in names:
            raise StackError(f"{elf_path}: vector table entry 0x{w:08x} is not a function")
        if w:
            handlers.append(names[w & ~1])
    return handlers[0], handlers[1:]


def _pick(graph: Graph, aliases: list[str]) -> str:
    """Of the symbol names at one address, the one the call graph defines (aliases share code)."""
    for n in aliases:
        if n in graph.frames:
            return n
    raise StackError(f"handler {'/'.join(aliases)} has no frame in any call graph")


def worst_case(elf: Path) -> dict:
    """Worst-case stack bytes of ``elf`` (built from separate objects, with its ``.map`` beside it)."""
    elf = Path(elf)
    map_path = elf.with_suffix(".map")
    if not map_path.exists():
        raise StackError(f"{map_path}: no linker map beside the ELF (link with -Wl,-Map)")
    firmware = REPO_ROOT / "firmware"  # the map's paths are relative to make's cwd
    objs = [o if o.is_absolute() else (firmware / o).resolve() for o in objects_of(map_path)]
    g = read_graph(objs)
    reset, handlers = vector_roots(elf)
    memo: dict[str, tuple[int, list[str]]] = {}

    def deepest(fn: str, path: tuple[str, ...]) -> tuple[int, list[str]]:
        if fn in path:
            raise StackError(f"{elf}: recursion {' -> '.join(path[path.index(fn) :] + (fn,))}: no stack bound")
        if fn in memo:
            return memo[fn]
        if fn not in g.frames:
            raise StackError(
                f"{elf}: {path[-1] if path else '?'} calls {fn}, which has no frame in any call graph "
                "(a library function, or an object built without -fcallgraph-info=su)"
            )
        best, via = 0, []
        for c in sorted(g.calls.get(fn, ())):
            targets = sorted(g.address_taken - {fn}) if c == INDIRECT else [c]
            for t in targets:
                d, p = deepest(t, path + (fn,))
                if d > best:
                    best, via = d, p
        memo[fn] = (g.frames[fn] + best, [fn] + via)
        return memo[fn]

    thread, thread_path = deepest(_pick(g, reset), ())
    isr = [deepest(fn, ()) for fn in sorted({_pick(g, h) for h in handlers})]
    isr_bytes, isr_path = max(isr, default=(0, []))
    return {
        "bytes": thread + isr_bytes + EXCEPTION_FRAME_BYTES,
        "thread_bytes": thread,
        "thread_path": thread_path,
        "interrupt_bytes": isr_bytes,
        "interrupt_path": isr_path,
        "exception_frame_bytes": EXCEPTION_FRAME_BYTES,
        "indirect_targets": sorted(g.address_taken),
    }
