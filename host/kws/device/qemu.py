"""Run firmware images in QEMU (netduinoplus2: STM32F405, Cortex-M4F).

Semihosted runs: the image reads files and its command line through ARM semihosting and ends
QEMU with its exit code (SYS_EXIT_EXTENDED); its USART1 output comes back as text. With
``icount=True`` QEMU runs with ``-icount shift=0`` so virtual time advances one nanosecond per
instruction and SysTick-based tick counts convert exactly into instruction counts.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kws.errors import KwsError

MACHINE = "netduinoplus2"


@dataclass
class SemihostedRun:
    exit_code: int
    output: str


def qemu_binary() -> str:
    exe = shutil.which("qemu-system-arm")
    if exe is None:
        raise KwsError("qemu-system-arm is not installed (Debian package qemu-system-arm; `make setup` installs it)")
    return exe


def run_semihosted(elf: str | Path, args: list[str], *, timeout: float = 120.0, icount: bool = True,
                   cwd: str | Path | None = None) -> SemihostedRun:
    """Boot ``elf`` with semihosting command line ``args``; wait for it to exit.

    Raises :class:`KwsError` when QEMU does not finish within ``timeout`` seconds (the
    process is killed: never a hang).
    """
    elf = Path(elf)
    if not elf.exists():
        raise KwsError(f"{elf}: firmware image not found (build it with `make -C firmware qemu`)")
    semi = ",".join(["enable=on", "target=native"] + [f"arg={a}" for a in [elf.name, *args]])
    cmd = [qemu_binary(), "-M", MACHINE, "-display", "none", "-monitor", "none", "-serial", "stdio",
           "-semihosting-config", semi, "-kernel", str(elf)]
    if icount:
        cmd[1:1] = ["-icount", "shift=0"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise KwsError(f"{elf.name} did not finish within {timeout:.0f} s in QEMU; output so far:\n"
                       f"{(e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else e.stdout}") from e
    return SemihostedRun(exit_code=r.returncode, output=r.stdout + r.stderr)


def parse_fields(line: str) -> dict[str, str]:
    """``key=value`` pairs of one output line."""
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
