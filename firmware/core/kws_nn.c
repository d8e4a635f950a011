/* Int8 kernels; see kws_nn.h. Each mirrors the TFLM reference kernel named beside it. Fast
 * paths only regroup exact int32 sums (never a rounding), so they stay bit-exact. */
#include "kws_nn.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define KWS_SIMD 1
#else
#define KWS_SIMD 0
#endif

/* Four int8 from memory as one word (any alignment; Cortex-M4 LDR allows it). */
static inline uint32_t load4(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

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
    if (e == 0) {
        return x;
    }
    return (x + (int32_t)(1u << (e - 1)) - (int32_t)((uint32_t)x >> 31)) >> e;
}

/* TFLM MultiplyByQuantizedMultiplier (double rounding, the default build). */
static inline int32_t requant(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return rdbpot(srdhm((int32_t)((uint32_t)acc << left), multiplier), right);
}

int32_t kws_nn_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    return requant(acc, multiplier, shift);
}

static inline int8_t clamp8(int32_t v, int8_t lo, int8_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* reference_integer_ops::ConvPerChannel for a 1x1 kernel: dot products of int8 vectors. With
 * SIMD, two positions' inputs are first widened to int16 pairs in ``col`` (bytes 0,2 then 1,3
 * of every four, matching SXTB16 of the weights), then each weight word serves two output
 * channels x two positions. */
void kws_nn_pwconv(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                   const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col)
{
    const int n = p->out_h * p->out_w, ic = p->in_c, oc = p->out_c;
    int pos = 0;
#if KWS_SIMD
    if ((ic & 3) == 0 && (oc & 1) == 0) {
        int16_t *c0 = col, *c1 = col + ic;
        for (; pos + 1 < n; pos += 2) {
            const int8_t *x0 = &in[pos * ic], *x1 = x0 + ic;
            for (int c = 0; c < ic; c += 4) {
                const uint32_t v0 = load4(x0 + c), v1 = load4(x1 + c);
                const uint32_t a = (uint32_t)__sxtb16((int8x4_t)v0), b = (uint32_t)__sxtb16((int8x4_t)((v0 >> 8) | (v0 << 24)));
                const uint32_t d = (uint32_t)__sxtb16((int8x4_t)v1), e = (uint32_t)__sxtb16((int8x4_t)((v1 >> 8) | (v1 << 24)));
                __builtin_memcpy(&c0[c], &a, 4);
                __builtin_memcpy(&c0[c + 2], &b, 4);
                __builtin_memcpy(&c1[c], &d, 4);
                __builtin_memcpy(&c1[c + 2], &e, 4);
            }
            int8_t *y0 = &out[pos * oc], *y1 = y0 + oc;
            for (int o = 0; o < oc; o += 2) {
                const int8_t *w0 = &w[o * ic], *w1 = w0 + ic;
                int32_t a00 = bias[o], a10 = bias[o], a01 = bias[o + 1], a11 = bias[o + 1];
                const int16_t *p0 = c0, *p1 = c1;
                for (int c = 0; c < ic; c += 4, p0 += 4, p1 += 4) {
                    const uint32_t u = load4(w0 + c), v = load4(w1 + c);
                    const int16x2_t ul = __sxtb16((int8x4_t)u), uh = __sxtb16((int8x4_t)((u >> 8) | (u << 24)));
                    const int16x2_t vl = __sxtb16((int8x4_t)v), vh = __sxtb16((int8x4_t)((v >> 8) | (v << 24)));
                    int16x2_t x;
                    __builtin_memcpy(&x, p0, 4);
                    a00 = __smlad(ul, x, a00);
                    a01 = __smlad(vl, x, a01);
                    __builtin_memcpy(&x, p0 + 2, 4);
                    a00 = __smlad(uh, x, a00);
                    a01 = __smlad(vh, x, a01);
                    __builtin_memcpy(&x, p1, 4);
                    a10 = __smlad(ul, x, a10);
                    a11 = __smlad(vl, x, a11);
                    __builtin_memcpy(&x, p1 + 2, 4);
                    a10 = __smlad(uh, x, a10);
                    a11 = __smlad(vh, x, a11);
                }
                y0[o] = clamp8(requant(a00, mult[o], shift[o]) + p->out_offset, p->act_min, p->act_max);
                y0[o + 1] = clamp8(requant(a01, mult[o + 1], shift[o + 1]) + p->out_offset, p->act_min, p->act_max);
                y1[o] = clamp8(requant(a10, mult[o], shift[o]) + p->out_offset, p->act_min, p->act_max);
                y1[o + 1] = clamp8(requant(a11, mult[o + 1], shift[o + 1]) + p->out_offset, p->act_min, p->act_max);
            }
        }
    }
#else
    (void)col;
#endif
    for (; pos < n; pos++) {
        const int8_t *x0 = &in[pos * ic];
        for (int o = 0; o < oc; o++) {
            const int8_t *wo = &w[o * ic];
            int32_t a0 = bias[o];
            int c = 0;
            for (; c + 3 < ic; c += 4) {
                a0 = dot4(load4(x0 + c), load4(wo + c), a0);
            }
            for (; c < ic; c++) {
                a0 += (int32_t)wo[c] * x0[c];
            }
            out[pos * oc + o] = clamp8(requant(a0, mult[o], shift[o]) + p->out_offset, p->act_min, p->act_max);
        }
    }
}

