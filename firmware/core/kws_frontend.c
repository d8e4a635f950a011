/* Fixed-point 13-MFCC front end. See kws_frontend.h and docs/frontend.md; the step numbers
 * below match host/kws/frontend/fixed.py, the reference this must equal bit for bit. */
#include "kws_frontend.h"

#include "kws_fe_tables.h"
#include "kws_fixed.h"

#if KWS_FE_WINDOW_SHIFT < 1 || KWS_FE_DCT_SHIFT < 1
#error "front-end shifts must be >= 1 (regenerate from a valid spec)"
#endif
#if (KWS_FE_FFT_HALF & (KWS_FE_FFT_HALF - 1)) != 0
#error "KWS_FE_FFT_HALF must be a power of two"
#endif
#if KWS_FE_FFT_HALF < 8
#error "the FFT passes assume fft_size >= 16"
#endif

/* Twiddles W^k = exp(-2j*pi*k/FFT_SIZE), 0 <= k < FFT_SIZE/2, from the stored quarter wave
 * c[i] = cos(2*pi*i/FFT_SIZE), i <= FFT_SIZE/4 (host/kws/frontend/tables.py defines them so). */
#define QW (KWS_FE_FFT_SIZE / 4u)
static inline int32_t tw_re(unsigned k)
{
    return k <= QW ? kws_fe_cos[k] : -kws_fe_cos[2u * QW - k];
}
static inline int32_t tw_im(unsigned k)
{
    return k <= QW ? -kws_fe_cos[QW - k] : -kws_fe_cos[k - QW];
}

/* round((a*wa + b*wb) / 2^TWIDDLE_FRAC), half up: the rounding constant starts the
 * accumulator, so a Cortex-M4 does it with two SMLALs and a 64-bit shift. */
static inline int32_t dot_q(int32_t a, int32_t wa, int32_t b, int32_t wb)
{
    int64_t acc = (int64_t)1 << (KWS_FE_TWIDDLE_FRAC - 1);
    acc += (int64_t)a * wa;
    acc += (int64_t)b * wb;
    return (int32_t)(acc >> KWS_FE_TWIDDLE_FRAC);
}

/* Step 1: block normalization shift. v = x ^ (x >> 15) is |x| for x >= 0 and |x| - 1 for
 * x < 0; with b the top bit of OR(v) over the frame, s = 14 - b (15 if OR(v) == 0) gives
 * |x| * 2^s <= 2^15 for every sample, and costs three instructions a sample. */
static unsigned norm_shift(const int16_t *x)
{
    uint32_t acc = 0;
    for (unsigned n = 0; n < KWS_FE_WINDOW; n++) {
        const int32_t v = x[n];
        acc |= (uint32_t)(v ^ (v >> 15));
    }
    return acc ? (unsigned)KWS_FE_MAX_NORM_SHIFT - 1u - kws_msb64(acc) : (unsigned)KWS_FE_MAX_NORM_SHIFT;
}

/* Step 2 for one sample: round((x * 2^s) * w / 2^WINDOW_SHIFT). |x * 2^s| <= 2^15 and
 * w <= 2^15, so the product fits int32 (the generator checks the window format). */
static inline int32_t window_mul(int32_t x, unsigned s, int32_t w)
{
    const int32_t xw = (x * (int32_t)(1u << s)) * w;
    return (xw + (1 << (KWS_FE_WINDOW_SHIFT - 1))) >> KWS_FE_WINDOW_SHIFT;
}

/* The window is periodic, w[n] = w[WINDOW - n]: only its first (WINDOW + 1) / 2 + 1 entries are
 * stored, enough for every n <= WINDOW / 2 + 1 and its mirror. */
#define WIN_HALF (KWS_FE_WINDOW / 2u)
static inline int32_t window_at(unsigned n)
{
    return kws_fe_window_half[n <= WIN_HALF ? n : KWS_FE_WINDOW - n];
}

