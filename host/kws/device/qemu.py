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


def semihost_config(elf: Path, args: list[str]) -> str:
    """QEMU's -semihosting-config value: enabled, with the command line ``<elf name> args...``."""
    return ",".join(["enable=on", "target=native"] + [f"arg={a}" for a in [Path(elf).name, *args]])


def run_semihosted(
    elf: str | Path, args: list[str], *, timeout: float = 120.0, icount: bool = True, cwd: str | Path | None = None
) -> SemihostedRun:
    """Boot ``elf`` with semihosting command line ``args``; wait for it to exit.

    Raises :class:`KwsError` when QEMU does not finish within ``timeout`` seconds (the
    process is killed: never a hang).
    """
    elf = Path(elf)
    if not elf.exists():
        raise KwsError(f"{elf}: firmware image not found (build it with `make -C firmware qemu`)")
    cmd = [
        qemu_binary(),
        "-M",
        MACHINE,
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-semihosting-config",
        semihost_config(elf, args),
        "-kernel",
        str(elf),
    ]
    if icount:
        cmd[1:1] = ["-icount", "shift=0"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise KwsError(
            f"{elf.name} did not finish within {timeout:.0f} s in QEMU; output so far:\n"
            f"{(e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else e.stdout}"
        ) from e
    return SemihostedRun(exit_code=r.returncode, output=r.stdout + r.stderr)


def parse_fields(line: str) -> dict[str, str]:
    """``key=value`` pairs of one output line."""
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


def net_bench(
    blob: bytes,
    x,
    expected,
    work_dir,
    *,
    name: str,
    drop_softmax: bool = False,
    frontend_hash32: int = 0,
    source: str = "<model>",
) -> dict:
    """Generate C for ``blob``, build it into the QEMU bench image, run one input in the emulator.

    ``x``: int8 input, ``expected``: int8 output (from TFLM). Returns ``equal`` (bool),
    ``instructions`` per inference and ``layers`` (instructions per kernel call, in order, with
    their kinds), from SysTick under ``-icount shift=0`` calibrated by a known loop.
    """
    import re
    from pathlib import Path

    import numpy as np

    from kws.codegen import model as cgm
    from kws.paths import firmware_build_dir, make_firmware

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    cgm.generate(blob, work_dir, frontend_hash32=frontend_hash32, drop_softmax=drop_softmax, source=source)
    np.asarray(x, dtype=np.int8).tofile(work_dir / "case.in")
    np.asarray(expected, dtype=np.int8).tofile(work_dir / "case.out")
    elf = firmware_build_dir("qemu") / f"{name}_bench.elf"
    elf.unlink(missing_ok=True)  # always rebuild: the same name may have served another network
    make_firmware("qemu-net", f"NET_DIR={work_dir.resolve()}", f"NET_NAME={name}", what="QEMU network image build")
    run = run_semihosted(elf, [str(work_dir / "case")], timeout=300)
    line = [ln for ln in run.output.splitlines() if ln.startswith("net_bench ")]
    if not line:
        raise KwsError(f"{name}: no result from the emulator:\n{run.output}")
    f = parse_fields(line[0])
    per_tick = int(f["calib_instr"]) / int(f["calib_ticks"]) / int(f["runs"])
    header = (work_dir / "kws_net.h").read_text()
    kinds = re.search(r"kernel calls per inference: ([a-z0-9 ]+)", header).group(1).split()
    out = {
        "equal": f["equal"] == "1" and run.exit_code == 0,
        "instructions": int(f["ticks"]) * per_tick,
        "layers": [(k, int(t) * per_tick) for k, t in zip(kinds, f["layers"].split(","))],
        "arena_bytes": int(f["arena"]),
    }
    if "stream_steps" in f:
        per = int(f["calib_instr"]) / int(f["calib_ticks"])
        steps = int(f["stream_steps"])
        out["stream"] = {
            "equal": f["stream_equal"] == "1",
            "instructions_per_step": int(f["step_ticks"]) * per / steps,
            "logits_instructions": int(f["logit_ticks"]) * per,
            "layers_per_step": [(k, int(t) * per / steps) for k, t in zip(kinds, f["stream_layers"].split(","))],
        }
    return out


def run_app(pcm, work_dir, *, timeout: float = 600.0, model: str | None = None, model_dir=None) -> dict:
    """Stream int16 ``pcm`` through the keyword-spotter image (build/qemu/kws_app.elf; another
    ``model``'s: build/qemu-<model>/, its C from ``model_dir`` if not firmware/generated/<model>/) via
    semihosting. Returns hello fields, events [(class, score, sample)], every window's logits,
    the final counters (with instructions per stage from the calibrated SysTick) and the feature
    monitor's statistics (kws.reference.monitor.FeatureStats)."""
    from pathlib import Path

    import numpy as np

    from kws.paths import DEFAULT_MODEL, firmware_build_dir, make_firmware

    model = model or DEFAULT_MODEL
    make_firmware("qemu", what="firmware build", model=model, model_dir=model_dir)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    audio, dump = work_dir / "audio.pcm", work_dir / "logits.bin"
    np.asarray(pcm, dtype="<i2").tofile(audio)
    run = run_semihosted(firmware_build_dir("qemu", model) / "kws_app.elf", [str(audio), str(dump)], timeout=timeout)
    lines = run.output.splitlines()
    hello = parse_fields(next(ln for ln in lines if ln.startswith("kws hello")))
    done = [ln for ln in lines if ln.startswith("kws done")]
    if run.exit_code != 0 or not done:
        raise KwsError(f"kws_app failed (exit {run.exit_code}):\n{run.output[-2000:]}")
    stats = {k: int(v) for k, v in parse_fields(done[0]).items()}
    per = stats["calib_instr"] / stats["calib_ticks"]
    stats.update(
        fe_instructions=stats["fe_ticks"] * per,
        net_instructions=stats["net_ticks"] * per,
        det_instructions=stats["det_ticks"] * per,
    )
    events = [
        (int(f["class"]), int(f["score"]), int(f["sample"]))
        for f in (parse_fields(ln) for ln in lines if ln.startswith("kws event"))
    ]
    raw = np.fromfile(dump, dtype=np.int8) if dump.exists() else np.zeros(0, np.int8)
    mon = [ln.split()[2] for ln in lines if ln.startswith("kws monitor ")]
    from kws.reference.monitor import FeatureStats

    monitor = FeatureStats.from_bytes(bytes.fromhex(mon[0]), source="kws_app monitor") if mon else None
    return {"hello": hello, "events": events, "logits": raw, "stats": stats, "monitor": monitor}


class Sim:
    """QEMU running a firmware image whose serial port is a loopback TCP server; ``.url`` is
    the pyserial URL. Context manager: QEMU is stopped on exit, whatever happened."""

    def __init__(self, elf, *, icount: bool = True, args: list[str] | None = None):
        """``args``: a semihosting command line (e.g. the emulated microphone's audio file)."""
        from pathlib import Path

        self.elf = Path(elf)
        if not self.elf.exists():
            raise KwsError(f"{self.elf}: firmware image not found (make -C firmware qemu)")
        self.icount = icount
        self.args = args
        self.proc = None
        self.url = None
        self._tmp = None

    def __enter__(self):
        import socket as so
        import subprocess
        import tempfile

        # QEMU is handed a socket already listening on a free loopback port: a client may connect
        # the moment this returns (the connection waits in the backlog until QEMU accepts it),
        # and no other process can take the port between choosing it and QEMU binding it
        self._tmp = tempfile.TemporaryDirectory(prefix="kws-sim-")
        listener = so.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        monitor = f"unix:{self._tmp.name}/monitor,server=on,wait=off"  # reset() speaks to it
        cmd = [
            qemu_binary(),
            "-M",
            MACHINE,
            "-display",
            "none",
            "-monitor",
            monitor,
            "-chardev",
            f"socket,id=s0,fd={listener.fileno()},server=on,wait=on,nodelay=on",
            "-serial",
            "chardev:s0",
            "-kernel",
            str(self.elf),
        ]
        if self.icount:
            cmd[1:1] = ["-icount", "shift=0"]
        if self.args is not None:
            cmd[1:1] = ["-semihosting-config", semihost_config(self.elf, self.args)]
        try:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(listener.fileno(),)
            )
        finally:
            listener.close()  # QEMU holds its own copy
        self.url = f"socket://127.0.0.1:{port}"
        return self

    def link(self, timeout: float = 10.0):
        """The device's serial link (connecting releases QEMU's wait=on: the guest starts)."""
        from kws.device.link import Link

        try:
            return Link.wait_open(self.url, wait=10.0, timeout=timeout, alive=lambda: self.proc.poll() is None)
        except KwsError:
            if self.proc.poll() is not None:
                raise KwsError(f"QEMU exited: {self.proc.stderr.read().decode(errors='replace')}") from None
            raise

    def reset(self) -> None:
        """Reset the emulated board (QEMU's ``system_reset``), as its reset button would: the
        firmware starts again from its reset vector; the serial connection stays."""
        import socket as so
        import time

        deadline = time.monotonic() + 5.0
        with so.socket(so.AF_UNIX, so.SOCK_STREAM) as m:
            m.settimeout(5.0)
            while True:  # QEMU creates its monitor socket as it starts
                try:
                    m.connect(f"{self._tmp.name}/monitor")
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if time.monotonic() > deadline or self.proc.poll() is not None:
                        raise KwsError(f"QEMU's monitor never opened ({self.elf})") from None
                    time.sleep(0.05)
            m.sendall(b"system_reset\n")
            seen, deadline = b"", time.monotonic() + 5.0
            while b"system_reset" not in seen and time.monotonic() < deadline:  # QEMU echoes the command
                seen += m.recv(4096)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except Exception:  # noqa: BLE001
                self.proc.kill()
        if self._tmp is not None:
            self._tmp.cleanup()
