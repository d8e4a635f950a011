"""ctypes access to the C front end built for the host (``make -C firmware host``).

Used by the bit-exactness tests and the benchmark: it runs the firmware's own C code, through
its streaming API, on the host.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from pathlib import Path

import numpy as np

from kws.errors import KwsError
from kws.paths import REPO_ROOT, make_firmware

BUILD_DIR = REPO_ROOT / "build" / "host"
LIB_PATH = BUILD_DIR / "libkws_fe.so"


def build_host(quiet: bool = True) -> Path:
    """Build the host library and C tests with the firmware Makefile; return the library path."""
    make_firmware("host", what="host build of the firmware", quiet=quiet)
    return LIB_PATH


class NativeFrontend:
    """The C front end (host build) behind a numpy interface."""

    def __init__(self, spec, lib_path: str | Path = LIB_PATH):
        self.spec = spec
        self.lib = ctypes.CDLL(str(lib_path))
        self.lib.kws_fe_spec_hash32.restype = ctypes.c_uint32
        got = self.lib.kws_fe_spec_hash32()
        if got != spec.hash32:
            raise KwsError(
                f"{lib_path} was generated for spec {got:08x}, not {spec.hash32:08x}: "
                "run `kws codegen frontend` and rebuild"
            )
        f = self.lib.kws_fe_batch
        f.restype = ctypes.c_size_t
        f.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_size_t,
        ]

    def run(self, pcm: np.ndarray, chunks=None) -> tuple[np.ndarray, np.ndarray]:
        """(cepstra int32, features int8) of int16 ``pcm``, fed in ``chunks`` sizes (cycled)."""
        pcm = np.ascontiguousarray(pcm, dtype=np.int16)
        n = self.spec.num_frames(pcm.size)
        nc = self.spec.num_cepstra
        cep = np.zeros((n, nc), dtype=np.int32)
        feat = np.zeros((n, nc), dtype=np.int8)
        ch = np.ascontiguousarray(chunks if chunks is not None else [], dtype=np.uint32)
        got = self.lib.kws_fe_batch(
            pcm.ctypes.data,
            pcm.size,
            ch.ctypes.data if ch.size else None,
            ch.size,
            cep.ctypes.data,
            feat.ctypes.data,
            n,
        )
        if got != n:
            raise KwsError(f"C front end produced {got} frames, expected {n}")
        return cep, feat


class NativeNet:
    """A generated network (kws_net.c + the kernels, core/kws_nn_*.c) compiled for the host, behind numpy.

    ``build_dir`` holds the generated kws_net.{h,c}; the shared library is built there with the
    firmware's warning flags. The C is the firmware's own: tests hold it to TFLM's outputs."""

    WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion", "-Wsign-conversion", "-pedantic"]

    def __init__(self, build_dir: str | Path, *, portable: bool = False):
        """``portable``: without the AVX2 kernels (``-DKWS_NN_PORTABLE``), the plain C paths a
        core without SIMD would run; both must equal TFLM."""
        build_dir = Path(build_dir)
        lib = build_dir / ("libkws_net_portable.so" if portable else "libkws_net.so")
        core = REPO_ROOT / "firmware" / "core"
        stream = REPO_ROOT / "firmware" / "ports" / "native" / "kws_net_stream_batch.c"
        kernels = sorted(core.glob("kws_nn_*.c"))  # one operator per file
        headers = [core / "kws_nn.h", core / "kws_nn_support.h", stream.with_name("kws_nn_avx2.h")]
        sources = [*kernels, *headers, build_dir / "kws_net.c", build_dir / "kws_net.h", stream]
        if not lib.exists() or lib.stat().st_mtime < max(f.stat().st_mtime for f in sources):
            # built under a name of its own, then renamed: processes building at once (workers of
            # kws.engine) never load a library another is still writing
            tmp = lib.with_name(f".{lib.name}.{os.getpid()}")
            r = subprocess.run(
                [
                    "gcc",
                    *self.WARN,
                    "-O3",
                    "-march=native",
                    *(["-DKWS_NN_PORTABLE"] if portable else []),
                    "-shared",
                    "-fPIC",
                    f"-I{core}",
                    f"-I{build_dir}",
                    "-o",
                    str(tmp),
                    *map(str, kernels),
                    str(build_dir / "kws_net.c"),
                    str(stream),
                ],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                raise KwsError(f"host build of the generated network failed:\n{r.stderr}")
            os.replace(tmp, lib)
        header = (build_dir / "kws_net.h").read_text()

        def define(name):
            import re

            return int(re.search(rf"#define {name}\s+(-?\d+)", header).group(1))

        self.input_bytes = define("KWS_NET_INPUT_BYTES")
        self.output_size = define("KWS_NET_OUTPUT_SIZE")
        self.arena_bytes = define("KWS_NET_ARENA_BYTES")
        self.lib = ctypes.CDLL(str(lib))
        self.lib.kws_net_run.argtypes = [ctypes.c_void_p] * 3
        self.lib.kws_net_run.restype = ctypes.c_int  # kws_nn_status: 0 = KWS_NN_SUCCESS
        self.lib.kws_net_stream_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lib.kws_net_stream_batch.restype = ctypes.c_long
        self.streaming = define("KWS_NET_STREAMING") == 1
        self.scratch_bytes = define("KWS_NET_STREAM_SCRATCH_BYTES") if self.streaming else 0
        self.frames = define("KWS_NET_INPUT_FRAMES")
        self.cols = define("KWS_NET_INPUT_COLS")

    def run(self, x: np.ndarray) -> np.ndarray:
        """int8 outputs for int8 inputs [N, ...] (each of KWS_NET_INPUT_BYTES values)."""
        x = np.ascontiguousarray(x, dtype=np.int8).reshape(-1, self.input_bytes)
        out = np.zeros((x.shape[0], self.output_size), dtype=np.int8)
        raw = np.zeros(self.arena_bytes + 8, dtype=np.int8)
        arena = raw[(-raw.ctypes.data) % 8 :][: self.arena_bytes]  # the arena must be 4-byte aligned
        for i in range(x.shape[0]):
            st = self.lib.kws_net_run(x[i].ctypes.data, out[i].ctypes.data, arena.ctypes.data)
            if st != 0:
                raise KwsError(f"a network kernel refused the generated network's parameters (kws_nn_status {st})")
        return out

    def stream(self, frames: np.ndarray, stride: int) -> np.ndarray:
        """Logits of every window (each ``stride`` frames) of a feature stream [T, cols], from
        the streaming form (each row computed once)."""
        if not self.streaming:
            raise KwsError("this network is not streamable (padding along time)")
        f = np.ascontiguousarray(frames, dtype=np.int8).reshape(-1, self.cols)
        n_win = max(0, (f.shape[0] - self.frames) // stride + 1)
        out = np.zeros((max(n_win, 1), self.output_size), dtype=np.int8)
        raw = np.full(self.scratch_bytes + 4096, 0x5A, dtype=np.int8)
        scratch = raw[(-raw.ctypes.data) % 8 :]
        got = self.lib.kws_net_stream_batch(f.ctypes.data, f.shape[0], stride, out.ctypes.data, scratch.ctypes.data)
        if got == -2:
            raise KwsError("a network kernel refused the generated network's parameters (kws_nn.h)")
        if got < 0:
            raise KwsError(f"stride {stride} is not a multiple of the network's stream step")
        if np.any(scratch[self.scratch_bytes : self.scratch_bytes + 1024] != 0x5A):
            raise KwsError("the streaming network wrote past KWS_NET_STREAM_SCRATCH_BYTES")
        return out[:got]


class NativeMonitor:
    """The firmware's feature monitor (kws_monitor.c, host build) over a batch of frames."""

    def __init__(self, lib_path: str | Path = LIB_PATH):
        self.lib = ctypes.CDLL(str(lib_path))
        f = self.lib.kws_mon_batch
        f.restype = ctypes.c_size_t
        f.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_void_p]

    def run(self, features: np.ndarray, *, limit: int = 0):
        from kws.reference.monitor import FeatureStats

        x = np.ascontiguousarray(features, dtype=np.int8)
        out = np.zeros(65536, dtype=np.uint8)
        n = self.lib.kws_mon_batch(x.ctypes.data, x.shape[0], limit, out.ctypes.data)
        return FeatureStats.from_bytes(out[:n].tobytes(), source="kws_mon_batch")
