"""The integer reference front end: int16 PCM -> Q16 cepstra -> int8 features.

This is the definition the firmware must match bit for bit (``firmware/core/kws_frontend.c``
implements the same steps in the same order with the same tables). Only integer numpy
arithmetic is used; every right shift by n rounds half up (adds 2^(n-1) first, then shifts
arithmetically). Frames are processed as a batch so hours of audio run fast.

Steps per frame (docs/frontend.md has the formats and the overflow proofs):

1. block normalization: s = 14 - msb(OR of x ^ (x >> 15)) (15 for a zero frame), so |x| * 2^s <= 2^15
2. window:  y[n] = round((x[n] << s) * w[n] / 2^(15 - G)), G = fft_guard_bits
3. pack z[n] = y[2n] + j*y[2n+1] (zero padded to fft_size), bit-reverse, radix-2 DIT FFT of
   fft_size/2 points with Q30 twiddles, no scaling
4. split to the real spectrum: X'[k] = 2*X[k]*2^G; power P[k] = round((Re^2 + Im^2) / 2^(2G)) (uint64)
5. mel: E[m] = sum_k round(P[k] * w_mk / 2^15)
6. log:  L[m] = log2(E[m] + floor * 2^(2s+2)) - (2s+2), Q16, table + linear interpolation
7. DCT:  c[j] = round(sum_m D[j,m] * L[m] / 2^shift) with D = ln2 * DCT-II, Q16 natural log
8. int8: q[j] = clamp(round((c[j] - offset[j]) * gain[j] / 2^gain_frac_bits), -128, 127)
"""

from __future__ import annotations

import numpy as np

from kws.frontend.tables import MAX_NORM_SHIFT, SPLIT_GAIN_LOG2, FrontendTables, build_tables

# Frames processed per batch: bounds memory on hours of audio; ~2k frames measured fastest.
BATCH_FRAMES = 2048

_U64 = np.uint64


def _rshift_round(x: np.ndarray, n: int) -> np.ndarray:
    """Round-half-up arithmetic right shift by ``n`` (n = 0: unchanged)."""
    if n == 0:
        return x
    return (x + (1 << (n - 1))) >> n


def _cmul_round(ar, ai, wr, wi, frac):
    """(ar + j*ai) * (wr + j*wi), each component rounded half up to ``frac`` fewer bits."""
    return _rshift_round(ar * wr - ai * wi, frac), _rshift_round(ar * wi + ai * wr, frac)


def norm_shift(frames: np.ndarray) -> np.ndarray:
    """Per-frame block-normalization shift s (int64, 0..15).

    v = x ^ (x >> 15) is |x| for x >= 0 and |x| - 1 for x < 0; with b the top bit of the OR
    of v over the frame, s = 14 - b (15 when the OR is 0). Then |x| * 2^s <= 2^15 always.
    """
    x = frames.astype(np.int32)
    acc = np.bitwise_or.reduce(x ^ (x >> 15), axis=1)
    s = np.full(acc.shape, MAX_NORM_SHIFT, dtype=np.int64)
    for b in range(MAX_NORM_SHIFT):
        s = np.where(acc >= (1 << b), MAX_NORM_SHIFT - 1 - b, s)
    return s


