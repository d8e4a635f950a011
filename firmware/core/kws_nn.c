/* Int8 kernels; see kws_nn.h. Each mirrors the TFLM reference kernel named beside it. Fast
 * paths only regroup exact int32 sums (never a rounding), so they stay bit-exact. */
#include "kws_nn.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define KWS_SIMD 1
#else
#define KWS_SIMD 0
#endif

/* Hosts with AVX2 (the host reference evaluation runs this file): 1x1 convolutions as 16-bit
 * multiply-adds, depthwise blocks and block epilogues in eight int32 lanes. Exact int32 sums
 * regrouped, so bit-exact like every other path; KWS_NN_PORTABLE turns it off (the tests build both). */
#if !KWS_SIMD && defined(__AVX2__) && !defined(KWS_NN_PORTABLE)
#include <immintrin.h>
#define KWS_HOST_AVX2 1
#else
#define KWS_HOST_AVX2 0
#endif

#if defined(__GNUC__)
#define KWS_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define KWS_LIKELY(x) (x)
#endif

/* Four int8 from memory as one word (any alignment; Cortex-M4 LDR allows it). */
static inline uint32_t load4(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

#if KWS_SIMD
/* SXTB16 of the word rotated right by 8 (bytes 1 and 3), in one instruction. */
static inline int16x2_t sxtb16_hi(uint32_t x)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
#endif

/* Sum of the four byte-wise products of two words of packed int8. */
static inline int32_t dot4(uint32_t a, uint32_t b, int32_t acc)
{
#if KWS_SIMD
    /* SXTB16 sign-extends bytes 0 and 2 (and, rotated by 8, bytes 1 and 3) into int16 pairs;
     * SMLAD adds both pair products to the accumulator. */
    const uint32_t ar = (a >> 8) | (a << 24), br = (b >> 8) | (b << 24);
    acc = __smlad(__sxtb16((int8x4_t)a), __sxtb16((int8x4_t)b), acc);
    return __smlad(__sxtb16((int8x4_t)ar), __sxtb16((int8x4_t)br), acc);
#else
    for (unsigned i = 0; i < 4; i++) {
        acc += (int32_t)(int8_t)(a >> (8u * i)) * (int32_t)(int8_t)(b >> (8u * i));
    }
    return acc;
#endif
}

/* gemmlowp SaturatingRoundingDoublingHighMul: (a*b + nudge) / 2^31 with truncation toward zero,
 * nudge = 2^30 for a*b >= 0 and 1 - 2^30 otherwise. For a*b < 0, truncation is the ceiling,
 * floor((v + 2^31 - 1) / 2^31), and 1 - 2^30 + 2^31 - 1 = 2^30: so both cases are the same
 * floor shift of a*b + 2^30 (identical integers, half the instructions). */
static inline int32_t srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero, i.e.
 * floor((x + 2^(e-1) - [x < 0]) / 2^e) for e >= 1. */
static inline int32_t rdbpot(int32_t x, int32_t e)
{
    if (!KWS_LIKELY(e != 0)) {
        return x;
    }
    return (x + (int32_t)(1u << (e - 1)) - (int32_t)((uint32_t)x >> 31)) >> e;
}

/* TFLM MultiplyByQuantizedMultiplier (double rounding, the default build). The generator
 * guarantees 0 <= multiplier < 2^31, so srdhm's saturating case (both INT32_MIN) cannot occur
 * and is not tested here; the result is the same integer. Scales below 1 (shift <= 0) are the
 * common case and get the straight path. */
static inline int32_t requant(int32_t acc, int32_t multiplier, int32_t shift)
{
    if (KWS_LIKELY(shift <= 0)) {
        const int32_t x = (int32_t)(((int64_t)acc * multiplier + ((int64_t)1 << 30)) >> 31);
        return rdbpot(x, -shift);
    }
    const int32_t x = (int32_t)(((int64_t)(int32_t)((uint32_t)acc << shift) * multiplier + ((int64_t)1 << 30)) >> 31);
    return x;
}

int32_t kws_nn_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    return rdbpot(srdhm((int32_t)((uint32_t)acc << (shift > 0 ? shift : 0)), multiplier), shift > 0 ? 0 : -shift);
}

/* The kernel taps [k0, k1) of output position o that fall inside an input of size n, with the
 * input index of tap 0 in *origin (as TFLM clamps its filter windows). */
static inline void taps(int o, int stride, int pad, int k, int n, int *origin, int *k0, int *k1)
{
    const int i0 = o * stride - pad;
    *origin = i0;
    *k0 = i0 < 0 ? -i0 : 0;
    *k1 = k < n - i0 ? k : n - i0;
}

