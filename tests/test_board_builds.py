"""The real boards' firmware builds in CI with Debian's arm-none-eabi-gcc (warnings as errors):
NUCLEO-F411RE (serial audio) and Nano 33 BLE Sense (PDM microphone; serial audio). Each image
has its vector table where the board boots (0x08000000; 0x10000 after the Arduino bootloader),
a reset vector inside its flash, nothing undefined, and fits the island budget. They cannot run
here (no boards; Renode is not installable): see renode/ for the simulated runs in hosted CI."""

import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from kws.paths import REPO_ROOT

BOARDS = REPO_ROOT / "build" / "boards"
IMAGES = {
    "stm32f4/kws_serial.elf": (0x08000000, 512 * 1024),
    "nrf52840/kws_mic.elf": (0x10000, 960 * 1024),
    "nrf52840/kws_serial.elf": (0x10000, 960 * 1024),
}


@pytest.fixture(scope="module")
def built():
    r = subprocess.run(["make", "-C", str(REPO_ROOT / "firmware"), "boards"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_board_image_boots_where_the_board_does(built, name):
    base, size = IMAGES[name]
    with open(BOARDS / name, "rb") as f:
        elf = ELFFile(f)
        vec = elf.get_section_by_name(".isr_vector")
        assert vec["sh_addr"] == base
        words = vec.data()
        sp, reset = int.from_bytes(words[:4], "little"), int.from_bytes(words[4:8], "little")
        assert 0x20000000 < sp <= 0x20040000 and sp % 8 == 0
        assert reset & 1 and base <= reset - 1 < base + size  # Thumb, in flash
        symtab = elf.get_section_by_name(".symtab")
        undefined = [s.name for s in symtab.iter_symbols() if s["st_shndx"] == "SHN_UNDEF" and s.name]
        assert undefined == []


def test_board_images_fit_the_island_budget(built, spec):
    for name in IMAGES:
        out = (
            subprocess.run(["arm-none-eabi-size", str(BOARDS / name)], capture_output=True, text=True, check=True)
            .stdout.splitlines()[1]
            .split()
        )
        text, data, bss = map(int, out[:3])
        assert text + data + bss + 2048 <= spec.budget.island_bytes, f"{name}: {text} + {data} + {bss} B"


def test_microphone_build_has_the_pdm_driver_and_refuses_host_audio(built):
    syms = subprocess.run(
        ["arm-none-eabi-nm", str(BOARDS / "nrf52840" / "kws_mic.elf")], capture_output=True, text=True, check=True
    ).stdout
    assert "kws_port_mic_block" in syms and "kws_port_mic_start" in syms
    serial = subprocess.run(
        ["arm-none-eabi-nm", str(BOARDS / "nrf52840" / "kws_serial.elf")], capture_output=True, text=True, check=True
    ).stdout
    assert "kws_port_mic_block" not in serial
