"""The package's layout follows the pipeline: no module or stage imports one that imports it back,
the command line is imported by nothing, the stages before code generation never reach into it,
and every option of every command says what it does."""

import argparse
import ast
from pathlib import Path

from kws.cli import build_parser

PACKAGE = Path(__file__).resolve().parents[1] / "host" / "kws"
# stages that come before the C is generated: they may not import kws.codegen
BEFORE_CODEGEN = ("kws.spec", "kws.frontend", "kws.data", "kws.reference", "kws.train")


def _modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, function-level imports included."""
    mods = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kws":
                targets = [resolve(f"{node.module}.{a.name}") or resolve(node.module) for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [resolve(a.name) for a in node.names if a.name.split(".")[0] == "kws"]
            else:
                continue
            edges[m].update(t for t in targets if t and t != m)
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(n: str) -> None:
        index[n] = low[n] = len(index)
        stack.append(n)
        for w in graph.get(n, ()):
            if w not in index:
                visit(w)
                low[n] = min(low[n], low[w])
            elif w in stack:
                low[n] = min(low[n], index[w])
        if low[n] == index[n]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == n:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for n in list(graph):
        if n not in index:
            visit(n)
    return out


def _stage(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_no_module_imports_one_that_imports_it_back():
    assert _cycles(_imports()) == []


def test_no_stage_imports_one_that_imports_it_back():
    stages: dict[str, set[str]] = {}
    for m, targets in _imports().items():
        stages.setdefault(_stage(m), set()).update(_stage(t) for t in targets if _stage(t) != _stage(m))
    assert _cycles(stages) == []


def test_the_command_line_is_imported_by_nothing_and_code_generation_by_no_earlier_stage():
    for m, targets in _imports().items():
        if not m.startswith("kws.cli"):
            assert not [t for t in targets if t.startswith("kws.cli")], m
        if m.startswith(BEFORE_CODEGEN):
            assert not [t for t in targets if t.startswith("kws.codegen")], m


def test_the_imports_are_seen():
    """The walk above finds imports at all: a stage known to import another is seen doing so."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    edges = _imports()
    assert "kws.reference.tflm" in edges["kws.reference.pipeline"]
    assert "kws.released" in edges["kws.cli.evaluate"]


def test_every_option_of_every_command_says_what_it_does():
    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(a, argparse._HelpAction) and not a.help:
                missing.append(f"{path} {'/'.join(a.option_strings) or a.dest}")

    walk(build_parser(), "kws")
    assert missing == []