static inline int8_t clamp8(int32_t v, int32_t lo, int32_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* TFLM's average: the sum divided by the count, rounded half away from zero. */
static inline int32_t round_avg(int32_t sum, int32_t count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

/* Channels per block in the portable (non-DSP) fast paths: accumulators a compiler keeps in
 * vector registers on hosts, a small stack array on a core without SIMD. */
#define KWS_NN_BLOCK 16
#if KWS_HOST_AVX2 && KWS_NN_BLOCK != 16
#error "the AVX2 paths compute blocks of 16 channels"
#endif
/* Most channels one depthwise start computation serves: a block, or the DSP path's four. */
#define KWS_NN_DW_CHUNK (KWS_NN_BLOCK > 4 ? KWS_NN_BLOCK : 4)

/* Output epilogue. The parameters are passed as locals: int8 stores may alias the parameter
 * struct, so reading p-> fields here would reload them after every store. */
#define FINISH(acc, m, sh) clamp8(requant((acc), (m), (sh)) + ooff, lo, hi)

/* The epilogue of KWS_NN_BLOCK channels: y[j] = FINISH(acc[j], mult[j], shift[j]). On AVX2 hosts
 * eight lanes at a time: requant's 64-bit products as even / odd lane halves (their low 32 bits
 * after the shift do not depend on the shift being arithmetic), the same integers as the scalar. */
static inline void finish_block(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t ooff, int32_t lo,
                                int32_t hi, int8_t *y)
{
#if KWS_HOST_AVX2
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1), half = _mm256_set1_epi64x((int64_t)1 << 30);
    const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi), voff = _mm256_set1_epi32(ooff);
    for (int j = 0; j < KWS_NN_BLOCK; j += 8) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(acc + j));
        const __m256i m = _mm256_loadu_si256((const __m256i *)(const void *)(mult + j));
        const __m256i sh = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(shift + j)));
        const __m256i left = _mm256_max_epi32(sh, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, sh), zero);
        const __m256i x = _mm256_sllv_epi32(a, left);
        const __m256i pe = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, m), half), 31);
        const __m256i po = _mm256_srli_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), half), 31);
        const __m256i r = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
        const __m256i round = _mm256_srli_epi32(_mm256_sllv_epi32(one, right), 1);
        const __m256i neg = _mm256_and_si256(_mm256_srli_epi32(r, 31), _mm256_cmpgt_epi32(right, zero));
        __m256i v = _mm256_srav_epi32(_mm256_sub_epi32(_mm256_add_epi32(r, round), neg), right);
        v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, voff), vlo), vhi);
        const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(v, v), zero);
        const __m256i g = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
        _mm_storel_epi64((__m128i *)(void *)(y + j), _mm256_castsi256_si128(g));
    }
#else
    for (int j = 0; j < KWS_NN_BLOCK; j++) {
        y[j] = FINISH(acc[j], mult[j], shift[j]);
    }
#endif
}

/* The epilogue of a 2 positions x 2 channels block: outputs (o, o + 1) at y0 and y1. */
static inline void finish_2x2(int32_t a00, int32_t a01, int32_t a10, int32_t a11, const int32_t *mult,
                              const int8_t *shift, int o, int32_t ooff, int32_t lo, int32_t hi, int8_t *y0, int8_t *y1)
{
    const int32_t m0 = mult[o], m1 = mult[o + 1], s0 = shift[o], s1 = shift[o + 1];
    const int8_t r00 = FINISH(a00, m0, s0), r01 = FINISH(a01, m1, s1);
    const int8_t r10 = FINISH(a10, m0, s0), r11 = FINISH(a11, m1, s1);
    y0[o] = r00;
    y0[o + 1] = r01;
    y1[o] = r10;
    y1[o + 1] = r11;
}

/* Weight (o, c) of a 1x1 convolution. When in_c % 4 == 0 and out_c is even the generator stores
 * each pair of output channels interleaved by groups of four inputs (o, o+1 -> 4 bytes each),
 * so that one load serves two channels; otherwise plain [out_c][in_c]. */
static inline int pw_index(int o, int c, int ic, int paired)
{
    return paired ? (o >> 1) * 2 * ic + (c >> 2) * 8 + (o & 1) * 4 + (c & 3) : o * ic + c;
}

#if KWS_HOST_AVX2
/* Four output pairs' sums (A0..A3, each lane a two-product sum in the paired layout: lanes 0, 1,
 * 4, 5 belong to the pair's first channel, 2, 3, 6, 7 to its second) as 8 channels in order. */
static inline __m256i pw_avx2_reduce(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
    const __m256i t0 = _mm256_hadd_epi32(a0, a1), t1 = _mm256_hadd_epi32(a2, a3);
    return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20), _mm256_permute2x128_si256(t0, t1, 0x31));
}

/* All n positions of one group in the paired layout (ic % 8 == 0, oc % KWS_NN_BLOCK == 0). Each
 * position's inputs are widened once into col as the layout reads them (x[c..c+3] twice per group
 * of four); each 16 weight bytes then feed one VPMADDWD. Returns n. */
static int pw_avx2(const int8_t *in, int is, int ic, const int8_t *w, const int32_t *bias, const int32_t *mult,
                   const int8_t *shift, int8_t *out, int os, int oc, int16_t *col, int n, int32_t ooff, int32_t lo,
                   int32_t hi)
{
    for (int pos = 0; pos < n; pos++) {
        const int8_t *x0 = &in[pos * is];
        for (int c = 0; c < ic; c += 4) {
            for (int k = 0; k < 4; k++) {
                col[2 * c + k] = x0[c + k];
                col[2 * c + 4 + k] = x0[c + k];
            }
        }
        const int8_t *wp = w;
        for (int o0 = 0; o0 < oc; o0 += KWS_NN_BLOCK) {
            int32_t acc[KWS_NN_BLOCK];
            for (int h = 0; h < KWS_NN_BLOCK; h += 8) {
                __m256i a[4];
                for (int q = 0; q < 4; q++, wp += 2 * ic) {
                    __m256i s = _mm256_setzero_si256();
                    for (int j = 0; j < 2 * ic; j += 16) {
                        const __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(wp + j)));
                        const __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(col + j));
                        s = _mm256_add_epi32(s, _mm256_madd_epi16(wv, xv));
                    }
                    a[q] = s;
                }
                const __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(bias + o0 + h));
                _mm256_storeu_si256((__m256i *)(void *)(acc + h), _mm256_add_epi32(b, pw_avx2_reduce(a[0], a[1], a[2], a[3])));
            }
            finish_block(acc, mult + o0, shift + o0, ooff, lo, hi, &out[pos * os + o0]);
        }
    }
    return n;
}
#endif

