/* What the int8 kernels (kws_nn_*_s8.c) share: the core's SIMD detection, packed int8 dot
 * products, TFLM's requantization, the clamped epilogues. Private to the kernels; the API is
 * kws_nn.h. Fast paths only regroup exact int32 sums (never a rounding), so they stay bit-exact. */
#ifndef KWS_NN_SUPPORT_H
#define KWS_NN_SUPPORT_H

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


#if KWS_HOST_AVX2
#include "../ports/native/kws_nn_avx2.h"    /* host-only fast paths, never in a device build */
#endif

/* The epilogue of KWS_NN_BLOCK channels: y[j] = FINISH(acc[j], mult[j], shift[j]). On AVX2 hosts
 * eight lanes at a time (ports/native/kws_nn_avx2.h). */
static inline void finish_block(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t ooff, int32_t lo,
                                int32_t hi, int8_t *y)
{
#if KWS_HOST_AVX2
    kws_nn_finish_block_avx2(acc, mult, shift, ooff, lo, hi, y);
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

#endif /* KWS_NN_SUPPORT_H */
