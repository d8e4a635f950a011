/* Depthwise convolution, int8, depth multiplier 1 (kws_nn_dwconv_s8; TFLM
 * reference_integer_ops::DepthwiseConvPerChannel). */
#include "kws_nn_support.h"

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
kws_nn_status kws_nn_dwconv_s8(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias_in,
                               const int32_t *mult, const int8_t *shift, int8_t *out)
{
    if (p->in_c != p->out_c) {
        return KWS_NN_NO_IMPL_ERROR;                       /* depth multiplier 1 only */
    }
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
    return KWS_NN_SUCCESS;
}
#undef DW_START