/* reference_integer_ops::ConvPerChannel, as im2col + dot products. With SIMD each group of four
 * column entries is stored (c0, c2, c1, c3) so that SMLAD pairs them with SXTB16 of the weights. */
void kws_nn_conv2d(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                   const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col)
{
    const int K = p->k_h * p->k_w * p->in_c;
#if KWS_SIMD
    const int K4 = K & ~3;
#endif
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            int k = 0;
            for (int ky = 0; ky < p->k_h; ky++) {
                const int iy = iy0 + ky;
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
            int8_t *y = &out[(oy * p->out_w + ox) * p->out_c];
            for (int oc = 0; oc < p->out_c; oc++) {
                const int8_t *wo = &w[oc * K];
                int32_t acc = bias ? bias[oc] : 0;
                int j = 0;
#if KWS_SIMD
                for (; j < K4; j += 4) {
                    const uint32_t wv = load4(wo + j), wr = (wv >> 8) | (wv << 24);
                    int16x2_t c02, c13;
                    __builtin_memcpy(&c02, &col[j], 4);
                    __builtin_memcpy(&c13, &col[j + 2], 4);
                    acc = __smlad(__sxtb16((int8x4_t)wv), c02, acc);
                    acc = __smlad(__sxtb16((int8x4_t)wr), c13, acc);
                }
#endif
                for (; j < K; j++) {
                    acc += (int32_t)wo[j] * col[j];
                }
                y[oc] = clamp8(requant(acc, mult[oc], shift[oc]) + p->out_offset, p->act_min, p->act_max);
            }
        }
    }
}

/* Four channels of one tap: acc[i] += w[i] * x[i] (lane-wise, not summed). */
static inline void mac4(const int8_t *x, const int8_t *w, int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
#if KWS_SIMD
    const uint32_t xv = load4(x), wv = load4(w);
    const uint32_t xr = (xv >> 8) | (xv << 24), wr = (wv >> 8) | (wv << 24);
    const int32_t x02 = (int32_t)__sxtb16((int8x4_t)xv), w02 = (int32_t)__sxtb16((int8x4_t)wv);
    const int32_t x13 = (int32_t)__sxtb16((int8x4_t)xr), w13 = (int32_t)__sxtb16((int8x4_t)wr);
    *a0 = __smlabb(x02, w02, *a0);
    *a2 = __smlatt(x02, w02, *a2);
    *a1 = __smlabb(x13, w13, *a1);
    *a3 = __smlatt(x13, w13, *a3);
#else
    *a0 += (int32_t)x[0] * w[0];
    *a1 += (int32_t)x[1] * w[1];
    *a2 += (int32_t)x[2] * w[2];
    *a3 += (int32_t)x[3] * w[3];
#endif
}

static inline int8_t dw_out(int32_t acc, const kws_nn_conv_t *p, int32_t m, int32_t sh)
{
    return clamp8(requant(acc, m, sh) + p->out_offset, p->act_min, p->act_max);
}

/* reference_integer_ops::DepthwiseConvPerChannel, depth multiplier 1. Every position starts
 * from the folded bias (bias + in_offset * all taps' weights); a border position then removes
 * in_offset * w of each tap that falls outside the input, which TFLM skips. Channels go four
 * at a time in registers (lane-wise SMLABB / SMLATT) when their count allows. */
