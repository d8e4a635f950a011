"""Renode is not installable from Debian or PyPI: its files are kept honest statically. The
Robot suites parse (robotframework) and use only Renode's and the Process library's keywords;
every path they and the .resc scripts name exists in the repository or is produced by the
firmware build; the kws commands they run exist with those options; the platform overlay
addresses what the port drives; the hosted-CI workflow runs exactly these suites after building
the images they load."""

import re
import subprocess

import pytest
import yaml
from robot.api import TestSuiteBuilder as SuiteBuilder

from kws.cli import build_parser
from kws.paths import REPO_ROOT

RENODE = REPO_ROOT / "renode"
SUITES = sorted(RENODE.glob("*.robot"))
SCRIPTS = sorted(RENODE.glob("*.resc"))
RENODE_KEYWORDS = {
    "Execute Command",
    "Execute Script",
    "Start Emulation",
    "Reset Emulation",
    "Create Terminal Tester",
    "Wait For Line On Uart",
}
ROBOT_BUILTINS = {"Run Process", "Should Be Equal As Integers", "Should Contain", "Log"}


def _make_targets() -> set[str]:
    text = (REPO_ROOT / "firmware" / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^\$\(BOARDS_DIR\)/(\S+\.elf):", text, re.M)}


def test_there_is_a_suite_and_a_script_per_board():
    assert {p.stem for p in SUITES} == {p.stem for p in SCRIPTS} == {"nano33ble", "nucleo_f411re"}


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_suite_parses_and_uses_known_keywords(suite):
    s = SuiteBuilder().build(str(suite))
    assert s.tests, f"{suite.name}: no test cases"
    for t in s.tests:
        names = {k.name for k in t.body}
        assert names <= RENODE_KEYWORDS | ROBOT_BUILTINS, names - RENODE_KEYWORDS - ROBOT_BUILTINS
        assert "Start Emulation" in names and "Execute Script" in names
    text = suite.read_text()
    assert "${RENODEKEYWORDS}" in text and "Library           Process" in text


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_suite_paths_exist_or_are_built(suite):
    text = suite.read_text()
    built = _make_targets()
    elf = re.search(r"\$\{ELF\}\s+\$\{ROOT\}/build/boards/(\S+)", text).group(1)
    assert elf in built, f"{suite.name} loads build/boards/{elf}, which make -C firmware boards does not produce"
    script = re.search(r"Execute Script\s+\$\{CURDIR\}/(\S+)", text).group(1)
    assert (RENODE / script).is_file()
    assert "${ROOT}/.venv/bin/kws" in text  # scripts/install.sh makes it


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_kws_commands_in_the_suites_exist(suite):
    s = SuiteBuilder().build(str(suite))
    parser = build_parser()
    variables = {"${WAV}": "a.wav", "${PCM}": "a.pcm", "${PORT}": "3456"}
    for t in s.tests:
        for k in t.body:
            if k.name != "Run Process" or k.args[0] != "${KWS}":
                continue
            argv = [a for a in k.args[1:] if "=" not in a or a.startswith("--")]
            argv = [re.sub(r"\$\{\w+\}", lambda m: variables.get(m.group(0), "x"), a) for a in argv]
            parser.parse_args(argv)  # SystemExit on an unknown option


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_resc_names_built_images_and_existing_overlays(script):
    text = script.read_text()
    built = _make_targets()
    bins = re.findall(r"^\$bin\?=@build/boards/(\S+)", text, re.M)
    assert len(bins) == 1 and bins[0] in built
    for overlay in re.findall(r"@\$ORIGIN/(\S+\.repl)", text):
        assert (RENODE / overlay).is_file(), overlay
    assert re.search(r"^machine LoadPlatformDescription @platforms/cpus/(nrf52840|stm32f4)\.repl$", text, re.M)
    assert "CreateServerSocketTerminal $port" in text and "connector Connect" in text
    if "nrf52840" in text:
        assert "pdm SetInputFile $audio" in text and "cpu VectorTableOffset 0x10000" in text


def test_overlay_matches_the_port_registers():
    repl = (RENODE / "nrf52840-legacy-uart.repl").read_text()
    port = (REPO_ROOT / "firmware" / "ports" / "nrf52840" / "port.c").read_text()
    assert "UART.NRF52840_UART @ sysbus 0x40002000" in repl and "easyDMA: false" in repl
    assert "#define UART0 0x40002000u" in port and "UART_ENABLE = 4u" in port  # legacy UART, as the overlay
    assert "nvic@2" in repl and "#define UART0_IRQ 2u" in port
    pdm = (REPO_ROOT / "firmware" / "ports" / "nrf52840" / "pdm_mic.c").read_text()
    assert "#define PDM 0x4001D000u" in pdm and "#define PDM_IRQ 29u" in pdm  # Renode: pdm @ 0x4001D000 -> nvic@29


def test_workflow_builds_the_images_and_runs_the_suites():
    wf = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "renode.yml").read_text())
    steps = wf["jobs"]["boards-in-renode"]["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "scripts/install.sh" in runs and "make -C firmware boards" in runs
    action = next(s for s in steps if s.get("uses", "").startswith("antmicro/renode-test-action@"))
    assert set(action["with"]["tests-to-run"].split()) == {f"renode/{p.name}" for p in SUITES}
    order = [i for i, s in enumerate(steps) if "make -C firmware boards" in s.get("run", "")] + [steps.index(action)]
    assert order == sorted(order)


def test_the_images_the_suites_load_build_here():
    r = subprocess.run(["make", "-s", "-C", str(REPO_ROOT / "firmware"), "boards"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for elf in _make_targets():
        assert (REPO_ROOT / "build" / "boards" / elf).is_file()
