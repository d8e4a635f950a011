"""Integer tables of the fixed-point front end, derived from the spec.

This is the only place the spec's real-valued definition (Hann window, HTK mel triangles,
orthonormal DCT-II, ln) is turned into integers. The Python reference reads these arrays;
``kws codegen frontend`` writes the very same arrays into C. Both therefore compute with
identical constants by construction.

Every integer stage is checked here for overflow against a worst-case bound derived from
the actual tables; an impossible combination raises :class:`SpecError` naming the field.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from kws.errors import SpecError

# Identifier of the integer algorithm. It is part of the spec hash: change it whenever the
# computation changes for the same spec values, so that features, models and firmware built
# from the old algorithm can never be mistaken for the new one.
ALGORITHM = "kws-mfcc-int/1"

# Structural constants of the algorithm (docs/frontend.md), not tunable parameters:
INPUT_BITS = 16  # int16 PCM
NORM_TARGET = 1 << (INPUT_BITS - 1)  # after normalization |x| * 2^s <= 2^15
MAX_NORM_SHIFT = INPUT_BITS - 1  # shift of an all-zero (or all -1) frame
SPLIT_GAIN_LOG2 = 1  # the real-FFT split step yields 2*X[k] (no halving): power is 4*|X|^2


@dataclass(frozen=True, eq=False)
class FrontendTables:
    """Everything the integer front end needs, as numpy arrays and ints."""

    window_q: np.ndarray  # uint16 [window_samples], Q(window_frac_bits): window_half_q mirrored
    window_half_q: np.ndarray  # uint16 [(window_samples + 1)//2 + 1], the stored half (w[n] = w[window_samples - n])
    twiddle_q: np.ndarray  # int32 [fft_size/2, 2] (re, im) of exp(-2j*pi*k/fft_size), Q(twiddle_frac_bits)
    cos_q: np.ndarray  # int32 [fft_size/4 + 1], cos(2*pi*i/fft_size): the stored quarter wave
    bitrev: np.ndarray  # uint16 [fft_size/2], bit-reversal permutation of the half-size complex FFT
    mel_start: np.ndarray  # uint16 [num_bands], first FFT bin of each band
    mel_len: np.ndarray  # uint16 [num_bands], bins in each band
    mel_offset: np.ndarray  # uint16 [num_bands], index of each band's first weight in mel_weights
    mel_weights: np.ndarray  # uint16 [sum(mel_len)], Q(mel_weight_frac_bits)
    mel_bin_lo: int  # lowest FFT bin any band uses
    mel_bin_hi: int  # highest FFT bin any band uses
    log2_table: np.ndarray  # int32 [2^log_table_bits + 1], log2(1 + i/2^T) in Q(log_frac_bits)
    dct_q: np.ndarray  # int16 [num_cepstra, num_bands], ln(2) * DCT-II ortho, Q(dct_frac_bits)
    dct_shift: int  # right shift taking sum(dct_q * log2) to Q(cepstrum_frac_bits)
    out_offset_q: np.ndarray  # int32 [num_cepstra], offset in Q(cepstrum_frac_bits)
    out_gain_q: np.ndarray  # int32 [num_cepstra], 1/(step * 2^cepstrum_frac_bits), Q(gain_frac_bits)
    # Exact (float64) counterparts, for the float reference of the same definition.
    window_f: np.ndarray
    mel_f: np.ndarray  # [num_bands, fft_size/2 + 1]
    dct_f: np.ndarray  # [num_cepstra, num_bands], orthonormal DCT-II (no ln2)
    # Worst-case magnitudes proven not to overflow (reported in docs and the generated header).
    bound_fft: int  # any FFT / split component
    bound_power: int  # |X'|^2
    bound_mel: int  # mel accumulator + floor term


def window_float(kind: str, n: int) -> np.ndarray:
    """Periodic window of length ``n`` (the DFT-even form used by TF and scipy's fftbins)."""
    k = np.arange(n, dtype=np.float64)
    c = np.cos(2.0 * np.pi * k / n)
    if kind == "hann":
        return 0.5 - 0.5 * c
    if kind == "hamming":
        return 0.54 - 0.46 * c
    raise ValueError(kind)


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_matrix_float(sample_rate: int, fft_size: int, num_bands: int, low_hz: float, high_hz: float) -> np.ndarray:
    """HTK triangular filters on the FFT bin frequencies, peak 1.0, shape [bands, fft_size/2+1]."""
    edges = np.linspace(hz_to_mel(low_hz), hz_to_mel(high_hz), num_bands + 2)
    bin_mel = hz_to_mel(np.arange(fft_size // 2 + 1) * sample_rate / fft_size)
    lo, ctr, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bin_mel[None, :] - lo) / (ctr - lo)
    down = (hi - bin_mel[None, :]) / (hi - ctr)
    return np.maximum(0.0, np.minimum(up, down))


def dct_matrix_float(num_cepstra: int, num_bands: int) -> np.ndarray:
    """Orthonormal DCT-II rows 0..num_cepstra-1 (scipy.fft.dct(..., norm='ortho'))."""
    j = np.arange(num_cepstra)[:, None]
    m = np.arange(num_bands)[None, :]
    d = np.sqrt(2.0 / num_bands) * np.cos(np.pi * j * (2 * m + 1) / (2 * num_bands))
    d[0, :] /= np.sqrt(2.0)
    return d


def _round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (deterministic, independent of numpy's banker's rounding)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


@functools.lru_cache(maxsize=16)
def build_tables(spec, source: str | None = None) -> FrontendTables:  # spec: FrontendSpec
    """Derive and check every integer table of ``spec`` (a :class:`kws.spec.FrontendSpec`)."""
    fp = spec.fixed_point
    p = "frontend"
    n, nfft, half = spec.window_samples, spec.fft_size, spec.fft_size // 2

    # Window.
    # Window: a periodic window has w[n] = w[n_win - n], so its first half is the table and the
    # rest its mirror, by definition: the device stores only the half, (n_win + 1) // 2 + 1 entries
    # (one more than n <= n_win/2 needs when n_win is odd, so that pairs of samples mirror too).
    window_f = window_float(spec.window, n)
    window_half_q = _round(window_f[: (n + 1) // 2 + 1] * (1 << fp.window_frac_bits)).astype(np.int64)
    if window_half_q.max() > 0xFFFF:
        raise SpecError(f"{p}.fixed_point.window_frac_bits", "window does not fit uint16", source)
    window_half_q = window_half_q.astype(np.uint16)
    if n % 2:  # the extra entry is a mirror too: w[(n+1)/2] = w[(n-1)/2]
        window_half_q[-1] = window_half_q[n - (len(window_half_q) - 1)]
    window_q = window_half_q[np.minimum(np.arange(n), n - np.arange(n))]

    # Twiddles exp(-2j*pi*k/N), k < N/2, from one quarter wave c[i] = cos(2*pi*i/N), i <= N/4
    # (N a power of two >= 16): re = c[k], im = -c[N/4 - k] for k <= N/4; re = -c[N/2 - k],
    # im = -c[k - N/4] above. The device stores only c; both sides derive the same integers.
    quarter = nfft // 4
    cos_q = _round(
        np.cos(2 * np.pi * np.arange(quarter + 1, dtype=np.float64) / nfft) * (1 << fp.twiddle_frac_bits)
    ).astype(np.int64)
    if np.abs(cos_q).max() >= 1 << 31:
        raise SpecError(f"{p}.fixed_point.twiddle_frac_bits", "twiddles do not fit int32", source)
    k = np.arange(half)
    low = k <= quarter
    tw_re = np.where(low, cos_q[np.minimum(k, quarter)], -cos_q[np.clip(half - k, 0, quarter)])
    tw_im = np.where(low, -cos_q[np.clip(quarter - k, 0, quarter)], -cos_q[np.clip(k - quarter, 0, quarter)])
    cos_q = cos_q.astype(np.int32)
    twiddle_q = np.stack([tw_re, tw_im], axis=1).astype(np.int32)

    # Bit reversal of the N/2-point complex FFT.
    bits = half.bit_length() - 1
    idx = np.arange(half)
    bitrev = np.zeros(half, dtype=np.int64)
    for b in range(bits):
        bitrev |= ((idx >> b) & 1) << (bits - 1 - b)
    bitrev = bitrev.astype(np.uint16)

    # Overflow bounds. Any DFT component of the windowed, normalized frame is at most
    # sum|y| <= 2^15 * sum(w); the split step doubles it; each rounded twiddle product adds
    # at most 1 per stage.
    g = fp.fft_guard_bits
    sum_y = -(-(NORM_TARGET * int(window_q.astype(np.int64).sum())) >> (fp.window_frac_bits - g))
    bound_fft = (sum_y + bits + 2) << SPLIT_GAIN_LOG2
    if bound_fft >= 1 << 31:
        raise SpecError(
            f"{p}.fixed_point.fft_guard_bits",
            "FFT values can overflow int32; use fewer guard bits or a shorter window",
            source,
        )
    if 2 * bound_fft * (1 << fp.twiddle_frac_bits) >= 1 << 63:
        raise SpecError(f"{p}.fixed_point.twiddle_frac_bits", "twiddle products can overflow int64", source)
    bound_power = ((2 * bound_fft * bound_fft) >> (2 * g)) + 1
    if 2 * bound_fft * bound_fft >= 1 << 64:
        raise SpecError(f"{p}.fixed_point.fft_guard_bits", "power can overflow uint64", source)

    # Mel filterbank, sparse per band.
    mel_f = mel_matrix_float(spec.sample_rate_hz, nfft, spec.mel.num_bands, spec.mel.low_hz, spec.mel.high_hz)
    mel_qf = _round(mel_f * (1 << fp.mel_weight_frac_bits)).astype(np.int64)
    starts: list[int] = []
    lens: list[int] = []
    offs: list[int] = []
    weights: list[int] = []
    for m in range(spec.mel.num_bands):
        nz = np.nonzero(mel_qf[m])[0]
        if nz.size == 0:
            raise SpecError(
                f"{p}.mel.num_bands",
                f"mel band {m} contains no FFT bin ({spec.mel.num_bands} bands over "
                f"{spec.mel.low_hz}-{spec.mel.high_hz} Hz with fft_size {nfft}); use fewer bands, "
                "a wider range or a larger fft_size",
                source,
            )
        lo, hi = int(nz[0]), int(nz[-1])
        starts.append(lo)
        lens.append(hi - lo + 1)
        offs.append(len(weights))
        weights.extend(int(w) for w in mel_qf[m, lo : hi + 1])
    mel_bin_lo = min(starts)
    mel_bin_hi = max(s + n - 1 for s, n in zip(starts, lens))
    if mel_bin_hi >= half:
        raise SpecError(f"{p}.mel.high_hz", f"the top mel band reaches the Nyquist bin ({half}); lower high_hz", source)
    if bound_power * (1 << fp.mel_weight_frac_bits) >= 1 << 64:
        raise SpecError(f"{p}.fixed_point.mel_weight_frac_bits", "power * mel weight can overflow uint64", source)
    band_wsum = max(sum(weights[o : o + n]) for o, n in zip(offs, lens))
    floor_max = spec.log.floor << (2 * MAX_NORM_SHIFT + 2 * SPLIT_GAIN_LOG2)
    bound_mel = ((bound_power * band_wsum) >> fp.mel_weight_frac_bits) + max(lens) + floor_max
    if bound_mel >= 1 << 64:
        raise SpecError(f"{p}.log.floor", "mel energy plus floor can overflow uint64", source)

    # log2(1 + i/2^T), i = 0..2^T.
    T = fp.log_table_bits
    log2_table = _round(np.log2(1.0 + np.arange((1 << T) + 1) / (1 << T)) * (1 << fp.log_frac_bits)).astype(np.int32)

    # DCT with ln(2) folded in (log stage produces log2; cepstra are in natural-log units).
    dct_f = dct_matrix_float(spec.dct.num_cepstra, spec.mel.num_bands)
    dct_qf = _round(dct_f * math.log(2.0) * (1 << fp.dct_frac_bits))
    if np.abs(dct_qf).max() > 32767:
        fit = int(math.floor(math.log2(32767 / (np.abs(dct_f).max() * math.log(2.0)))))
        raise SpecError(f"{p}.fixed_point.dct_frac_bits", f"DCT coefficients do not fit int16; use <= {fit}", source)
    dct_q = dct_qf.astype(np.int16)
    dct_shift = fp.dct_frac_bits + fp.log_frac_bits - fp.cepstrum_frac_bits
    log_max = 65 << fp.log_frac_bits
    cep_max = (int(np.abs(dct_q.astype(np.int64)).sum(axis=1).max()) * log_max) >> dct_shift
    if cep_max >= 1 << 31:
        raise SpecError(f"{p}.fixed_point.cepstrum_frac_bits", "cepstra can overflow int32", source)

    # int8 output quantizer.
    cf = fp.cepstrum_frac_bits
    out_offset_q = _round(np.array(spec.output.offset) * (1 << cf)).astype(np.int64)
    out_gain_f = (2.0**spec.output.gain_frac_bits) / (np.array(spec.output.step) * (1 << cf))
    out_gain_q = _round(out_gain_f).astype(np.int64)
    for j, g in enumerate(out_gain_q):
        if g < 1 or g >= 1 << 31:
            raise SpecError(
                f"{p}.output.step[{j}]",
                f"gives an int32 gain of {g} at gain_frac_bits={spec.output.gain_frac_bits}; "
                "adjust step or gain_frac_bits",
                source,
            )
    if np.abs(out_offset_q).max() >= 1 << 31:
        raise SpecError(f"{p}.output.offset", "does not fit int32 at cepstrum_frac_bits", source)
    if (cep_max + int(np.abs(out_offset_q).max())) * int(out_gain_q.max()) >= 1 << 63:
        raise SpecError(f"{p}.output.gain_frac_bits", "output scaling can overflow int64", source)

    return FrontendTables(
        window_q=window_q,
        window_half_q=window_half_q,
        twiddle_q=twiddle_q,
        cos_q=cos_q,
        bitrev=bitrev,
        mel_start=np.array(starts, dtype=np.uint16),
        mel_len=np.array(lens, dtype=np.uint16),
        mel_offset=np.array(offs, dtype=np.uint16),
        mel_weights=np.array(weights, dtype=np.uint16),
        mel_bin_lo=mel_bin_lo,
        mel_bin_hi=mel_bin_hi,
        log2_table=log2_table,
        dct_q=dct_q,
        dct_shift=dct_shift,
        out_offset_q=out_offset_q.astype(np.int32),
        out_gain_q=out_gain_q.astype(np.int32),
        window_f=window_f,
        mel_f=mel_f,
        dct_f=dct_f,
        bound_fft=bound_fft,
        bound_power=bound_power,
        bound_mel=bound_mel,
    )
