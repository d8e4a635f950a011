/* Int8 network kernels, bit-exact with TFLM's reference kernels (TFLM is the oracle; tests
 * compare every output). Plain C99, integer-only, no malloc: the generated network
 * (firmware/generated/<model>/kws_net.c) calls them in a fixed sequence with const parameters.
 *
 * Layout NHWC with N = 1. Quantization as in TFLite: real = scale * (q - zero_point);
 * weights symmetric (zero point 0), per output channel for conv / depthwise, per tensor or
 * per channel for fully connected. Requantization: MultiplyByQuantizedMultiplier with
 * TFLM's default double rounding (SaturatingRoundingDoublingHighMul + RoundingDivideByPOT). */
#ifndef KWS_NN_H
#define KWS_NN_H

#include <stdint.h>

typedef struct {
    uint16_t in_h, in_w, in_c;      /* input map */
    uint16_t out_h, out_w, out_c;   /* output map */
    uint8_t k_h, k_w;               /* kernel */
    uint8_t stride_h, stride_w;
    uint8_t pad_h, pad_w;           /* padding before (top, left) */
    int16_t in_offset;              /* -input zero point */
    int16_t out_offset;             /* output zero point */
    int8_t act_min, act_max;        /* fused activation, in output units */
    uint8_t groups;                 /* 1x1 only: block-diagonal groups (0 or 1: dense) */
} kws_nn_conv_t;

typedef struct {
    uint16_t in_depth, out_depth;
    int16_t in_offset, out_offset;
    int8_t act_min, act_max;
    uint8_t per_channel;            /* 1: mult/shift per output, 0: one for all */
} kws_nn_fc_t;

/* Every operator returns a status, as CMSIS-NN's do: KWS_NN_SUCCESS, or an error for parameters
 * it cannot compute (nothing written then). The generated network checks each one (KWS_NN_TRY). */
typedef enum {
    KWS_NN_SUCCESS = 0,
    KWS_NN_ARG_ERROR = -1,          /* inconsistent parameters, or a scratch buffer missing */
    KWS_NN_NO_IMPL_ERROR = -2       /* consistent, but not a case this kernel computes */
} kws_nn_status;

#define KWS_NN_TRY(call)                                                                      \
    do {                                                                                      \
        const kws_nn_status st_ = (call);                                                     \
        if (st_ != KWS_NN_SUCCESS) {                                                          \
            return st_;                                                                       \
        }                                                                                     \
    } while (0)

int32_t kws_nn_requantize(int32_t acc, int32_t multiplier, int32_t shift);

/* 1x1 convolution, stride 1, no padding: ``bias`` has the input offset folded in by the
 * generator (bias + in_offset * sum(w)), so the inner loop is a plain int8 dot product.
 * Weights: pairs of output channels interleaved by groups of four inputs when in_c % 4 == 0
 * and out_c is even (4-byte aligned), else [out_c][in_c]. ``col``: scratch of
 * kws_nn_pwconv_s8_get_buffer_size bytes (caller-owned, 4-byte aligned). ``groups`` > 1: out_c /
 * groups outputs read only their own in_c / groups inputs; the weights hold each group's block
 * in that layout, one after another. */
kws_nn_status kws_nn_pwconv_s8(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                               const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col);
int32_t kws_nn_pwconv_s8_get_buffer_size(const kws_nn_conv_t *p);   /* bytes of ``col`` */
/* General convolution: im2col columns in ``col`` (caller-owned, 4-byte aligned, of
 * kws_nn_conv_s8_get_buffer_size bytes: two columns of k_h * k_w * in_c int16 rounded up to 4
 * entries), holding x + in_offset (0 for padding). */
kws_nn_status kws_nn_conv_s8(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                             const int32_t *mult, const int8_t *shift, int8_t *out, int16_t *col);
int32_t kws_nn_conv_s8_get_buffer_size(const kws_nn_conv_t *p);     /* bytes of ``col`` */
/* Depthwise, depth multiplier 1. ``bias_in`` = bias + in_offset * sum of all the channel's taps
 * (generator-computed); positions at the input's border take in_offset * (their taps outside it)
 * back off, so one bias array serves every position. No scratch. */
kws_nn_status kws_nn_dwconv_s8(const kws_nn_conv_t *p, const int8_t *in, const int8_t *w, const int32_t *bias_in,
                               const int32_t *mult, const int8_t *shift, int8_t *out);
kws_nn_status kws_nn_avgpool_s8(const kws_nn_conv_t *p, const int8_t *in, int8_t *out);
/* Global average pooling in two halves, for the streaming network: ``kws_nn_avgpool_row_sums_s8``
 * keeps one row [w][c] as its per-channel sums over w (int16: exact for up to 256 values summed),
 * or adds them to ``sums`` (``add``: several rows in one entry), and ``kws_nn_avgpool_sums_s8``
 * finishes the pool of ``rows`` such entries exactly as kws_nn_avgpool_s8 does on the whole map
 * (p: that pool's parameters; the count comes from p). */
void kws_nn_avgpool_row_sums_s8(const int8_t *row, int w, int c, int16_t *sums, int add);
kws_nn_status kws_nn_avgpool_sums_s8(const kws_nn_conv_t *p, const int16_t *sums, int rows, int8_t *out);
kws_nn_status kws_nn_fc_s8(const kws_nn_fc_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                           const int32_t *mult, const int8_t *shift, int8_t *out);

#endif /* KWS_NN_H */
