"""Open a device link: a board or emulator at a pyserial URL, or (no URL) the serial firmware
booted in QEMU for the duration of an ExitStack; and the hashes a device must report to run
what the host evaluates."""

from __future__ import annotations

import contextlib

from kws.paths import DEFAULT_MODEL, firmware_build_dir, make_firmware
from kws.released import ReleasedModel


def open_link(stack: contextlib.ExitStack, port: str | None, *, model: str = DEFAULT_MODEL):
    """A :class:`kws.device.link.Link` to ``port`` ("auto": the one known board connected, found
    by USB VID:PID), or to QEMU started here when ``port`` is None (stopped when ``stack`` closes):
    the serial firmware built with ``model`` (:attr:`kws.released.ReleasedModel.firmware`)."""
    from kws.device.link import Link
    from kws.device.qemu import Sim

    if port == "auto":
        from kws.device.boards import auto_port

        port = auto_port()
    if port:
        return stack.enter_context(Link(port))
    make_firmware("qemu", what="the QEMU firmware images", model=model)
    sim = stack.enter_context(Sim(firmware_build_dir("qemu", model) / "kws_serial.elf"))
    return stack.enter_context(sim.link())


def expected_hashes(spec, model: ReleasedModel, *, detector: bool = True) -> dict[str, int]:
    """Handshake fields the device must match: front end, model (and detector)."""
    expect = {"frontend_hash32": spec.frontend.hash32, "model_hash32": model.hash32}
    if detector:
        from kws.reference.detector import detector_hash32

        expect["detector_hash32"] = detector_hash32(spec.detector, model.thresholds)
    return expect


def thresholds_q(spec, model: ReleasedModel, thresholds: dict[str, float] | None) -> list[int] | None:
    """The Q(frac) threshold per class a device runs ``thresholds`` (per keyword, kws.release.thresholds)
    with, for :meth:`kws.device.link.Link.handshake`, as the host reference does with the same
    dict; None: the device keeps its built-in ones."""
    if thresholds is None:
        return None
    from kws.reference.detector import class_thresholds_q

    return class_thresholds_q(spec.detector, list(model.labels), thresholds)