static inline void bfly_w(int32_t *p, int32_t *q, int32_t wr, int32_t wi)
{
    const int32_t br = q[0], bi = q[1], ar = p[0], ai = p[1];
    const int32_t tr = dot_q(br, wr, bi, -wi);
    const int32_t ti = dot_q(br, wi, bi, wr);
    p[0] = ar + tr;
    p[1] = ai + ti;
    q[0] = ar - tr;
    q[1] = ai - ti;
}

/* One radix-2 stage of the given size (>= 8): butterflies (g+j, g+j+size/2), twiddle W_size^j.
 * j = 0 (W = 1) and j = size/4 (W = -j) need no multiply: a Q30 multiply by them is exact,
 * so skipping it changes no bit. Small stages loop twiddle-major (W stays in registers),
 * large ones group-major (few groups; the twiddle pointer walks). Same butterflies either way. */
static void fft_stage(int32_t *z, unsigned size)
{
    const unsigned h = size >> 1, q4 = h >> 1, tstep = KWS_FE_FFT_SIZE / size;
    int32_t *const end = &z[2u * KWS_FE_FFT_HALF];
    for (int32_t *g = z; g < end; g += 2u * size) {
        int32_t *p = g, *q = g + 2u * h;
        const int32_t ar = p[0], ai = p[1], br = q[0], bi = q[1];
        p[0] = ar + br;
        p[1] = ai + bi;
        q[0] = ar - br;
        q[1] = ai - bi;
        p = g + 2u * q4;
        q = p + 2u * h;
        const int32_t cr = p[0], ci = p[1], dr = q[0], di = q[1];
        p[0] = cr + di;             /* t = -j * d = (di, -dr) */
        p[1] = ci - dr;
        q[0] = cr - di;
        q[1] = ci + dr;
    }
    if (size * size <= 4u * KWS_FE_FFT_HALF) {
        for (unsigned j = 1; j < h; j++) {
            if (j == q4) {
                continue;
            }
            const int32_t wr = tw_re(j * tstep), wi = tw_im(j * tstep);
            for (int32_t *p = &z[2u * j]; p < end; p += 2u * size) {
                bfly_w(p, p + 2u * h, wr, wi);
            }
        }
    } else {
        /* W^(m*tstep) = (c[m*tstep], -c[QW - m*tstep]) below j = q4 and, m counted from q4,
         * (-c[QW - m*tstep], -c[m*tstep]) above: two pointers walk the quarter wave. */
        for (int32_t *g = z; g < end; g += 2u * size) {
            const int32_t *up = &kws_fe_cos[tstep], *down = &kws_fe_cos[QW - tstep];
            for (int32_t *p = g + 2; p < g + 2u * q4; p += 2, up += tstep, down -= tstep) {
                bfly_w(p, p + 2u * h, *up, -*down);
            }
            up = &kws_fe_cos[tstep];
            down = &kws_fe_cos[QW - tstep];
            for (int32_t *p = g + 2u * q4 + 2u; p < g + 2u * h; p += 2, up += tstep, down -= tstep) {
                bfly_w(p, p + 2u * h, -*down, -*up);
            }
        }
    }
}

