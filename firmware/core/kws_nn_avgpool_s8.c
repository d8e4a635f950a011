/* Average pooling, int8, whole and row by row for the streaming network (kws_nn_avgpool_s8,
 * kws_nn_avgpool_row_sums_s8, kws_nn_avgpool_sums_s8; TFLM reference_integer_ops::AveragePool). */
#include "kws_nn_support.h"

/* reference_integer_ops::AveragePool (same input and output quantization) */
kws_nn_status kws_nn_avgpool_s8(const kws_nn_conv_t *p, const int8_t *in, int8_t *out)
{
    if (p->in_c != p->out_c || p->k_h == 0 || p->k_w == 0) {
        return KWS_NN_ARG_ERROR;
    }
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
        return KWS_NN_SUCCESS;
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
    return KWS_NN_SUCCESS;
}

void kws_nn_avgpool_row_sums_s8(const int8_t *row, int w, int c, int16_t *sums, int add)
{
    for (int ch = 0; ch < c; ch++) {
        int32_t acc = add ? sums[ch] : 0;
        for (int x = 0; x < w; x++) {
            acc += row[x * c + ch];
        }
        sums[ch] = (int16_t)acc;
    }
}

/* The same sum over every input of the map as kws_nn_avgpool_s8, taken row by row: equal results. */
kws_nn_status kws_nn_avgpool_sums_s8(const kws_nn_conv_t *p, const int16_t *sums, int rows, int8_t *out)
{
    if (p->in_h == 0 || p->in_w == 0 || rows <= 0) {
        return KWS_NN_ARG_ERROR;
    }
    const int32_t count = (int32_t)p->in_h * p->in_w;
    for (int c = 0; c < p->in_c; c++) {
        int32_t acc = 0;
        for (int r = 0; r < rows; r++) {
            acc += sums[r * p->in_c + c];
        }
        acc = round_avg(acc, count);
        out[c] = clamp8(acc, p->act_min, p->act_max);
    }
    return KWS_NN_SUCCESS;
}
