/* General convolution, int8, as im2col + dot products (kws_nn_conv_s8; TFLM
 * reference_integer_ops::ConvPerChannel). */
#include "kws_nn_support.h"

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
int32_t kws_nn_conv_s8_get_buffer_size(const kws_nn_conv_t *p)
{
    return 2 * 2 * (((int32_t)p->k_h * p->k_w * p->in_c + 3) & ~3);
}

kws_nn_status kws_nn_conv_s8(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                             const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col)
{
    if (col == 0 || p->k_h == 0 || p->k_w == 0 || p->in_c == 0) {
        return KWS_NN_ARG_ERROR;
    }
    if (p->groups > 1) {
        return KWS_NN_NO_IMPL_ERROR;                       /* grouped: 1x1 only (kws_nn_pwconv_s8) */
    }
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
    return KWS_NN_SUCCESS;
}
