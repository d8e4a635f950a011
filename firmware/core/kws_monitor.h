/* Feature monitor: running statistics of the int8 features the device computes, for drift
 * detection on the host (kws drift). Per cepstral coefficient: a histogram of KWS_MON_BINS
 * bins ((v + 128) >> KWS_MON_BIN_SHIFT), the sum and the sum of squares; when a bin reaches
 * KWS_MON_LIMIT every count, sum and the weight are halved (floor), so the statistics follow
 * the recent distribution with a fixed footprint. Identical to host/kws/reference/monitor/__init__.py, bit for
 * bit; constants come from the spec's [monitor] section (kws_mon_config.h, generated with the front end). */
#ifndef KWS_MONITOR_H
#define KWS_MONITOR_H

#include <stddef.h>
#include <stdint.h>

#include "kws_fe_config.h"
#include "kws_mon_config.h"

#define KWS_MON_COEFFS KWS_FE_NUM_CEPSTRA
#define KWS_MON_BINS (256u >> KWS_MON_BIN_SHIFT)
/* Serialized size: header 16 B, histograms, sums, sums of squares (docs/protocol.md, MONITOR). */
#define KWS_MON_BYTES (16u + KWS_MON_COEFFS * (KWS_MON_BINS * 2u + 4u + 8u))

typedef struct {
    uint32_t frames;                              /* frames seen since reset (wraps at 2^32) */
    uint32_t weight;                              /* frames in the statistics, halved with them */
    uint32_t halvings;
    uint32_t limit;                               /* KWS_MON_LIMIT after reset (tests may lower it) */
    uint16_t hist[KWS_MON_COEFFS][KWS_MON_BINS];
    int32_t sum[KWS_MON_COEFFS];
    uint64_t sumsq[KWS_MON_COEFFS];
} kws_mon_t;

void kws_mon_reset(kws_mon_t *m);
void kws_mon_push(kws_mon_t *m, const int8_t frame[KWS_MON_COEFFS]);
/* Writes KWS_MON_BYTES little-endian bytes; returns that count. */
size_t kws_mon_serialize(const kws_mon_t *m, uint8_t *out);

#endif /* KWS_MONITOR_H */