def fft_power(frames: np.ndarray, spec, tab: FrontendTables) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-4: power spectrum P[k], k < fft_size/2 (uint64, scale 4 * 2^(2s)), and s."""
    fp = spec.fixed_point
    nfft, half = spec.fft_size, spec.fft_size // 2
    nf = frames.shape[0]
    s = norm_shift(frames)
    xs = frames.astype(np.int64) << s[:, None]
    y = _rshift_round(xs * tab.window_q.astype(np.int64)[None, :], fp.window_frac_bits - fp.fft_guard_bits)
    ypad = np.zeros((nf, nfft), dtype=np.int64)
    ypad[:, : spec.window_samples] = y
    br = tab.bitrev.astype(np.int64)
    zr = np.ascontiguousarray(ypad[:, 0::2][:, br])
    zi = np.ascontiguousarray(ypad[:, 1::2][:, br])

    twr = tab.twiddle_q[:, 0].astype(np.int64)
    twi = tab.twiddle_q[:, 1].astype(np.int64)
    tfb = fp.twiddle_frac_bits
    size = 2
    while size <= half:
        h = size // 2
        j = np.arange(h) * (nfft // size)  # W_size^j = W_N^(j * N/size)
        wr, wi = twr[j], twi[j]
        vr = zr.reshape(nf, half // size, 2, h)  # views: butterflies update in place
        vi = zi.reshape(nf, half // size, 2, h)
        ar, ai, br_, bi = vr[:, :, 0, :], vi[:, :, 0, :], vr[:, :, 1, :], vi[:, :, 1, :]
        tr, ti = _cmul_round(br_, bi, wr, wi, tfb)
        np.subtract(ar, tr, out=br_)
        np.subtract(ai, ti, out=bi)
        ar += tr
        ai += ti
        size *= 2

    # Split, pairing k with half-k exactly as the C does: X'[k] = E + T, X'[half-k] = conj(E - T).
    k = np.arange(half // 2 + 1)
    mk = (half - k) % half
    er = zr[:, k] + zr[:, mk]
    ei = zi[:, k] - zi[:, mk]
    orr = zi[:, k] + zi[:, mk]
    oi = zr[:, mk] - zr[:, k]
    tr, ti = _cmul_round(orr, oi, twr[k], twi[k], tfb)
    pr = np.empty((nf, half), dtype=np.int64)
    pi = np.empty((nf, half), dtype=np.int64)
    pr[:, k] = er + tr
    pi[:, k] = ei + ti
    kk = k[1:-1]  # 1 .. half/2 - 1 mirror onto half-1 .. half/2+1
    pr[:, half - kk] = er[:, 1:-1] - tr[:, 1:-1]
    pi[:, half - kk] = -(ei[:, 1:-1] - ti[:, 1:-1])
    power = (pr * pr).astype(_U64) + (pi * pi).astype(_U64)
    g2 = 2 * fp.fft_guard_bits
    if g2:
        power = (power + _U64(1 << (g2 - 1))) >> _U64(g2)
    return power, s


def log2_q(v: np.ndarray, spec, tab: FrontendTables) -> np.ndarray:
    """log2(v) in Q(log_frac_bits) for uint64 v >= 1: exponent + table + linear interpolation."""
    fp = spec.fixed_point
    T, R = fp.log_table_bits, fp.log_interp_bits
    e = np.zeros(v.shape, dtype=_U64)
    t = v.copy()
    for b in (32, 16, 8, 4, 2, 1):
        hi = (t >> _U64(b)) != 0
        e += hi.astype(_U64) * _U64(b)
        t = np.where(hi, t >> _U64(b), t)
    e = e.astype(np.int64)
    tr = T + R
    down = np.maximum(e - tr, 0).astype(_U64)
    up = np.maximum(tr - e, 0).astype(_U64)
    u = ((v >> down) << up).astype(np.int64)  # in [2^(T+R), 2^(T+R+1))
    idx = (u >> R) - (1 << T)
    r = u & ((1 << R) - 1)
    lt = tab.log2_table.astype(np.int64)
    base = lt[idx]
    return (e << fp.log_frac_bits) + base + _rshift_round((lt[idx + 1] - base) * r, R)


def cepstra_from_frames(frames: np.ndarray, spec) -> np.ndarray:
    """Q(cepstrum_frac_bits) cepstra, int32 [frames, num_cepstra], of int16 frames [F, window]."""
    tab = build_tables(spec)
    fp = spec.fixed_point
    power, s = fft_power(frames, spec, tab)

    starts = tab.mel_start.astype(np.int64)
    lens = tab.mel_len.astype(np.int64)
    bins = np.concatenate([np.arange(a, a + n) for a, n in zip(starts, lens)])
    terms = power[:, bins] * tab.mel_weights.astype(_U64)[None, :]
    terms = (terms + _U64(1 << (fp.mel_weight_frac_bits - 1))) >> _U64(fp.mel_weight_frac_bits)
    mel = np.add.reduceat(terms, tab.mel_offset.astype(np.int64), axis=1)

    gshift = 2 * s + 2 * SPLIT_GAIN_LOG2
    v = mel + (_U64(spec.log.floor) << gshift.astype(_U64))[:, None]
    logmel = log2_q(v, spec, tab) - (gshift << fp.log_frac_bits)[:, None]

    acc = logmel @ tab.dct_q.astype(np.int64).T
    return _rshift_round(acc, tab.dct_shift).astype(np.int32)


def quantize_cepstra(cep: np.ndarray, spec) -> np.ndarray:
    """Step 8: int8 features from Q16 cepstra."""
    tab = build_tables(spec)
    x = (cep.astype(np.int64) - tab.out_offset_q.astype(np.int64)) * tab.out_gain_q.astype(np.int64)
    return np.clip(_rshift_round(x, spec.output.gain_frac_bits), -128, 127).astype(np.int8)


def frame_view(pcm: np.ndarray, spec) -> np.ndarray:
    """[frames, window] read-only view of a 1-D int16 signal (no copy)."""
    n = spec.num_frames(pcm.shape[0])
    if n == 0:
        return np.zeros((0, spec.window_samples), dtype=np.int16)
    return np.lib.stride_tricks.as_strided(
        pcm,
        shape=(n, spec.window_samples),
        strides=(pcm.strides[0] * spec.hop_samples, pcm.strides[0]),
        writeable=False,
    )


def cepstra(pcm: np.ndarray, spec) -> np.ndarray:
    """Cepstra of a whole validated int16 signal, in batches."""
    frames = frame_view(pcm, spec)
    out = np.empty((frames.shape[0], spec.num_cepstra), dtype=np.int32)
    for a in range(0, frames.shape[0], BATCH_FRAMES):
        out[a : a + BATCH_FRAMES] = cepstra_from_frames(frames[a : a + BATCH_FRAMES], spec)
    return out
