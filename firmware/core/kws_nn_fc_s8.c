/* Fully connected, int8 (kws_nn_fc_s8; TFLM reference_integer_ops::FullyConnected and
 * FullyConnectedPerChannel). */
#include "kws_nn_support.h"

/* reference_integer_ops::FullyConnected / FullyConnectedPerChannel (weights zero point 0) */
kws_nn_status kws_nn_fc_s8(const kws_nn_fc_t *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                           const int32_t *mult, const int8_t *shift, int8_t *out)
{
    if (p->in_depth == 0) {
        return KWS_NN_ARG_ERROR;
    }
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
    return KWS_NN_SUCCESS;
}
