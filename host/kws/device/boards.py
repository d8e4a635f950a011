"""Boards the toolchain knows: PlatformIO environment, USB IDs of their serial ports, and
auto-detection with pyserial's list_ports."""

from __future__ import annotations

from dataclasses import dataclass

from kws.errors import KwsError


@dataclass(frozen=True)
class Board:
    env: str  # platformio.ini environment
    name: str
    usb_ids: tuple[tuple[int, int], ...]  # (VID, PID) of its serial port(s)


BOARDS = (
    # Arduino Nano 33 BLE (Sense): application and bootloader CDC ports
    Board("nano33ble", "Arduino Nano 33 BLE Sense (nRF52840)", ((0x2341, 0x805A), (0x2341, 0x005A), (0x2341, 0x035A))),
    # ST-LINK/V2-1 and V3 virtual COM ports (Nucleo-F4, STM32F4-Discovery rev C+)
    Board(
        "stm32f4",
        "STM32F4 board (ST-LINK VCP)",
        ((0x0483, 0x374B), (0x0483, 0x3752), (0x0483, 0x374E), (0x0483, 0x374F), (0x0483, 0x3753)),
    ),
)


def board(env: str) -> Board | None:
    return next((b for b in BOARDS if b.env == env), None)


def find_ports(env: str | None = None, comports=None) -> list[tuple[str, Board]]:
    """[(device path, board)] of connected known boards (of ``env`` only, when given)."""
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports()
    out = []
    for p in comports:
        for b in BOARDS:
            if (env is None or b.env == env) and (p.vid, p.pid) in b.usb_ids:
                out.append((p.device, b))
    return out


def auto_port(env: str | None = None) -> str:
    found = find_ports(env)
    if len(found) == 1:
        return found[0][0]
    from serial.tools import list_ports

    listing = (
        "\n  ".join(f"{p.device}: {p.description} [{p.vid or 0:04x}:{p.pid or 0:04x}]" for p in list_ports.comports())
        or "(no serial ports at all)"
    )
    what = f"a {board(env).name}" if env and board(env) else "a known board"
    if not found:
        raise KwsError(
            f"no serial port of {what} found by USB ID; connect it or give --port\nserial ports:\n  {listing}"
        )
    raise KwsError(f"{len(found)} boards found ({', '.join(d for d, _ in found)}): choose one with --port")
