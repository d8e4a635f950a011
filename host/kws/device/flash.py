"""`kws flash`: build and upload the firmware to a board with PlatformIO, then wait for the
device's hello on its serial port and check that it runs this spec's front end and this model.

Every failure says which piece is missing: PlatformIO itself, the environment in
platformio.ini, the platform/toolchain (PlatformIO downloads them on first use: it needs the
internet once), the board (no port), or a device that boots but runs other hashes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from kws.errors import KwsError
from kws.paths import REPO_ROOT
from kws.released import ReleasedModel


def pio_command() -> list[str]:
    exe = shutil.which("pio") or shutil.which("platformio")
    if exe is None:
        local = Path(sys.executable).with_name("pio")
        if not local.exists():
            raise KwsError("PlatformIO is not installed: pip install platformio (or see https://platformio.org)")
        exe = str(local)
    return [exe]


def pio_envs(project: Path = REPO_ROOT) -> list[str]:
    r = subprocess.run(
        pio_command() + ["project", "config", "-d", str(project), "--json-output"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise KwsError(f"{project / 'platformio.ini'}: PlatformIO cannot read it:\n{r.stderr or r.stdout}")
    return [name[4:] for name, _ in json.loads(r.stdout) if name.startswith("env:")]


def upload_command(env: str, port: str, project: Path = REPO_ROOT) -> list[str]:
    return pio_command() + ["run", "-d", str(project), "-e", env, "-t", "upload", "--upload-port", port]


def _diagnose(log: str) -> str:
    low = log.lower()
    if "httpclienterror" in low or "could not resolve" in low or "connection" in low and "error" in low:
        return (
            "PlatformIO could not download the platform, framework or toolchain for this board (no internet?). "
            "Run once where the internet is reachable; they are cached in ~/.platformio afterwards."
        )
    if "unknownplatform" in low or "unknown development platform" in low:
        return "the platform of this environment is not installed and cannot be installed here"
    if "no such file or directory" in low and "upload" in low or "could not open port" in low:
        return "the upload port does not exist or cannot be opened: is the board connected (double-tap reset for the bootloader)?"
    return "see PlatformIO's output above"


def upload(env: str, port: str, *, project: Path = REPO_ROOT, timeout: float = 900, echo=print) -> None:
    envs = pio_envs(project)
    if env not in envs:
        raise KwsError(f"no environment {env!r} in {project / 'platformio.ini'} (environments: {', '.join(envs)})")
    cmd = upload_command(env, port, project)
    echo("$ " + " ".join(cmd))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise KwsError(f"pio run -e {env} -t upload did not finish within {timeout:.0f} s") from e
    log = r.stdout + r.stderr
    if r.returncode != 0:
        tail = "\n".join(log.strip().splitlines()[-15:])
        raise KwsError(
            f"PlatformIO build/upload for {env!r} failed (exit {r.returncode}):\n{tail}\n-> {_diagnose(log)}"
        )


def verify(spec, model_dir: Path, port: str, *, timeout: float = 10.0) -> dict:
    """Waits for the device's hello; KwsError (DeviceMismatch) when its hashes differ."""
    from kws.device.connect import expected_hashes
    from kws.device.link import Link

    model = ReleasedModel.load(model_dir)
    with Link.wait_open(port, wait=timeout, timeout=timeout) as link:
        hello = link.handshake(expect=expected_hashes(spec, model), attempts=max(1, int(timeout / 0.5)))
    return {
        "port": port,
        "fw_version": hello.version,
        "frontend_hash32": f"{hello.frontend_hash32:08x}",
        "model_hash32": f"{hello.model_hash32:08x}",
        "detector_hash32": f"{hello.detector_hash32:08x}",
        "sample_rate": hello.sample_rate,
        "model": model.name,
    }
