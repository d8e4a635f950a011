"""The core and generated code build for Cortex-M4F with arm-none-eabi-gcc, warnings as errors,
and need nothing from libc (no malloc, no memcpy): the island is self-contained."""

import subprocess

import pytest
from elftools.elf.elffile import ELFFile

from kws.paths import REPO_ROOT
from kws.spec import load_spec

ARM = REPO_ROOT / "build" / "arm"
NN = [
    "kws_nn_conv_s8",
    "kws_nn_dwconv_s8",
    "kws_nn_pwconv_s8",
    "kws_nn_avgpool_s8",
    "kws_nn_fc_s8",
    "kws_nn_requantize",
]
OBJS = [
    ARM / "core" / "kws_frontend.o",
    ARM / "generated" / "kws_fe_tables.o",
    ARM / "generated" / "commands" / "kws_net.o",
    *(ARM / "core" / f"{name}.o" for name in NN),
]  # the network's kernels: one operator per file


@pytest.fixture(scope="module")
def arm_build():
    r = subprocess.run(["make", "-C", str(REPO_ROOT / "firmware"), "arm"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_objects_are_cortex_m4_thumb2_hard_float(arm_build):
    for obj in OBJS:
        with open(obj, "rb") as f:
            assert ELFFile(f)["e_machine"] == "EM_ARM"
        attrs = subprocess.run(
            ["arm-none-eabi-readelf", "-A", str(obj)], capture_output=True, text=True, check=True
        ).stdout
        assert "Tag_CPU_arch: v7E-M" in attrs and "Tag_THUMB_ISA_use: Thumb-2" in attrs, attrs
        assert "Tag_ABI_VFP_args: VFP registers" in attrs, f"{obj.name}: not the hard-float ABI"


def test_no_undefined_symbols(arm_build):
    """Integer-only, no malloc, no libc: the objects reference nothing outside themselves
    (kws_frontend.o only the tables)."""
    r = subprocess.run(["arm-none-eabi-nm", "-u", *map(str, OBJS)], capture_output=True, text=True, check=True)
    undefined = {line.split()[-1] for line in r.stdout.splitlines() if line.strip() and ":" not in line}
    assert undefined <= {
        "kws_fe_window_half",
        "kws_fe_cos",
        "kws_fe_bitrev",
        "kws_fe_mel_start",
        "kws_fe_mel_len",
        "kws_fe_mel_offset",
        "kws_fe_mel_weights",
        "kws_fe_log2_table",
        "kws_fe_dct",
        "kws_fe_out_offset",
        "kws_fe_out_gain",
        "kws_nn_conv_s8",
        "kws_nn_pwconv_s8",
        "kws_nn_dwconv_s8",
        "kws_nn_avgpool_s8",
        "kws_nn_avgpool_row_sums_s8",
        "kws_nn_avgpool_sums_s8",
        "kws_nn_fc_s8",
    }, undefined


@pytest.mark.parametrize("obj", [0, *range(2, 3 + len(NN))])
def test_no_floating_point_instructions(arm_build, obj):
    r = subprocess.run(["arm-none-eabi-objdump", "-d", str(OBJS[obj])], capture_output=True, text=True, check=True)
    fp_ops = [
        line
        for line in r.stdout.splitlines()
        if "\tv" in line and any(op in line for op in ("vmul", "vadd", "vsub", "vdiv", "vcvt", "vmla", "vsqrt"))
    ]
    assert not fp_ops, fp_ops[:3]


def test_island_code_and_tables_stay_small(arm_build):
    r = subprocess.run(["arm-none-eabi-size", "-t", *map(str, OBJS)], capture_output=True, text=True, check=True)
    total = r.stdout.strip().splitlines()[-1].split()
    text, data, bss = int(total[0]), int(total[1]), int(total[2])
    # code, tables and the released network's weights leave a quarter of the island target for RAM and stack
    # (the commands network at width 48: 33.7 KB of objects, 8.3 KB of RAM in its serial image)
    assert text + data + bss < load_spec().budget.target_bytes * 3 // 4, r.stdout
