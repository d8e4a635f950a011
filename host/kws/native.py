"""ctypes access to the C front end built for the host (``make -C firmware host``).

Used by the bit-exactness tests and the benchmark: it runs the firmware's own C code, through
its streaming API, on the host.
"""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np

from kws.codegen.common import REPO_ROOT
from kws.errors import KwsError

BUILD_DIR = REPO_ROOT / "build" / "host"
LIB_PATH = BUILD_DIR / "libkws_fe.so"


def build_host(quiet: bool = True) -> Path:
    """Build the host library and C tests with the firmware Makefile; return the library path."""
    r = subprocess.run(["make", "-C", str(REPO_ROOT / "firmware"), "host"], capture_output=quiet, text=True)
    if r.returncode != 0:
        raise KwsError(f"host build of the firmware failed:\n{r.stdout}{r.stderr}")
    return LIB_PATH


class NativeFrontend:
    """The C front end (host build) behind a numpy interface."""

    def __init__(self, spec, lib_path: str | Path = LIB_PATH):
        self.spec = spec
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.kws_fe_spec_hash32.restype = ctypes.c_uint32
        got = self.lib.kws_fe_spec_hash32()
        if got != spec.hash32:
            raise KwsError(f"{lib_path} was generated for spec {got:08x}, not {spec.hash32:08x}: "
                           "run `kws codegen frontend` and rebuild")
        f = self.lib.kws_fe_batch
        f.restype = ctypes.c_size_t
        f.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                      ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]

    def run(self, pcm: np.ndarray, chunks=None) -> tuple[np.ndarray, np.ndarray]:
        """(cepstra int32, features int8) of int16 ``pcm``, fed in ``chunks`` sizes (cycled)."""
        pcm = np.ascontiguousarray(pcm, dtype=np.int16)
        n = self.spec.num_frames(pcm.size)
        nc = self.spec.num_cepstra
        cep = np.zeros((n, nc), dtype=np.int32)
        feat = np.zeros((n, nc), dtype=np.int8)
        ch = np.ascontiguousarray(chunks if chunks is not None else [], dtype=np.uint32)
        got = self.lib.kws_fe_batch(pcm.ctypes.data, pcm.size, ch.ctypes.data if ch.size else None, ch.size,
                                    cep.ctypes.data, feat.ctypes.data, n)
        if got != n:
            raise KwsError(f"C front end produced {got} frames, expected {n}")
        return cep, feat