/* reference_integer_ops::ConvPerChannel for a 1x1 kernel, one group of ``oc`` outputs reading
 * ``ic`` inputs: int8 dot products (the input offset is in the bias). Input positions are ``is``
 * bytes apart, output positions ``os``. With SIMD, two positions' inputs are widened once into ``col`` as
 * [x0 bytes 0,2 | x0 bytes 1,3 | x1 bytes 0,2 | x1 bytes 1,3] per group of four channels; each
 * pair of weight words then feeds 2 output channels x 2 positions (8 SMLAD). */
static void pw_group(const kws_nn_conv_t *p, const int8_t *in, int is, int ic, const int8_t *w, const int32_t *bias,
                     const int32_t *mult, const int8_t *shift, int8_t *out, int os, int oc, int16_t *col)
{
    const int n = p->out_h * p->out_w;
    const int paired = (ic & 3) == 0 && (oc & 1) == 0;
    const int32_t ooff = p->out_offset, lo = p->act_min, hi = p->act_max;
    int pos = 0;
#if KWS_SIMD
    if (paired) {
        uint32_t *cw = (uint32_t *)(void *)col;
        for (; pos + 1 < n; pos += 2) {
            const int8_t *x0 = &in[pos * is], *x1 = x0 + is;
            for (int c = 0, k = 0; c < ic; c += 4, k += 4) {
                const uint32_t v0 = load4(x0 + c), v1 = load4(x1 + c);
                cw[k] = (uint32_t)__sxtb16((int8x4_t)v0);
                cw[k + 1] = (uint32_t)sxtb16_hi(v0);
                cw[k + 2] = (uint32_t)__sxtb16((int8x4_t)v1);
                cw[k + 3] = (uint32_t)sxtb16_hi(v1);
            }
            int8_t *y0 = &out[pos * os], *y1 = y0 + os;
            const uint32_t *wp = (const uint32_t *)(const void *)w;
            for (int o = 0; o < oc; o += 2) {
                int32_t a00 = bias[o], a10 = bias[o], a01 = bias[o + 1], a11 = bias[o + 1];
                const uint32_t *xp = cw, *end = cw + ic;
                for (; xp < end; xp += 4, wp += 2) {
                    const uint32_t u = wp[0], v = wp[1];
                    const int16x2_t ul = __sxtb16((int8x4_t)u), uh = sxtb16_hi(u);
                    const int16x2_t vl = __sxtb16((int8x4_t)v), vh = sxtb16_hi(v);
                    const int16x2_t p0l = (int16x2_t)xp[0], p0h = (int16x2_t)xp[1];
                    const int16x2_t p1l = (int16x2_t)xp[2], p1h = (int16x2_t)xp[3];
                    a00 = __smlad(ul, p0l, a00);
                    a01 = __smlad(vl, p0l, a01);
                    a10 = __smlad(ul, p1l, a10);
                    a11 = __smlad(vl, p1l, a11);
                    a00 = __smlad(uh, p0h, a00);
                    a01 = __smlad(vh, p0h, a01);
                    a10 = __smlad(uh, p1h, a10);
                    a11 = __smlad(vh, p1h, a11);
                }
                finish_2x2(a00, a01, a10, a11, mult, shift, o, ooff, lo, hi, y0, y1);
            }
        }
        if (pos < n) {                                  /* an odd last position (a streamed row of 7) */
            const int8_t *x0 = &in[pos * is];
            for (int c = 0, k = 0; c < ic; c += 4, k += 2) {
                const uint32_t v0 = load4(x0 + c);
                cw[k] = (uint32_t)__sxtb16((int8x4_t)v0);
                cw[k + 1] = (uint32_t)sxtb16_hi(v0);
            }
            int8_t *y0 = &out[pos * os];
            const uint32_t *wp = (const uint32_t *)(const void *)w;
            for (int o = 0; o < oc; o += 2) {
                int32_t a0 = bias[o], a1 = bias[o + 1];
                const uint32_t *xp = cw, *end = cw + ic / 2;
                for (; xp < end; xp += 2, wp += 2) {
                    const uint32_t u = wp[0], v = wp[1];
                    const int16x2_t p0l = (int16x2_t)xp[0], p0h = (int16x2_t)xp[1];
                    a0 = __smlad(__sxtb16((int8x4_t)u), p0l, a0);
                    a1 = __smlad(__sxtb16((int8x4_t)v), p0l, a1);
                    a0 = __smlad(sxtb16_hi(u), p0h, a0);
                    a1 = __smlad(sxtb16_hi(v), p0h, a1);
                }
                const int8_t r0 = FINISH(a0, mult[o], shift[o]), r1 = FINISH(a1, mult[o + 1], shift[o + 1]);
                y0[o] = r0;
                y0[o + 1] = r1;
            }
            pos++;
        }
    }
#else
#if KWS_HOST_AVX2
    if (paired && (ic & 7) == 0 && oc % KWS_NN_BLOCK == 0) {
        pos = pw_avx2(in, is, ic, w, bias, mult, shift, out, os, oc, col, n, ooff, lo, hi);
    }
#endif
    (void)col;
    if (paired && oc % KWS_NN_BLOCK == 0) {             /* portable: sums of a block of channels, then their
                                                          * epilogues in one loop (vectorizes) */
        for (; pos < n; pos++) {
            const int8_t *x0 = &in[pos * is];
            const int8_t *wp = w;
            for (int o0 = 0; o0 < oc; o0 += KWS_NN_BLOCK) {
                int32_t acc[KWS_NN_BLOCK];
                for (int j = 0; j < KWS_NN_BLOCK; j += 2, wp += 2 * ic) {
                    int32_t a0 = bias[o0 + j], a1 = bias[o0 + j + 1];
                    for (int c = 0; c < ic; c += 4) {
                        const int8_t *wc = wp + 2 * c;
                        a0 += wc[0] * x0[c] + wc[1] * x0[c + 1] + wc[2] * x0[c + 2] + wc[3] * x0[c + 3];
                        a1 += wc[4] * x0[c] + wc[5] * x0[c + 1] + wc[6] * x0[c + 2] + wc[7] * x0[c + 3];
                    }
                    acc[j] = a0;
                    acc[j + 1] = a1;
                }
                finish_block(acc, mult + o0, shift + o0, ooff, lo, hi, &out[pos * os + o0]);
            }
        }
    }
    if (paired) {                                       /* portable: the pair-interleaved layout, read in order */
        for (; pos < n; pos++) {
            const int8_t *x0 = &in[pos * is];
            const int8_t *wp = w;
            for (int o = 0; o < oc; o += 2) {
                int32_t a0 = bias[o], a1 = bias[o + 1];
                for (int c = 0; c < ic; c += 4, wp += 8) {
                    a0 += wp[0] * x0[c] + wp[1] * x0[c + 1] + wp[2] * x0[c + 2] + wp[3] * x0[c + 3];
                    a1 += wp[4] * x0[c] + wp[5] * x0[c + 1] + wp[6] * x0[c + 2] + wp[7] * x0[c + 3];
                }
                out[pos * os + o] = FINISH(a0, mult[o], shift[o]);
                out[pos * os + o + 1] = FINISH(a1, mult[o + 1], shift[o + 1]);
            }
        }
    }
#endif
    for (; pos < n; pos++) {
        const int8_t *x0 = &in[pos * is];
        for (int o = 0; o < oc; o++) {
            int32_t a0 = bias[o];
            for (int c = 0; c < ic; c++) {
                a0 += (int32_t)w[pw_index(o, c, ic, paired)] * x0[c];
            }
            out[pos * os + o] = FINISH(a0, mult[o], shift[o]);
        }
    }
}

