/* Int8 kernels; see kws_nn.h. Each mirrors the TFLM reference kernel named beside it. */
#include "kws_nn.h"

/* gemmlowp SaturatingRoundingDoublingHighMul */
static inline int32_t srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));   /* C division: truncation, as gemmlowp */
}

/* gemmlowp RoundingDivideByPOT */
static inline int32_t rdbpot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLM MultiplyByQuantizedMultiplier (double rounding, the default build). */
int32_t kws_nn_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return rdbpot(srdhm((int32_t)((uint32_t)acc << left), multiplier), right);
}

static inline int8_t clamp8(int32_t v, int8_t lo, int8_t hi)
{
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}

/* reference_integer_ops::ConvPerChannel */
void kws_nn_conv2d(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                   const int32_t *mult, const int8_t *shift, int8_t *out)
{
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            for (int oc = 0; oc < p->out_c; oc++) {
                int32_t acc = 0;
                const int8_t *wc = &w[oc * p->k_h * p->k_w * p->in_c];
                for (int ky = 0; ky < p->k_h; ky++) {
                    const int iy = iy0 + ky;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (int kx = 0; kx < p->k_w; kx++) {
                        const int ix = ix0 + kx;
                        if (ix < 0 || ix >= p->in_w) {
                            continue;
                        }
                        const int8_t *x = &in[(iy * p->in_w + ix) * p->in_c];
                        const int8_t *k = &wc[(ky * p->k_w + kx) * p->in_c];
                        for (int ic = 0; ic < p->in_c; ic++) {
                            acc += (int32_t)k[ic] * ((int32_t)x[ic] + p->in_offset);
                        }
                    }
                }
                acc += bias ? bias[oc] : 0;
                acc = kws_nn_requantize(acc, mult[oc], shift[oc]) + p->out_offset;
                out[(oy * p->out_w + ox) * p->out_c + oc] = clamp8(acc, p->act_min, p->act_max);
            }
        }
    }
}

/* reference_integer_ops::DepthwiseConvPerChannel, depth multiplier 1 */
void kws_nn_dwconv2d(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                     const int32_t *mult, const int8_t *shift, int8_t *out)
{
    for (int oy = 0; oy < p->out_h; oy++) {
        const int iy0 = oy * p->stride_h - p->pad_h;
        for (int ox = 0; ox < p->out_w; ox++) {
            const int ix0 = ox * p->stride_w - p->pad_w;
            for (int c = 0; c < p->out_c; c++) {
                int32_t acc = 0;
                for (int ky = 0; ky < p->k_h; ky++) {
                    const int iy = iy0 + ky;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (int kx = 0; kx < p->k_w; kx++) {
                        const int ix = ix0 + kx;
                        if (ix < 0 || ix >= p->in_w) {
                            continue;
                        }
                        acc += (int32_t)w[(ky * p->k_w + kx) * p->out_c + c] *
                               ((int32_t)in[(iy * p->in_w + ix) * p->in_c + c] + p->in_offset);
                    }
                }
                acc += bias ? bias[c] : 0;
                acc = kws_nn_requantize(acc, mult[c], shift[c]) + p->out_offset;
                out[(oy * p->out_w + ox) * p->out_c + c] = clamp8(acc, p->act_min, p->act_max);
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
        acc = kws_nn_requantize(acc, mult[q], shift[q]) + p->out_offset;
        out[o] = clamp8(acc, p->act_min, p->act_max);
    }
}
