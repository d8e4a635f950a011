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

#define TW_RE(k) (kws_fe_twiddle[2u * (k)])
#define TW_IM(k) (kws_fe_twiddle[2u * (k) + 1u])

/* (ar + j ai) * (wr + j wi), each component rounded half up back to the data's format. */
static inline void cmul_q(int32_t ar, int32_t ai, int32_t wr, int32_t wi, int32_t *tr, int32_t *ti)
{
    *tr = (int32_t)kws_rshr64((int64_t)ar * wr - (int64_t)ai * wi, KWS_FE_TWIDDLE_FRAC);
    *ti = (int32_t)kws_rshr64((int64_t)ar * wi + (int64_t)ai * wr, KWS_FE_TWIDDLE_FRAC);
}

/* Step 1: largest s with max|x| * 2^s <= 32768 (0 for an all-zero frame). */
static unsigned norm_shift(const int16_t *x)
{
    int32_t m = 0;
    unsigned s = 0;
    for (unsigned n = 0; n < KWS_FE_WINDOW; n++) {
        int32_t a = x[n] < 0 ? -(int32_t)x[n] : (int32_t)x[n];
        if (a > m) {
            m = a;
        }
    }
    if (m > 0) {
        while (s < KWS_FE_MAX_NORM_SHIFT && (m << (s + 1u)) <= KWS_FE_NORM_TARGET) {
            s++;
        }
    }
    return s;
}

static inline int32_t window_sample(const int16_t *x, unsigned n, int32_t scale)
{
    if (n >= KWS_FE_WINDOW) {
        return 0;
    }
    int32_t xs = (int32_t)x[n] * scale;                 /* |xs| <= 2^15 */
    return (int32_t)kws_rshr64((int64_t)xs * kws_fe_window[n], KWS_FE_WINDOW_SHIFT);
}

/* Steps 2-3: window, pack y[2i] + j y[2i+1] in bit-reversed order, radix-2 DIT FFT. */
static void fft(const int16_t *x, unsigned s, int32_t *z)
{
    const int32_t scale = (int32_t)(1u << s);
    for (unsigned i = 0; i < KWS_FE_FFT_HALF; i++) {
        unsigned d = 2u * kws_fe_bitrev[i];
        z[d] = window_sample(x, 2u * i, scale);
        z[d + 1u] = window_sample(x, 2u * i + 1u, scale);
    }
    /* size 2: every twiddle is 1, no multiply. */
    for (unsigned a = 0; a < 2u * KWS_FE_FFT_HALF; a += 4u) {
        int32_t ar = z[a], ai = z[a + 1u], br = z[a + 2u], bi = z[a + 3u];
        z[a] = ar + br;
        z[a + 1u] = ai + bi;
        z[a + 2u] = ar - br;
        z[a + 3u] = ai - bi;
    }
    for (unsigned size = 4; size <= KWS_FE_FFT_HALF; size <<= 1) {
        const unsigned h = size >> 1;
        const unsigned tstep = KWS_FE_FFT_SIZE / size;
        for (unsigned j = 0; j < h; j++) {
            const int32_t wr = TW_RE(j * tstep), wi = TW_IM(j * tstep);
            for (unsigned g = j; g < KWS_FE_FFT_HALF; g += size) {
                int32_t *pa = &z[2u * g];
                int32_t *pb = &z[2u * (g + h)];
                int32_t tr, ti;
                if (j == 0) {                   /* W = 1: exact, as the multiply would be */
                    tr = pb[0];
                    ti = pb[1];
                } else if (2u * j == h) {       /* W = -j: exact */
                    tr = pb[1];
                    ti = -pb[0];
                } else {
                    cmul_q(pb[0], pb[1], wr, wi, &tr, &ti);
                }
                const int32_t ar = pa[0], ai = pa[1];
                pa[0] = ar + tr;
                pa[1] = ai + ti;
                pb[0] = ar - tr;
                pb[1] = ai - ti;
            }
        }
    }
}

static inline uint64_t power_of(int32_t re, int32_t im)
{
    uint64_t p = (uint64_t)((int64_t)re * re) + (uint64_t)((int64_t)im * im);
#if KWS_FE_POWER_SHIFT > 0
    p = kws_rshr_u64(p, KWS_FE_POWER_SHIFT);
#endif
    return p;
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
        int32_t tr, ti;
        cmul_q(orr, oi, TW_RE(k), TW_IM(k), &tr, &ti);
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