/* Groups: a block-diagonal 1x1 convolution (an ensemble of networks merged into one, each
 * member reading only its own channels) is computed block by block; the generator stores only
 * the blocks. Zero weights outside them add nothing, so this equals TFLM's dense convolution. */
void kws_nn_pwconv(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                   const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col)
{
    const int g = p->groups > 1 ? p->groups : 1;
    const int ic = p->in_c / g, oc = p->out_c / g;
    for (int k = 0; k < g; k++) {
        pw_group(p, in + k * ic, p->in_c, ic, w + k * ic * oc, bias + k * oc, mult + k * oc, shift + k * oc,
                 out + k * oc, p->out_c, oc, col);
    }
}

/* One im2col column: x + in_offset for every tap (0 outside the input). With SIMD each group of
 * four entries is stored (c0, c2, c1, c3) so that SMLAD pairs them with SXTB16 of the weights. */
static void im2col(const kws_nn_conv_t *p, const int8_t *in, int oy, int ox, int K4, int16_t *col)
{
    const int iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
#if KWS_SIMD
    const int rowlen = p->k_w * p->in_c;
#endif
    int k = 0;
    (void)K4;
    for (int ky = 0; ky < p->k_h; ky++) {
        const int iy = iy0 + ky;
#if KWS_SIMD
        if ((rowlen & 3) == 0 && k + rowlen <= K4 && iy >= 0 && iy < p->in_h && ix0 >= 0 && ix0 + p->k_w <= p->in_w) {
            /* a kernel row inside the input: four bytes -> SXTB16 gives the (c0, c2), (c1, c3) order */
            const int8_t *x = &in[(iy * p->in_w + ix0) * p->in_c];
            const int16x2_t off2 = (int16x2_t)(((uint32_t)(uint16_t)p->in_offset << 16) | (uint16_t)p->in_offset);
            uint32_t *cw = (uint32_t *)(void *)&col[k];
            for (int j = 0; j < rowlen; j += 4, cw += 2) {
                const uint32_t v = load4(x + j);
                cw[0] = (uint32_t)__sadd16(__sxtb16((int8x4_t)v), off2);
                cw[1] = (uint32_t)__sadd16(sxtb16_hi(v), off2);
            }
            k += rowlen;
            continue;
        }
#endif
        for (int kx = 0; kx < p->k_w; kx++) {
            const int ix = ix0 + kx;
            const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
            const int8_t *x = &in[(iy * p->in_w + ix) * p->in_c];
            for (int ic = 0; ic < p->in_c; ic++, k++) {
#if KWS_SIMD
                const int slot = k < K4 ? (k & ~3) + ((k & 1) << 1) + ((k & 2) >> 1) : k;
#else
                const int slot = k;
#endif
                col[slot] = (int16_t)(inside ? x[ic] + p->in_offset : 0);
            }
        }
    }
}

