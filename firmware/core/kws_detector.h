/* Streaming detector: integer softmax posteriors, smoothing over the last KWS_DET_SMOOTH
 * network runs, per-class thresholds, refractory period. Identical to host/kws/reference/detector.py,
 * event for event; its constants and tables come with the generated network (kws_det_config.h). */
#ifndef KWS_DETECTOR_H
#define KWS_DETECTOR_H

#include <stdint.h>

#include "kws_det_config.h"

typedef struct {
    uint32_t hist[KWS_DET_SMOOTH][KWS_NET_OUTPUT_SIZE];   /* posteriors, Q(KWS_DET_FRAC) */
    uint32_t count;                                       /* runs in hist (<= KWS_DET_SMOOTH) */
    uint32_t pos;                                         /* next slot */
    uint32_t hold;                                        /* runs left in the refractory period */
    uint16_t thr[KWS_NET_OUTPUT_SIZE];                    /* this session's thresholds, Q(KWS_DET_FRAC) */
} kws_det_t;

/* A new session: no history, no refractory period, the built-in thresholds (kws_det_threshold). */
void kws_det_reset(kws_det_t *d);

/* Per-class thresholds for the rest of this session, Q(KWS_DET_FRAC) (the host's THRESHOLDS_REQ,
 * docs/protocol.md): the next network run decides with them. Classes below KWS_DET_FIRST_KEYWORD
 * never fire whatever their entry; a threshold above 2^KWS_DET_FRAC (1.0) never fires. */
void kws_det_set_thresholds(kws_det_t *d, const uint16_t thr[KWS_NET_OUTPUT_SIZE]);

/* One network run's int8 logits. Returns the class that fires (>= KWS_DET_FIRST_KEYWORD) and
 * its smoothed score in *score (Q(KWS_DET_FRAC)), or -1. */
int kws_det_push(kws_det_t *d, const int8_t logits[KWS_NET_OUTPUT_SIZE], uint32_t *score);

#endif /* KWS_DETECTOR_H */
