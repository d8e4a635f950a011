"""Talking to firmware: emulators (QEMU) now; serial protocol and boards as they land."""