/* reference_integer_ops::ConvPerChannel, as im2col + dot products. ``col`` holds two columns
 * (the generator sizes it): with SIMD, positions go in pairs that share every weight load. */
void kws_nn_conv2d(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                   const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col)
{
    const int K = p->k_h * p->k_w * p->in_c;
    const int32_t ooff = p->out_offset, lo = p->act_min, hi = p->act_max;
    const int K4 = K & ~3;
    int16_t *col1 = col + ((K + 3) & ~3);
    for (int oy = 0; oy < p->out_h; oy++) {
        int ox = 0;
#if KWS_SIMD
        for (; ox + 1 < p->out_w && K4 == K; ox += 2) {
            im2col(p, in, oy, ox, K4, col);
            im2col(p, in, oy, ox + 1, K4, col1);
            int8_t *y0 = &out[(oy * p->out_w + ox) * p->out_c], *y1 = y0 + p->out_c;
            int oc = 0;
            for (; oc + 1 < p->out_c; oc += 2) {
                const int8_t *w0 = &w[oc * K], *w1 = w0 + K;
                int32_t a00 = bias ? bias[oc] : 0, a01 = bias ? bias[oc + 1] : 0, a10 = a00, a11 = a01;
                const uint32_t *c0 = (const uint32_t *)(const void *)col, *c1 = (const uint32_t *)(const void *)col1;
                for (int j = 0; j < K; j += 4, c0 += 2, c1 += 2) {
                    const uint32_t u = load4(w0 + j), v = load4(w1 + j);
                    const int16x2_t ul = __sxtb16((int8x4_t)u), uh = sxtb16_hi(u);
                    const int16x2_t vl = __sxtb16((int8x4_t)v), vh = sxtb16_hi(v);
                    a00 = __smlad(ul, (int16x2_t)c0[0], a00);
                    a01 = __smlad(vl, (int16x2_t)c0[0], a01);
                    a10 = __smlad(ul, (int16x2_t)c1[0], a10);
                    a11 = __smlad(vl, (int16x2_t)c1[0], a11);
                    a00 = __smlad(uh, (int16x2_t)c0[1], a00);
                    a01 = __smlad(vh, (int16x2_t)c0[1], a01);
                    a10 = __smlad(uh, (int16x2_t)c1[1], a10);
                    a11 = __smlad(vh, (int16x2_t)c1[1], a11);
                }
                finish_2x2(a00, a01, a10, a11, mult, shift, oc, ooff, lo, hi, y0, y1);
            }
            for (; oc < p->out_c; oc++) {
                const int8_t *wo = &w[oc * K];
                int32_t a0 = bias ? bias[oc] : 0, a1 = a0;
                const uint32_t *c0 = (const uint32_t *)(const void *)col, *c1 = (const uint32_t *)(const void *)col1;
                for (int j = 0; j < K; j += 4, c0 += 2, c1 += 2) {
                    const uint32_t u = load4(wo + j);
                    const int16x2_t ul = __sxtb16((int8x4_t)u), uh = sxtb16_hi(u);
                    a0 = __smlad(uh, (int16x2_t)c0[1], __smlad(ul, (int16x2_t)c0[0], a0));
                    a1 = __smlad(uh, (int16x2_t)c1[1], __smlad(ul, (int16x2_t)c1[0], a1));
                }
                const int8_t r0 = FINISH(a0, mult[oc], shift[oc]), r1 = FINISH(a1, mult[oc], shift[oc]);
                y0[oc] = r0;
                y1[oc] = r1;
            }
        }
#else
        (void)col1;
#endif
        for (; ox < p->out_w; ox++) {
            im2col(p, in, oy, ox, K4, col);
            int8_t *y = &out[(oy * p->out_w + ox) * p->out_c];
            int oc = 0;
#if !KWS_SIMD
            for (; oc + KWS_NN_BLOCK <= p->out_c; oc += KWS_NN_BLOCK) {     /* portable: one epilogue per block */
                int32_t acc[KWS_NN_BLOCK];
                for (int j = 0; j < KWS_NN_BLOCK; j++) {
                    const int8_t *wo = &w[(oc + j) * K];
                    int32_t a = bias ? bias[oc + j] : 0;
                    for (int k = 0; k < K; k++) {
                        a += (int32_t)wo[k] * col[k];
                    }
                    acc[j] = a;
                }
                finish_block(acc, mult + oc, shift + oc, ooff, lo, hi, y + oc);
            }
#else
            for (; oc + 1 < p->out_c; oc += 2) {            /* two channels share each column load */
                const int8_t *w0 = &w[oc * K], *w1 = w0 + K;
                int32_t a0 = bias ? bias[oc] : 0, a1 = bias ? bias[oc + 1] : 0;
                const uint32_t *cp = (const uint32_t *)(const void *)col;
                int j = 0;
                for (; j < K4; j += 4, cp += 2) {
                    const uint32_t u = load4(w0 + j), v = load4(w1 + j);
                    const int16x2_t c02 = (int16x2_t)cp[0], c13 = (int16x2_t)cp[1];
                    a0 = __smlad(__sxtb16((int8x4_t)u), c02, a0);
                    a1 = __smlad(__sxtb16((int8x4_t)v), c02, a1);
                    a0 = __smlad(sxtb16_hi(u), c13, a0);
                    a1 = __smlad(sxtb16_hi(v), c13, a1);
                }
                for (; j < K; j++) {
                    a0 += (int32_t)w0[j] * col[j];
                    a1 += (int32_t)w1[j] * col[j];
                }
                const int8_t r0 = FINISH(a0, mult[oc], shift[oc]), r1 = FINISH(a1, mult[oc + 1], shift[oc + 1]);
                y[oc] = r0;
                y[oc + 1] = r1;
            }
#endif
            for (; oc < p->out_c; oc++) {
                const int8_t *wo = &w[oc * K];
                int32_t acc = bias ? bias[oc] : 0;
                int j = 0;
#if KWS_SIMD
                for (; j < K4; j += 4) {
                    const uint32_t wv = load4(wo + j);
                    int16x2_t c02, c13;
                    __builtin_memcpy(&c02, &col[j], 4);
                    __builtin_memcpy(&c13, &col[j + 2], 4);
                    acc = __smlad(__sxtb16((int8x4_t)wv), c02, acc);
                    acc = __smlad(sxtb16_hi(wv), c13, acc);
                }
#endif
                for (; j < K; j++) {
                    acc += (int32_t)wo[j] * col[j];
                }
                y[oc] = FINISH(acc, mult[oc], shift[oc]);
            }
        }
    }
}

