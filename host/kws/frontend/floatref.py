"""Float64 MFCC of exactly the front end's definition, without quantization.

Same framing, periodic window, FFT size, HTK triangles, ln(E + floor) and orthonormal
DCT-II as the integer reference, computed in float64 from the exact (unquantized) window,
filters and DCT. It exists only to measure the fixed-point error; nothing ships with it.
"""

from __future__ import annotations

import numpy as np

from kws.frontend.fixed import BATCH_FRAMES, frame_view
from kws.frontend.tables import build_tables


def cepstra_float(pcm: np.ndarray, spec) -> np.ndarray:
    """float64 [frames, num_cepstra] cepstra in natural-log units of a validated int16 signal."""
    tab = build_tables(spec)
    frames = frame_view(pcm, spec)
    out = np.empty((frames.shape[0], spec.num_cepstra), dtype=np.float64)
    for a in range(0, frames.shape[0], BATCH_FRAMES):
        y = frames[a : a + BATCH_FRAMES].astype(np.float64) * tab.window_f[None, :]
        spectrum = np.fft.rfft(y, n=spec.fft_size, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        mel = power @ tab.mel_f.T
        out[a : a + BATCH_FRAMES] = np.log(mel + spec.log.floor) @ tab.dct_f.T
    return out
