"""The worst-case stack (kws.footprint.stack) on images built here by arm-none-eabi-gcc with the firmware's
flags: it follows GCC's call graph from the vector table, counts calls through pointers to every
function whose address is taken, adds the deepest interrupt handler and its exception frame, and
refuses what it cannot bound (recursion, variable-length arrays, callees without a graph)."""

import re
import subprocess
from pathlib import Path

import pytest

from kws.footprint.stack import EXCEPTION_FRAME_BYTES, StackError, worst_case
from kws.paths import REPO_ROOT

ARCH = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
FLAGS = ARCH + ["-O1", "-ffunction-sections", "-fdata-sections", "-fcallgraph-info=su", "-fstack-usage"]

VECTORS = """
extern void Reset_Handler(void);
void Irq_Handler(void);
extern unsigned _top;
typedef void (*handler_t)(void);
__attribute__((section(".isr_vector"), used)) static const handler_t vectors[3] = {
    (handler_t)&_top, Reset_Handler, Irq_Handler};
volatile unsigned char irq_sink[40];
void Irq_Handler(void) { volatile unsigned char b[24]; for (int i = 0; i < 24; i++) b[i] = irq_sink[i]; }
"""


def build(tmp: Path, sources: dict[str, str]) -> Path:
    """Compile each source apart (objects beside their .ci) and link them with a map."""
    objs = []
    for name, text in {"vectors.c": VECTORS, **sources}.items():
        (tmp / name).write_text(text)
        obj = tmp / name.replace(".c", ".o")
        subprocess.run(["arm-none-eabi-gcc", *FLAGS, "-c", str(tmp / name), "-o", str(obj)], check=True)
        objs.append(str(obj))
    elf = tmp / "image.elf"
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            *ARCH,
            "-nostdlib",
            "-Wl,-e,Reset_Handler",
            "-Wl,--defsym,_top=0x20001000",
            "-Wl,-Ttext=0",
            "-Wl,--section-start=.isr_vector=0x8000",
            f"-Wl,-Map,{tmp / 'image.map'}",
            "-o",
            str(elf),
            *objs,
        ],
        check=True,
    )
    return elf


def frame(ci_dir: Path, fn: str) -> int:
    """A function's own frame as GCC's -fstack-usage reports it (.su beside the object)."""
    for su in ci_dir.glob("*.su"):
        for line in su.read_text().splitlines():
            if re.search(rf":{re.escape(fn)}\t", line):
                return int(line.split("\t")[1])
    raise AssertionError(fn)


MAIN = """
typedef void (*fn_t)(volatile unsigned char *);
volatile fn_t hook;
volatile unsigned char sink[400];
void big(volatile unsigned char *p);
void big(volatile unsigned char *p) { volatile unsigned char b[300]; for (int i = 0; i < 300; i++) b[i] = p[i]; }
static void __attribute__((noinline)) small(void) { volatile unsigned char b[16]; b[0] = sink[0]; sink[1] = b[0]; }
void Reset_Handler(void);
void Reset_Handler(void) { hook = big; small(); hook(sink); for (;;) {} }
"""


def test_the_bound_follows_calls_pointers_and_interrupts(tmp_path):
    r = worst_case(build(tmp_path, {"main.c": MAIN}))
    # the call through the pointer reaches big(), the deepest thing the thread can do
    assert r["thread_path"] == ["Reset_Handler", "big"] and "big" in r["indirect_targets"]
    assert r["thread_bytes"] == frame(tmp_path, "Reset_Handler") + frame(tmp_path, "big") > 300
    assert r["interrupt_path"] == ["Irq_Handler"] and r["interrupt_bytes"] == frame(tmp_path, "Irq_Handler") >= 24
    assert r["bytes"] == r["thread_bytes"] + r["interrupt_bytes"] + EXCEPTION_FRAME_BYTES


@pytest.mark.parametrize(
    "source, error",
    [
        (
            "void f(int n); void f(int n) { volatile int a = n; if (a) f(a - 1); }\n"
            "void Reset_Handler(void); void Reset_Handler(void) { f(3); for (;;) {} }",
            r"recursion .*f -> f",
        ),
        (
            "void g(int n); void g(int n) { volatile char v[n]; v[0] = 1; }\n"
            "void Reset_Handler(void); void Reset_Handler(void) { g(8); for (;;) {} }",
            r"g has a dynamic.* frame",
        ),
        (
            "extern void elsewhere(void);\n"
            "void Reset_Handler(void); void Reset_Handler(void) { elsewhere(); for (;;) {} }\n"
            "void elsewhere(void) __attribute__((weak)); void elsewhere(void) {}",
            None,
        ),
    ],
)
def test_what_cannot_be_bounded_is_refused_by_name(tmp_path, source, error):
    elf = build(tmp_path, {"main.c": source})
    if error is None:  # defined in the same image: bounded
        assert worst_case(elf)["thread_path"][0] == "Reset_Handler"
        (tmp_path / "main.ci").unlink()  # an object built without the flag
        with pytest.raises(StackError, match=r"main.ci: no call graph beside main.o"):
            worst_case(elf)
    else:
        with pytest.raises(StackError, match=error):
            worst_case(elf)


def test_every_firmware_image_is_bounded(tmp_path):
    """The shipped images: the thread's deepest path starts at reset and runs the network."""
    r = subprocess.run(
        ["make", "-s", "-C", str(REPO_ROOT / "firmware"), "qemu", "boards"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    for elf in [
        "qemu/kws_serial.elf",
        "qemu/kws_app.elf",
        "qemu/kws_mic.elf",
        "boards/stm32f4/kws_serial.elf",
        "boards/nrf52840/kws_mic.elf",
        "boards/nrf52840/kws_serial.elf",
    ]:
        b = worst_case(REPO_ROOT / "build" / elf)
        assert b["thread_path"][:2] == ["Reset_Handler", "main"], elf
        assert 256 < b["bytes"] < 4096 and b["interrupt_path"] == ["kws_port_irq"], (elf, b)
