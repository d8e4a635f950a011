"""platformio.ini stays consistent with the Makefile CI builds with: every environment lists
exactly the sources the Makefile compiles for that target, all present, and PlatformIO itself
accepts the file (`pio project config`; building needs platform downloads, impossible here)."""

import configparser
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kws.paths import REPO_ROOT


def _pio():
    cp = configparser.ConfigParser()
    cp.read(REPO_ROOT / "platformio.ini")
    return cp


def _sources(env):
    return [s[2:-1] for s in _pio()[f"env:{env}"]["build_src_filter"].split() if s.startswith("+<")]


def _make(var):
    r = subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT / "firmware"), f"print-{var}"], capture_output=True, text=True, check=True
    )
    return {f"firmware/{s}" for s in r.stdout.split()}


def test_native_env_lists_the_makefile_sources():
    srcs = _sources("native")
    for s in srcs:
        assert (REPO_ROOT / s).is_file(), s
    core = _make("CORE_SRCS") | _make("GEN_SRCS")
    assert core <= set(srcs), f"platformio.ini misses {core - set(srcs)}"


@pytest.mark.parametrize("env,var", [("stm32f4", "STM32_SRCS"), ("nano33ble", "NRF_SRCS")])
def test_board_envs_build_what_the_makefile_builds(env, var):
    srcs = _sources(env)
    for s in srcs:
        assert (REPO_ROOT / s).is_file(), s
    assert set(srcs) == _make(var)
    ld = _pio()[f"env:{env}"]["board_build.ldscript"]
    assert (REPO_ROOT / ld).is_file() and ld in (REPO_ROOT / "firmware" / "Makefile").read_text().replace(
        "ports/", "firmware/ports/"
    )


def test_no_globs_in_source_lists():
    cp = _pio()
    for section in cp.sections():
        for tok in cp[section].get("build_src_filter", "").split():
            assert tok == "-<*>" or "*" not in tok, f"[{section}] uses a glob: {tok}"


def test_platformio_accepts_the_project():
    pio = Path(sys.executable).with_name("pio")
    r = subprocess.run(
        [str(pio), "project", "config", "-d", str(REPO_ROOT), "--json-output"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    envs = {name: dict(opts) for name, opts in json.loads(r.stdout)}
    assert {"env:nano33ble", "env:stm32f4", "env:native"} <= set(envs)
    assert envs["env:nano33ble"]["board"] == "nano33ble" and envs["env:stm32f4"]["board"] == "nucleo_f411re"


def _make_opts(build_dir):
    """{source: [-O flags]} of every ARM compile command `make -n` would run for the images."""
    r = subprocess.run(
        ["make", "-n", "-B", "-C", str(REPO_ROOT / "firmware"), f"BUILD={build_dir}", "arm", "qemu", "boards"],
        capture_output=True,
        text=True,
        check=True,
    )
    opts = {}
    for line in r.stdout.splitlines():
        words = line.split()
        if words[:1] == ["arm-none-eabi-gcc"] and "-c" in words:
            opts.setdefault(words[-1], set()).add(tuple(w for w in words if w.startswith("-O")))
    return opts


def _size_srcs():
    return set(
        subprocess.run(
            ["make", "-s", "-C", str(REPO_ROOT / "firmware"), "print-SIZE_SRCS"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )


def test_makefile_builds_the_per_sample_path_for_speed_and_the_rest_for_size(tmp_path):
    opts, size = _make_opts(tmp_path), _size_srcs()
    assert size and all((REPO_ROOT / "firmware" / s).is_file() for s in size)
    assert size <= set(opts), f"opt.mk lists files no image compiles: {size - set(opts)}"
    for src, seen in opts.items():
        assert seen == {("-Os",) if src in size else ("-O2",)}, f"{src}: {seen}"
    for hot in (
        "core/kws_frontend.c",
        "core/kws_nn_pwconv_s8.c",
        "core/kws_nn_dwconv_s8.c",
        "core/kws_nn_conv_s8.c",
        "generated/commands/kws_net.c",
        "core/kws_proto.c",
    ):
        assert opts[hot] == {("-O2",)}


class _Node:
    def __init__(self, path):
        self.path = str(path)

    def srcnode(self):
        return self

    def get_abspath(self):
        return self.path


class _SConsEnv(dict):
    """The few calls pio_opt.py makes on PlatformIO's SCons environment, recorded."""

    def __init__(self, ccflags):
        super().__init__(CCFLAGS=ccflags, CFLAGS=["-std=c99", "-O3"])
        self.middlewares = []

    def subst(self, s):
        assert s == "$PROJECT_DIR"
        return str(REPO_ROOT)

    def AddBuildMiddleware(self, fn, pattern):
        self.middlewares.append((fn, pattern))

    def Object(self, node, **overrides):
        return overrides


def test_platformio_builds_each_file_at_the_makefiles_optimisation(tmp_path):
    """firmware/pio_opt.py, run as PlatformIO runs a pre: script (its SCons calls recorded, since
    `pio run` needs platform downloads), gives every source of both board environments the -O
    flag the Makefile compiles it with, replacing the platform's default -Os."""
    script = REPO_ROOT / "firmware" / "pio_opt.py"
    env = _SConsEnv(["-Os", "-ffunction-sections", "-mthumb", "-Wall"])
    glb = {"__name__": "pio_opt"}
    glb["Import"] = lambda name: glb.__setitem__(name, env)
    exec(compile(script.read_text(), str(script), "exec"), glb)
    ((fn, pattern),) = env.middlewares
    assert pattern == "*.c"
    make = _make_opts(tmp_path)
    for board in ("stm32f4", "nano33ble"):
        assert "pre:firmware/pio_opt.py" in _pio()[f"env:{board}"]["extra_scripts"].split()
        for src in _sources(board):
            for path in (REPO_ROOT / src, REPO_ROOT / ".pio" / "build" / board / "src" / src):
                got = fn(env, _Node(path))
                assert got["CCFLAGS"] == ["-ffunction-sections", "-mthumb", "-Wall", got["CCFLAGS"][-1]]
                assert got["CFLAGS"] == ["-std=c99"]
                assert make[src.removeprefix("firmware/")] == {(got["CCFLAGS"][-1],)}, src