/* Steps 2-3: window, pack y[2i] + j y[2i+1] in bit-reversed order, radix-2 DIT FFT. */
static void fft(const int16_t *x, unsigned s, int32_t *z)
{
    unsigned i = 0;
    for (; 2u * i + 1u <= WIN_HALF; i++) {     /* first half of the window: the table as stored */
        const unsigned d = 2u * kws_fe_bitrev[i];
        z[d] = window_mul(x[2u * i], s, kws_fe_window_half[2u * i]);
        z[d + 1u] = window_mul(x[2u * i + 1u], s, kws_fe_window_half[2u * i + 1u]);
    }
    for (const uint16_t *w = &kws_fe_window_half[KWS_FE_WINDOW - 2u * i]; 2u * i + 1u < KWS_FE_WINDOW; i++, w -= 2) {
        const unsigned d = 2u * kws_fe_bitrev[i];   /* second half: the mirror, w[n] = w[WINDOW - n] */
        z[d] = window_mul(x[2u * i], s, w[0]);
        z[d + 1u] = window_mul(x[2u * i + 1u], s, w[-1]);
    }
    for (; i < KWS_FE_FFT_HALF; i++) {      /* zero padding (and an odd window's last sample) */
        const unsigned d = 2u * kws_fe_bitrev[i];
        z[d] = 2u * i < KWS_FE_WINDOW ? window_mul(x[2u * i], s, window_at(2u * i)) : 0;
        z[d + 1u] = 0;
    }
    /* Sizes 2 and 4 together: twiddles 1 and -j only, no multiplies. */
    for (unsigned a = 0; a < 2u * KWS_FE_FFT_HALF; a += 8u) {
        int32_t *p = &z[a];
        const int32_t a0r = p[0] + p[2], a0i = p[1] + p[3], a1r = p[0] - p[2], a1i = p[1] - p[3];
        const int32_t a2r = p[4] + p[6], a2i = p[5] + p[7], a3r = p[4] - p[6], a3i = p[5] - p[7];
        p[0] = a0r + a2r;
        p[1] = a0i + a2i;
        p[4] = a0r - a2r;
        p[5] = a0i - a2i;
        p[2] = a1r + a3i;
        p[3] = a1i - a3r;
        p[6] = a1r - a3i;
        p[7] = a1i + a3r;
    }
    for (unsigned size = 8; size <= KWS_FE_FFT_HALF; size <<= 1) {
        fft_stage(z, size);
    }
}

/* round((re^2 + im^2) / 2^POWER_SHIFT); the sum is < 2^63 (bound checked by the generator). */
static inline uint64_t power_of(int32_t re, int32_t im)
{
#if KWS_FE_POWER_SHIFT > 0
    int64_t acc = (int64_t)1 << (KWS_FE_POWER_SHIFT - 1);
#else
    int64_t acc = 0;
#endif
    acc += (int64_t)re * re;
    acc += (int64_t)im * im;
    return (uint64_t)acc >> KWS_FE_POWER_SHIFT;
}

#define IN_MEL(k) ((k) >= KWS_FE_MEL_BIN_LO && (k) <= KWS_FE_MEL_BIN_HI)

/* Step 4: split the half-size complex spectrum into the real one; power in place. Bin k and
 * bin HALF-k come from the same pair (Z[k], Z[HALF-k]): X'[k] = E + T, X'[HALF-k] = conj(E - T),
 * and power[k] overwrites exactly the slot of Z[k] once both reads are done. */
static void split_power(kws_fe_scratch_t *scr)
{
    for (unsigned k = 0; k <= KWS_FE_FFT_HALF / 2u; k++) {
        const unsigned mk = (KWS_FE_FFT_HALF - k) & (KWS_FE_FFT_HALF - 1u);
        const int need_k = IN_MEL(k);
        const int need_m = k > 0u && k < KWS_FE_FFT_HALF / 2u && IN_MEL(mk);
        if (!need_k && !need_m) {
            continue;
        }
        const int32_t zrk = scr->u.z[2u * k], zik = scr->u.z[2u * k + 1u];
        const int32_t zrm = scr->u.z[2u * mk], zim = scr->u.z[2u * mk + 1u];
        const int32_t er = zrk + zrm, ei = zik - zim;
        const int32_t orr = zik + zim, oi = zrm - zrk;
        const int32_t wr = kws_fe_cos[k], wi = -kws_fe_cos[QW - k];     /* W^k, k <= FFT_SIZE/4 */
        const int32_t tr = dot_q(orr, wr, oi, -wi);
        const int32_t ti = dot_q(orr, wi, oi, wr);
        if (need_k) {
            scr->u.power[k] = power_of(er + tr, ei + ti);
        }
        if (need_m) {
            scr->u.power[mk] = power_of(er - tr, ti - ei);
        }
    }
}

