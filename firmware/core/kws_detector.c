#include "kws_detector.h"

void kws_det_reset(kws_det_t *d)
{
    d->count = 0;
    d->pos = 0;
    d->hold = 0;
    kws_det_set_thresholds(d, kws_det_threshold);
}

void kws_det_set_thresholds(kws_det_t *d, const uint16_t thr[KWS_NET_OUTPUT_SIZE])
{
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        d->thr[i] = thr[i];
    }
}

int kws_det_push(kws_det_t *d, const int8_t logits[KWS_NET_OUTPUT_SIZE], uint32_t *score)
{
    int32_t m = logits[0];
    for (unsigned i = 1; i < KWS_NET_OUTPUT_SIZE; i++) {
        m = logits[i] > m ? logits[i] : m;
    }
    uint32_t e[KWS_NET_OUTPUT_SIZE], sum = 0;
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        const uint32_t dist = (uint32_t)(m - logits[i]);
        e[i] = dist < KWS_DET_EXP_LEN ? kws_det_exp_lut[dist] : 0u;   /* the table ends where exp() rounds to 0 */
        sum += e[i];
    }
    uint32_t *slot = d->hist[d->pos];
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        slot[i] = (e[i] << KWS_DET_FRAC) / sum;               /* sum >= 2^FRAC: the max's entry */
    }
    d->pos = (d->pos + 1u) % KWS_DET_SMOOTH;
    if (d->count < KWS_DET_SMOOTH) {
        d->count++;
    }
    if (d->hold > 0) {
        d->hold--;
        return -1;
    }
    int best = -1;
    uint32_t best_sum = 0;
    for (unsigned k = KWS_DET_FIRST_KEYWORD; k < KWS_NET_OUTPUT_SIZE; k++) {
        uint32_t s = 0;
        for (unsigned r = 0; r < d->count; r++) {
            s += d->hist[r][k];
        }
        if (s >= (uint32_t)d->thr[k] * KWS_DET_SMOOTH && (best < 0 || s > best_sum)) {
            best = (int)k;
            best_sum = s;
        }
    }
    if (best >= 0) {
        d->hold = KWS_DET_REFRACTORY;
        *score = best_sum / KWS_DET_SMOOTH;
    }
    return best;
}
