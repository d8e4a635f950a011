"""The 13-MFCC front end: integer reference (what the device computes) and float reference.

Typical use::

    from kws.spec import load_spec
    from kws.frontend import Frontend

    spec = load_spec().frontend
    fe = Frontend(spec)
    feats = fe.features(pcm, sample_rate=spec.sample_rate_hz)   # int8 [frames, 13]
    cep = fe.cepstra(pcm, sample_rate=spec.sample_rate_hz)      # int32 Q16 [frames, 13]

    stream = fe.stream()                             # same output, fed in arbitrary chunks
    for chunk in chunks:
        feats = stream.push(chunk)
"""

from __future__ import annotations

import numpy as np

from kws.audio import check_pcm
from kws.frontend import fixed, floatref
from kws.frontend.tables import build_tables


class Frontend:
    """Whole-clip and streaming access to the front end of one :class:`kws.spec.FrontendSpec`."""

    def __init__(self, spec):
        self.spec = spec
        self.tables = build_tables(spec)

    def _check(self, pcm, sample_rate, source):
        return check_pcm(pcm, sample_rate=sample_rate, expected_rate=self.spec.sample_rate_hz, source=source)

    def cepstra(self, pcm, *, sample_rate: int, source: str | None = None) -> np.ndarray:
        """int32 [frames, num_cepstra] in Q(cepstrum_frac_bits) natural-log units."""
        return fixed.cepstra(self._check(pcm, sample_rate, source), self.spec)

    def features(self, pcm, *, sample_rate: int, source: str | None = None) -> np.ndarray:
        """int8 [frames, num_cepstra]: the network's input."""
        return fixed.quantize_cepstra(self.cepstra(pcm, sample_rate=sample_rate, source=source), self.spec)

    def cepstra_float(self, pcm, *, sample_rate: int, source: str | None = None) -> np.ndarray:
        """float64 cepstra of the same definition, unquantized (for error measurement)."""
        return floatref.cepstra_float(self._check(pcm, sample_rate, source), self.spec)

    def cepstra_to_float(self, cep: np.ndarray) -> np.ndarray:
        """Q-format cepstra to natural-log units."""
        return cep.astype(np.float64) / (1 << self.spec.fixed_point.cepstrum_frac_bits)

    def stream(self) -> FrontendStream:
        return FrontendStream(self)


class FrontendStream:
    """Feeds audio in chunks of any size; yields exactly the whole-clip frames, in order.

    Keeps the last ``window - hop`` samples between calls, as the firmware does.
    """

    def __init__(self, frontend: Frontend):
        self.fe = frontend
        self.spec = frontend.spec
        self._pending = np.zeros(0, dtype=np.int16)
        self.samples_in = 0
        self.frames_out = 0

    def push_cepstra(self, pcm, *, source: str | None = None) -> np.ndarray:
        """Append samples; return Q16 cepstra of every frame completed by them."""
        pcm = np.asarray(pcm)
        if pcm.size == 0 and pcm.ndim == 1 and pcm.dtype == np.int16:
            return np.zeros((0, self.spec.num_cepstra), dtype=np.int32)
        pcm = self.fe._check(pcm, self.spec.sample_rate_hz, source)
        buf = np.concatenate([self._pending, pcm])
        self.samples_in += pcm.size
        n = self.spec.num_frames(buf.size)
        out = fixed.cepstra(buf, self.spec) if n else np.zeros((0, self.spec.num_cepstra), dtype=np.int32)
        self._pending = buf[n * self.spec.hop_samples :].copy()
        self.frames_out += n
        return out

    def push(self, pcm, *, source: str | None = None) -> np.ndarray:
        """Append samples; return int8 features of every frame completed by them."""
        return fixed.quantize_cepstra(self.push_cepstra(pcm, source=source), self.spec)


__all__ = ["Frontend", "FrontendStream"]