#if KWS_SIMD
/* Four channels over the taps [0, ny) x [0, nx) of one position: acc[i] += w[i] * x[i], lane-wise
 * (SXTB16, SMLABB / SMLATT). Exact int16 / int32 arithmetic: bit-exact with the scalar loop. */
static void dw_taps4(const int8_t *x, const int8_t *w, int row, int wrow, int C, int ny, int nx, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int ky = 0; ky < ny; ky++, x += row, w += wrow) {
        const int8_t *xt = x, *wt = w;
        for (int kx = 0; kx < nx; kx++, xt += C, wt += C) {
            const uint32_t xv = load4(xt), wv = load4(wt);
            const int16x2_t x02 = __sxtb16((int8x4_t)xv), x13 = sxtb16_hi(xv);
            const int32_t w02 = (int32_t)__sxtb16((int8x4_t)wv), w13 = (int32_t)sxtb16_hi(wv);
            a0 = __smlabb((int32_t)x02, w02, a0);
            a2 = __smlatt((int32_t)x02, w02, a2);
            a1 = __smlabb((int32_t)x13, w13, a1);
            a3 = __smlatt((int32_t)x13, w13, a3);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

#if KWS_HOST_AVX2
/* KWS_NN_BLOCK channels of one position over the taps [0, ny) x [0, nx): acc = start + sum of
 * w * x, eight int32 lanes at a time (the portable block loop, written out). */
static void dw_block_avx2(const int8_t *x, const int8_t *w, int row, int wrow, int C, int ny, int nx,
                          const int32_t *start, int32_t *acc)
{
    __m256i a0 = _mm256_loadu_si256((const __m256i *)(const void *)start);
    __m256i a1 = _mm256_loadu_si256((const __m256i *)(const void *)(start + 8));
    for (int ky = 0; ky < ny; ky++, x += row, w += wrow) {
        for (int kx = 0; kx < nx; kx++) {
            const int8_t *xt = x + kx * C, *wt = w + kx * C;
            const __m128i xv = _mm_loadu_si128((const __m128i *)(const void *)xt);
            const __m128i wv = _mm_loadu_si128((const __m128i *)(const void *)wt);
            a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepi8_epi32(xv), _mm256_cvtepi8_epi32(wv)));
            a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_srli_si128(xv, 8)),
                                                          _mm256_cvtepi8_epi32(_mm_srli_si128(wv, 8))));
        }
    }
    _mm256_storeu_si256((__m256i *)(void *)acc, a0);
    _mm256_storeu_si256((__m256i *)(void *)(acc + 8), a1);
}
#endif

/* The accumulators n channels from c start from at one position: TFLM sums w * (x + in_offset) over
 * the taps inside the input, i.e. bias + in_offset * (taps inside) + sum of w * x. ``bias_in`` holds
 * bias + in_offset * (all taps), so a border position takes in_offset * (its taps outside the
 * input) back off; the rest of the sum needs no offset anywhere. Exact integers: bit-exact with
 * TFLM, and one bias array per layer instead of two. Interior positions copy ``bias_in``. */
static void dw_starts(const kws_nn_conv_t *p, const int8_t *w, const int32_t *bias_in, int c, int n, int y0, int y1,
                      int x0, int x1, int32_t *start)
{
    int32_t outside[KWS_NN_DW_CHUNK];
    for (int j = 0; j < n; j++) {
        outside[j] = 0;
    }
    for (int ky = 0; ky < p->k_h; ky++) {
        const int row_inside = ky >= y0 && ky < y1;
        for (int kx = 0; kx < p->k_w; kx++) {
            if (row_inside && kx == x0) {               /* skip the taps inside the input */
                kx = x1 - 1;
                continue;
            }
            const int8_t *wt = &w[(ky * p->k_w + kx) * p->out_c + c];
            for (int j = 0; j < n; j++) {
                outside[j] += wt[j];
            }
        }
    }
    for (int j = 0; j < n; j++) {
        start[j] = bias_in[c + j] - p->in_offset * outside[j];
    }
}

#define DW_START(c, n, start)                                                                  \
    do {                                                                                       \
        if (interior) {                                                                        \
            for (int j_ = 0; j_ < (n); j_++) {                                                 \
                (start)[j_] = bias_in[(c) + j_];                                               \
            }                                                                                  \
        } else {                                                                               \
            dw_starts(p, w, bias_in, (c), (n), y0, y1, x0, x1, (start));                       \
        }                                                                                      \
    } while (0)

