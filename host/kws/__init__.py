"""kws: an open toolchain for always-on keyword spotting on microcontrollers."""

__version__ = "0.1.0"
