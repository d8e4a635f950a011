"""platformio.ini stays consistent with the Makefile CI builds with: every environment lists
exactly the sources the Makefile compiles for that target, all present, and PlatformIO itself
accepts the file (`pio project config`; building needs platform downloads, impossible here)."""

import configparser
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kws.codegen.common import REPO_ROOT


def _pio():
    cp = configparser.ConfigParser()
    cp.read(REPO_ROOT / "platformio.ini")
    return cp


def _sources(env):
    return [s[2:-1] for s in _pio()[f"env:{env}"]["build_src_filter"].split() if s.startswith("+<")]


def _make(var):
    r = subprocess.run(["make", "-s", "-C", str(REPO_ROOT / "firmware"), f"print-{var}"], capture_output=True,
                       text=True, check=True)
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
        "ports/", "firmware/ports/")


def test_no_globs_in_source_lists():
    cp = _pio()
    for section in cp.sections():
        for tok in cp[section].get("build_src_filter", "").split():
            assert tok == "-<*>" or "*" not in tok, f"[{section}] uses a glob: {tok}"


def test_platformio_accepts_the_project():
    pio = Path(sys.executable).with_name("pio")
    r = subprocess.run([str(pio), "project", "config", "-d", str(REPO_ROOT), "--json-output"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    envs = {name: dict(opts) for name, opts in json.loads(r.stdout)}
    assert {"env:nano33ble", "env:stm32f4", "env:native"} <= set(envs)
    assert envs["env:nano33ble"]["board"] == "nano33ble" and envs["env:stm32f4"]["board"] == "nucleo_f411re"