/* reference_integer_ops::DepthwiseConvPerChannel, depth multiplier 1: sum over the taps inside
 * the input of w * (x + in_offset), as TFLM, computed as dw_starts + sum of w * x. */
void kws_nn_dwconv2d(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias_in,
                     const int32_t *mult, const int8_t *shift, int8_t *out)
{
    const int C = p->out_c, row = p->in_w * C, wrow = p->k_w * C;
    const int32_t ooff = p->out_offset, lo = p->act_min, hi = p->act_max;
    for (int oy = 0; oy < p->out_h; oy++) {
        int iy0, y0, y1;
        taps(oy, p->stride_h, p->pad_h, p->k_h, p->in_h, &iy0, &y0, &y1);
        for (int ox = 0; ox < p->out_w; ox++) {
            int ix0, x0, x1;
            taps(ox, p->stride_w, p->pad_w, p->k_w, p->in_w, &ix0, &x0, &x1);
            const int interior = y0 == 0 && x0 == 0 && y1 == p->k_h && x1 == p->k_w;
            const int8_t *xb = &in[(iy0 + y0) * row + (ix0 + x0) * C];
            const int8_t *wb = &w[(y0 * p->k_w + x0) * C];
            int8_t *y = &out[(oy * p->out_w + ox) * C];
            int c = 0;
#if KWS_SIMD
            /* The common cases, unrolled: a 3x3 window inside the input, or with one column outside
             * it (padding along the cepstra). That column reads the input zero point, -in_offset,
             * whose product with the weights is what dw_starts takes off: bias_in serves both. */
            const int one_out = y0 == 0 && y1 == 3 && x1 - x0 == 2;
            if (p->k_h == 3 && p->k_w == 3 && (interior || one_out)) {
                const uint32_t zp = 0x01010101u * (uint8_t)(int8_t)(-p->in_offset);
                const int16x2_t z02 = __sxtb16((int8x4_t)zp);
                const int kin = interior ? 3 : 2, kout = x0 ? 0 : 2;  /* columns inside; the one outside */
                for (; c + 3 < C; c += 4) {
                    int32_t a0 = bias_in[c], a1 = bias_in[c + 1], a2 = bias_in[c + 2], a3 = bias_in[c + 3];
                    const int8_t *xt = xb + c, *wt = wb + c, *wo = w + kout * C + c;
#define KWS_DW_MAC(X02, X13, W)                                                                \
    do {                                                                                       \
        const uint32_t wv = load4(W);                                                          \
        const int32_t w02 = (int32_t)__sxtb16((int8x4_t)wv), w13 = (int32_t)sxtb16_hi(wv);     \
        a0 = __smlabb((int32_t)(X02), w02, a0);                                                \
        a2 = __smlatt((int32_t)(X02), w02, a2);                                                \
        a1 = __smlabb((int32_t)(X13), w13, a1);                                                \
        a3 = __smlatt((int32_t)(X13), w13, a3);                                                \
    } while (0)
#define KWS_DW_TAP(X, W)                                                                       \
    do {                                                                                       \
        const uint32_t xv = load4(X);                                                          \
        KWS_DW_MAC(__sxtb16((int8x4_t)xv), sxtb16_hi(xv), W);                                  \
    } while (0)
                    if (kin == 3) {
                        for (int ky = 0; ky < 3; ky++, xt += row, wt += wrow) {
                            KWS_DW_TAP(xt, wt);
                            KWS_DW_TAP(xt + C, wt + C);
                            KWS_DW_TAP(xt + 2 * C, wt + 2 * C);
                        }
                    } else {
                        for (int ky = 0; ky < 3; ky++, xt += row, wt += wrow, wo += wrow) {
                            KWS_DW_TAP(xt, wt);
                            KWS_DW_TAP(xt + C, wt + C);
                            KWS_DW_MAC(z02, z02, wo);
                        }
                    }
#undef KWS_DW_TAP
#undef KWS_DW_MAC
                    const int8_t r0 = FINISH(a0, mult[c], shift[c]), r1 = FINISH(a1, mult[c + 1], shift[c + 1]);
                    const int8_t r2 = FINISH(a2, mult[c + 2], shift[c + 2]), r3 = FINISH(a3, mult[c + 3], shift[c + 3]);
                    y[c] = r0;
                    y[c + 1] = r1;
                    y[c + 2] = r2;
                    y[c + 3] = r3;
                }
            }
            for (; c + 3 < C; c += 4) {
                int32_t acc[4];
                DW_START(c, 4, acc);
                dw_taps4(xb + c, wb + c, row, wrow, C, y1 - y0, x1 - x0, acc);
                const int8_t r0 = FINISH(acc[0], mult[c], shift[c]), r1 = FINISH(acc[1], mult[c + 1], shift[c + 1]);
                const int8_t r2 = FINISH(acc[2], mult[c + 2], shift[c + 2]), r3 = FINISH(acc[3], mult[c + 3], shift[c + 3]);
                y[c] = r0;
                y[c + 1] = r1;
                y[c + 2] = r2;
                y[c + 3] = r3;
            }
#else
            for (; c + KWS_NN_BLOCK <= C; c += KWS_NN_BLOCK) {   /* blocks of channels, channel innermost: vectorizes */
                int32_t acc[KWS_NN_BLOCK];
                DW_START(c, KWS_NN_BLOCK, acc);
#if KWS_HOST_AVX2
                dw_block_avx2(xb + c, wb + c, row, wrow, C, y1 - y0, x1 - x0, acc, acc);
#else
                for (int ky = 0; ky < y1 - y0; ky++) {
                    for (int kx = 0; kx < x1 - x0; kx++) {
                        const int8_t *xt = xb + ky * row + kx * C + c, *wt = wb + ky * wrow + kx * C + c;
                        for (int j = 0; j < KWS_NN_BLOCK; j++) {
                            acc[j] += (int32_t)wt[j] * (int32_t)xt[j];
                        }
                    }
                }
#endif
                finish_block(acc, mult + c, shift + c, ooff, lo, hi, y + c);
            }
#endif
            for (; c < C; c++) {
                int32_t acc;
                DW_START(c, 1, &acc);
                for (int ky = 0; ky < y1 - y0; ky++) {
                    for (int kx = 0; kx < x1 - x0; kx++) {
                        acc += (int32_t)wb[ky * wrow + kx * C + c] * (int32_t)xb[ky * row + kx * C + c];
                    }
                }
                y[c] = FINISH(acc, mult[c], shift[c]);
            }
        }
    }
}
#undef DW_START

