/* 1x1 convolution, int8 (kws_nn_pwconv_s8; TFLM reference_integer_ops::ConvPerChannel). */
#include "kws_nn_support.h"

/* Weight (o, c) of a 1x1 convolution. When in_c % 4 == 0 and out_c is even the generator stores
 * each pair of output channels interleaved by groups of four inputs (o, o+1 -> 4 bytes each),
 * so that one load serves two channels; otherwise plain [out_c][in_c]. */
static inline int pw_index(int o, int c, int ic, int paired)
{
    return paired ? (o >> 1) * 2 * ic + (c >> 2) * 8 + (o & 1) * 4 + (c & 3) : o * ic + c;
}

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
int32_t kws_nn_pwconv_s8_get_buffer_size(const kws_nn_conv_t *p)
{
    const int32_t g = p->groups > 1 ? p->groups : 1;
    return 2 * 2 * ((p->in_c / g + 3) & ~3);
}

kws_nn_status kws_nn_pwconv_s8(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                               const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col)
{
    const int g = p->groups > 1 ? p->groups : 1;
    if (col == 0 || p->in_c % g != 0 || p->out_c % g != 0 || p->out_h != p->in_h || p->out_w != p->in_w) {
        return KWS_NN_ARG_ERROR;
    }
    if (p->k_h != 1 || p->k_w != 1 || p->stride_h != 1 || p->stride_w != 1 || p->pad_h != 0 || p->pad_w != 0) {
        return KWS_NN_NO_IMPL_ERROR;                       /* a 1x1 convolution, stride 1, no padding only */
    }
    const int ic = p->in_c / g, oc = p->out_c / g;
    for (int k = 0; k < g; k++) {
        pw_group(p, in + k * ic, p->in_c, ic, w + k * ic * oc, bias + k * oc, mult + k * oc, shift + k * oc,
                 out + k * oc, p->out_c, oc, col);
    }
    return KWS_NN_SUCCESS;
}
