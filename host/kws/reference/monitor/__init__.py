"""Feature monitor: the host twin of firmware/core/kws_monitor.c, bit for bit.

The device keeps, per cepstral coefficient, a histogram of its int8 features
(bin = (v + 128) >> bin_shift), their sum and sum of squares; when any bin reaches ``limit``,
every count, sum and the weight are halved (floor), so the statistics follow the recent
distribution in a fixed 588 bytes. ``kws drift`` (kws.reference.monitor.drift) compares them with the
distribution the model was trained on.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from kws.errors import KwsError

HEADER_FMT = "<IIIBBH"  # frames, weight, halvings, coefficients, bins, limit


@dataclass
class FeatureStats:
    """The statistics themselves (what the device reports, or the host computes)."""

    coeffs: int
    bins: int
    limit: int
    frames: int = 0
    weight: int = 0
    halvings: int = 0
    # made zero by __post_init__ when not given (their shapes follow coeffs and bins)
    hist: np.ndarray = field(default=None)  # type: ignore[arg-type]  # int64 [coeffs, bins]
    sum: np.ndarray = field(default=None)  # type: ignore[arg-type]  # int64 [coeffs]
    sumsq: np.ndarray = field(default=None)  # type: ignore[arg-type]  # int64 [coeffs]

    def __post_init__(self):
        if self.hist is None:
            self.hist = np.zeros((self.coeffs, self.bins), np.int64)
        if self.sum is None:
            self.sum = np.zeros(self.coeffs, np.int64)
        if self.sumsq is None:
            self.sumsq = np.zeros(self.coeffs, np.int64)

    @property
    def bin_shift(self) -> int:
        return 8 - (self.bins.bit_length() - 1)

    def mean(self) -> np.ndarray:
        return self.sum / max(self.weight, 1)

    def std(self) -> np.ndarray:
        m = self.mean()
        return np.sqrt(np.maximum(self.sumsq / max(self.weight, 1) - m * m, 0.0))

    def proportions(self) -> np.ndarray:
        """float [coeffs, bins]: each coefficient's histogram as a distribution."""
        tot = self.hist.sum(axis=1, keepdims=True)
        return self.hist / np.maximum(tot, 1)

    def to_bytes(self) -> bytes:
        out = struct.pack(
            HEADER_FMT, self.frames & 0xFFFFFFFF, self.weight, self.halvings, self.coeffs, self.bins, self.limit
        )
        out += self.hist.astype("<u2").tobytes()
        out += self.sum.astype("<i4").tobytes()
        out += self.sumsq.astype("<u8").tobytes()
        return out

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<monitor>") -> FeatureStats:
        h = struct.calcsize(HEADER_FMT)
        if len(data) < h:
            raise KwsError(f"{source}: monitor report too short ({len(data)} bytes)")
        frames, weight, halvings, coeffs, bins, limit = struct.unpack(HEADER_FMT, data[:h])
        if bins == 0 or bins & (bins - 1) or bins > 256 or coeffs == 0:
            raise KwsError(f"{source}: monitor report with {coeffs} coefficients x {bins} bins is malformed")
        need = h + coeffs * (bins * 2 + 4 + 8)
        if len(data) != need:
            raise KwsError(f"{source}: monitor report is {len(data)} bytes, {coeffs}x{bins} needs {need}")
        o = h
        hist = np.frombuffer(data, "<u2", coeffs * bins, o).reshape(coeffs, bins).astype(np.int64)
        o += coeffs * bins * 2
        s = np.frombuffer(data, "<i4", coeffs, o).astype(np.int64)
        o += coeffs * 4
        sq = np.frombuffer(data, "<u8", coeffs, o).astype(np.int64)
        return cls(coeffs, bins, limit, frames, weight, halvings, hist, s, sq)

    def to_json(self) -> dict:
        return {
            "coeffs": self.coeffs,
            "bins": self.bins,
            "limit": self.limit,
            "frames": self.frames,
            "weight": self.weight,
            "halvings": self.halvings,
            "hist": self.hist.tolist(),
            "sum": self.sum.tolist(),
            "sumsq": self.sumsq.tolist(),
        }

    @classmethod
    def from_json(cls, d: dict) -> FeatureStats:
        return cls(
            d["coeffs"],
            d["bins"],
            d["limit"],
            d["frames"],
            d["weight"],
            d["halvings"],
            np.asarray(d["hist"], np.int64),
            np.asarray(d["sum"], np.int64),
            np.asarray(d["sumsq"], np.int64),
        )

    def equal(self, other: FeatureStats) -> bool:
        return self.to_bytes() == other.to_bytes()


class FeatureMonitor:
    """Feed int8 features [frames, coeffs] in any chunks; ``stats`` is what the device reports
    after the same frames."""

    CHUNK = 2048

    def __init__(self, monitor_spec, coeffs: int):
        self.spec = monitor_spec
        self.stats = FeatureStats(coeffs, monitor_spec.bins, monitor_spec.limit)

    def push(self, features: np.ndarray) -> None:
        f = np.asarray(features)
        if f.dtype != np.int8 or f.ndim != 2 or f.shape[1] != self.stats.coeffs:
            raise KwsError(
                f"monitor: features must be int8 [frames, {self.stats.coeffs}], got {f.dtype} {list(f.shape)}"
            )
        while f.shape[0]:
            f = f[self._push_until_halving(f[: self.CHUNK]) :]

    def _push_until_halving(self, f: np.ndarray) -> int:
        """Applies frames of ``f`` up to and including the first that halves; returns how many."""
        st = self.stats
        v = f.astype(np.int64)
        b = (v + 128) >> self.spec.bin_shift  # [n, coeffs]
        onehot = np.zeros((f.shape[0], st.coeffs, st.bins), np.int64)
        np.put_along_axis(onehot, b[:, :, None], 1, axis=2)
        counts = np.cumsum(onehot, axis=0) + st.hist[None]  # after each frame
        full = (counts >= self.spec.limit).any(axis=(1, 2))
        n = int(np.argmax(full)) + 1 if full.any() else f.shape[0]
        st.hist = counts[n - 1]
        st.sum = st.sum + v[:n].sum(axis=0)
        st.sumsq = st.sumsq + (v[:n] * v[:n]).sum(axis=0)
        st.frames += n
        st.weight += n
        if full.any():
            st.hist >>= 1
            st.sum = np.floor_divide(st.sum, 2)
            st.sumsq >>= 1
            st.weight >>= 1
            st.halvings += 1
        return n


def stats_of(features: np.ndarray, monitor_spec) -> FeatureStats:
    m = FeatureMonitor(monitor_spec, features.shape[1])
    m.push(features)
    return m.stats