/* reference_integer_ops::AveragePool (same input and output quantization) */
void kws_nn_avgpool(const kws_nn_conv_t *p, const int8_t *in, int8_t *out)
{
#if KWS_SIMD
    const int n = p->in_h * p->in_w;
    if (p->out_h == 1 && p->out_w == 1 && p->k_h == p->in_h && p->k_w == p->in_w && p->pad_h == 0 && p->pad_w == 0 &&
        (p->in_c & 3) == 0 && n <= 255 && p->in_c <= 64) {
        /* global pooling: every input in the sum; four channels per step as int16 pairs (exact:
         * at most 255 values of |x| <= 128 per channel), the TFLM rounded division after */
        uint32_t acc[32];
        const int C = p->in_c;
        for (int g = 0; g < C / 2; g++) {
            acc[g] = 0;
        }
        for (int i = 0; i < n; i++) {
            const int8_t *x = &in[i * C];
            for (int c = 0, g = 0; c < C; c += 4, g += 2) {
                const uint32_t v = load4(x + c);
                acc[g] = (uint32_t)__sadd16((int16x2_t)acc[g], __sxtb16((int8x4_t)v));
                acc[g + 1] = (uint32_t)__sadd16((int16x2_t)acc[g + 1], sxtb16_hi(v));
            }
        }
        for (int c = 0; c < C; c++) {
            const uint32_t pair = acc[(c >> 2) * 2 + (c & 1)];
            const int32_t sum = (int32_t)(int16_t)((c & 2) ? pair >> 16 : pair);
            const int32_t v = round_avg(sum, n);
            out[c] = clamp8(v, p->act_min, p->act_max);
        }
        return;
    }
#endif
    for (int oy = 0; oy < p->out_h; oy++) {
        int iy0, y0, y1;
        taps(oy, p->stride_h, p->pad_h, p->k_h, p->in_h, &iy0, &y0, &y1);
        for (int ox = 0; ox < p->out_w; ox++) {
            int ix0, x0, x1;
            taps(ox, p->stride_w, p->pad_w, p->k_w, p->in_w, &ix0, &x0, &x1);
            const int32_t count = (int32_t)((y1 - y0) * (x1 - x0));
            for (int c = 0; c < p->in_c; c++) {
                int32_t acc = 0;
                for (int ky = y0; ky < y1; ky++) {
                    for (int kx = x0; kx < x1; kx++) {
                        acc += in[((iy0 + ky) * p->in_w + ix0 + kx) * p->in_c + c];
                    }
                }
                acc = round_avg(acc, count);
                out[(oy * p->out_w + ox) * p->in_c + c] = clamp8(acc, p->act_min, p->act_max);
            }
        }
    }
}

void kws_nn_row_sums(const int8_t *row, int w, int c, int16_t *sums, int add)
{
    for (int ch = 0; ch < c; ch++) {
        int32_t acc = add ? sums[ch] : 0;
        for (int x = 0; x < w; x++) {
            acc += row[x * c + ch];
        }
        sums[ch] = (int16_t)acc;
    }
}

/* The same sum over every input of the map as kws_nn_avgpool, taken row by row: equal results. */
void kws_nn_avgpool_sums(const kws_nn_conv_t *p, const int16_t *sums, int rows, int8_t *out)
{
    const int32_t count = (int32_t)p->in_h * p->in_w;
    for (int c = 0; c < p->in_c; c++) {
        int32_t acc = 0;
        for (int r = 0; r < rows; r++) {
            acc += sums[r * p->in_c + c];
        }
        acc = round_avg(acc, count);
        out[c] = clamp8(acc, p->act_min, p->act_max);
    }
}

/* reference_integer_ops::FullyConnected / FullyConnectedPerChannel (weights zero point 0) */
void kws_nn_fc(const kws_nn_fc_t *p, const int8_t *in, const int8_t *w, const int32_t *bias, const int32_t *mult,
               const int8_t *shift, int8_t *out)
{
    for (int o = 0; o < p->out_depth; o++) {
        int32_t acc = 0;
        const int8_t *wo = &w[o * p->in_depth];
        for (int d = 0; d < p->in_depth; d++) {
            acc += (int32_t)wo[d] * ((int32_t)in[d] + p->in_offset);
        }
        acc += bias ? bias[o] : 0;
        const int q = p->per_channel ? o : 0;
        out[o] = clamp8(requant(acc, mult[q], shift[q]) + p->out_offset, p->act_min, p->act_max);
    }
}