/* log2(v) in Q(KWS_FE_LOG_FRAC), v >= 1: exponent + table + linear interpolation. */
static int32_t log2_q(uint64_t v)
{
    enum { T = KWS_FE_LOG_TABLE_BITS, R = KWS_FE_LOG_INTERP_BITS };
    const unsigned e = kws_msb64(v);
    const uint32_t u = e >= (unsigned)(T + R) ? (uint32_t)(v >> (e - (unsigned)(T + R)))
                                              : (uint32_t)(v << ((unsigned)(T + R) - e));
    const uint32_t idx = (u >> R) - (1u << T);
    const int64_t r = (int64_t)(u & ((1u << R) - 1u));
    const int32_t base = kws_fe_log2_table[idx];
    const int64_t step = (int64_t)kws_fe_log2_table[idx + 1u] - base;
    return (int32_t)(((int64_t)e << KWS_FE_LOG_FRAC) + base + kws_rshr64(step * r, R));
}

void kws_fe_compute(const int16_t frame[KWS_FE_WINDOW], int32_t *cepstra, int8_t *features,
                    kws_fe_scratch_t *scratch)
{
    const unsigned s = norm_shift(frame);
    fft(frame, s, scratch->u.z);
    split_power(scratch);

    /* Steps 5-6: mel energies, floor, log2, undo the normalization and split gains. */
    const unsigned gshift = 2u * s + 2u * KWS_FE_SPLIT_GAIN_LOG2;
    const uint64_t floor_term = (uint64_t)KWS_FE_LOG_FLOOR << gshift;
    for (unsigned m = 0; m < KWS_FE_NUM_BANDS; m++) {
        const uint64_t *p = &scratch->u.power[kws_fe_mel_start[m]];
        const uint16_t *w = &kws_fe_mel_weights[kws_fe_mel_offset[m]];
        uint64_t acc = 0;
        for (unsigned i = 0; i < kws_fe_mel_len[m]; i++) {
            acc += kws_rshr_u64(p[i] * w[i], KWS_FE_MEL_WEIGHT_FRAC);
        }
        scratch->logmel[m] = log2_q(acc + floor_term) - (int32_t)(gshift << KWS_FE_LOG_FRAC);
    }

    /* Steps 7-8: DCT (ln 2 folded in) to cepstra; int8 quantization. */
    for (unsigned j = 0; j < KWS_FE_NUM_CEPSTRA; j++) {
        const int16_t *d = &kws_fe_dct[j * KWS_FE_NUM_BANDS];
        int64_t acc = 0;
        for (unsigned m = 0; m < KWS_FE_NUM_BANDS; m++) {
            acc += (int64_t)d[m] * scratch->logmel[m];
        }
        const int32_t c = (int32_t)kws_rshr64(acc, KWS_FE_DCT_SHIFT);
        if (cepstra) {
            cepstra[j] = c;
        }
        if (features) {
            const int64_t x = ((int64_t)c - kws_fe_out_offset[j]) * kws_fe_out_gain[j];
            features[j] = kws_sat8(kws_rshr64(x, KWS_FE_OUT_GAIN_FRAC));
        }
    }
}

void kws_fe_stream_reset(kws_fe_stream_t *st)
{
    st->fill = 0;
    st->frames = 0;
}

size_t kws_fe_stream_feed(kws_fe_stream_t *st, const int16_t *pcm, size_t n, int32_t *cepstra,
                          int8_t *features, kws_fe_scratch_t *scratch, int *frame_ready)
{
    size_t take = KWS_FE_WINDOW - st->fill;
    if (take > n) {
        take = n;
    }
    for (size_t i = 0; i < take; i++) {
        st->buf[st->fill + i] = pcm[i];
    }
    st->fill += (uint32_t)take;
    *frame_ready = 0;
    if (st->fill == KWS_FE_WINDOW) {
        kws_fe_compute(st->buf, cepstra, features, scratch);
        for (unsigned i = 0; i < KWS_FE_WINDOW - KWS_FE_HOP; i++) {
            st->buf[i] = st->buf[i + KWS_FE_HOP];
        }
        st->fill = KWS_FE_WINDOW - KWS_FE_HOP;
        st->frames++;
        *frame_ready = 1;
    }
    return take;
}

uint32_t kws_fe_spec_hash32(void)
{
    return KWS_FE_SPEC_HASH32;
}