void kws_nn_dwconv2d(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                     const int32_t *bias_in, const int32_t *mult, const int8_t *shift, int8_t *out)
{
    const int C = p->out_c, row = p->in_w * C, step = (C & 3) == 0 ? 4 : 1;
    (void)bias;
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        const int y0 = iy0 < 0 ? -iy0 : 0;
        const int y1 = p->k_h < p->in_h - iy0 ? p->k_h : p->in_h - iy0;
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            const int x0 = ix0 < 0 ? -ix0 : 0;
            const int x1 = p->k_w < p->in_w - ix0 ? p->k_w : p->in_w - ix0;
            const int border = y0 != 0 || x0 != 0 || y1 != p->k_h || x1 != p->k_w;
            int8_t *y = &out[(oy * p->out_w + ox) * C];
            const int8_t *xbase = &in[(iy0 + y0) * row + (ix0 + x0) * C];
            const int8_t *wbase = &w[(y0 * p->k_w + x0) * C];
            for (int c = 0; c < C; c += step) {
                int32_t a0 = bias_in[c], a1 = 0, a2 = 0, a3 = 0;
                if (step == 4) {
                    a1 = bias_in[c + 1];
                    a2 = bias_in[c + 2];
                    a3 = bias_in[c + 3];
                }
                if (border) {
                    for (int ky = 0; ky < p->k_h; ky++) {
                        for (int kx = 0; kx < p->k_w; kx++) {
                            if (ky >= y0 && ky < y1 && kx >= x0 && kx < x1) {
                                continue;
                            }
                            const int8_t *wt = &w[(ky * p->k_w + kx) * C + c];
                            a0 -= (int32_t)p->in_offset * wt[0];
                            if (step == 4) {
                                a1 -= (int32_t)p->in_offset * wt[1];
                                a2 -= (int32_t)p->in_offset * wt[2];
                                a3 -= (int32_t)p->in_offset * wt[3];
                            }
                        }
                    }
                }
                const int8_t *xr = xbase + c, *wr = wbase + c;
                for (int ky = y0; ky < y1; ky++, xr += row, wr += p->k_w * C) {
                    const int8_t *xt = xr, *wt = wr;
                    for (int kx = x0; kx < x1; kx++, xt += C, wt += C) {
                        if (step == 4) {
                            mac4(xt, wt, &a0, &a1, &a2, &a3);
                        } else {
                            a0 += (int32_t)xt[0] * wt[0];
                        }
                    }
                }
                y[c] = dw_out(a0, p, mult[c], shift[c]);
                if (step == 4) {
                    y[c + 1] = dw_out(a1, p, mult[c + 1], shift[c + 1]);
                    y[c + 2] = dw_out(a2, p, mult[c + 2], shift[c + 2]);
                    y[c + 3] = dw_out(a3, p, mult[c + 3], shift[c + 3]);
                }
            }
        }
    }
}

/* reference_integer_ops::AveragePool (same input and output quantization) */
void kws_nn_avgpool(const kws_nn_conv_t *p, const int8_t *in, int8_t *out)
{
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        const int y0 = iy0 < 0 ? -iy0 : 0;
        const int y1 = p->k_h < p->in_h - iy0 ? p->k_h : p->in_h - iy0;
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            const int x0 = ix0 < 0 ? -ix0 : 0;
            const int x1 = p->k_w < p->in_w - ix0 ? p->k_w : p->in_w - ix0;
            const int32_t count = (int32_t)((y1 - y0) * (x1 - x0));
            for (int c = 0; c < p->in_c; c++) {
                int32_t acc = 0;
                for (int ky = y0; ky < y1; ky++) {
                    for (int kx = x0; kx < x1; kx++) {
                        acc += in[((iy0 + ky) * p->in_w + ix0 + kx) * p->in_c + c];
                    }
                }
                acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                out[(oy * p->out_w + ox) * p->in_c + c] = clamp8(acc, p->act_min, p->act_max);
            }
        }
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
        acc = requant(acc, mult[q], shift[q]) + p->out_offset;
        out[o] = clamp8(acc, p->act_min, p->act_max);
    }
}
