#include "kws_monitor.h"

void kws_mon_reset(kws_mon_t *m)
{
    m->frames = m->weight = m->halvings = 0;
    m->limit = KWS_MON_LIMIT;
    for (unsigned c = 0; c < KWS_MON_COEFFS; c++) {
        for (unsigned b = 0; b < KWS_MON_BINS; b++) {
            m->hist[c][b] = 0;
        }
        m->sum[c] = 0;
        m->sumsq[c] = 0;
    }
}

static void halve(kws_mon_t *m)
{
    for (unsigned c = 0; c < KWS_MON_COEFFS; c++) {
        for (unsigned b = 0; b < KWS_MON_BINS; b++) {
            m->hist[c][b] = (uint16_t)(m->hist[c][b] >> 1);
        }
        /* floor division by 2 for negative sums too (an arithmetic shift is implementation-defined) */
        m->sum[c] = m->sum[c] >= 0 ? m->sum[c] / 2 : -((-m->sum[c] + 1) / 2);
        m->sumsq[c] >>= 1;
    }
    m->weight >>= 1;
    m->halvings++;
}

void kws_mon_push(kws_mon_t *m, const int8_t frame[KWS_MON_COEFFS])
{
    int full = 0;
    for (unsigned c = 0; c < KWS_MON_COEFFS; c++) {
        const int32_t v = frame[c];
        const unsigned b = (unsigned)(v + 128) >> KWS_MON_BIN_SHIFT;
        m->hist[c][b]++;
        full |= m->hist[c][b] >= m->limit;
        m->sum[c] += v;
        m->sumsq[c] += (uint64_t)(v * v);
    }
    m->frames++;
    m->weight++;
    if (full) {
        halve(m);
    }
}

static uint8_t *put(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        *p++ = (uint8_t)(v >> (8u * i));
    }
    return p;
}

size_t kws_mon_serialize(const kws_mon_t *m, uint8_t *out)
{
    uint8_t *p = put(out, m->frames, 4);
    p = put(p, m->weight, 4);
    p = put(p, m->halvings, 4);
    p = put(p, KWS_MON_COEFFS, 1);
    p = put(p, KWS_MON_BINS, 1);
    p = put(p, m->limit, 2);
    for (unsigned c = 0; c < KWS_MON_COEFFS; c++) {
        for (unsigned b = 0; b < KWS_MON_BINS; b++) {
            p = put(p, m->hist[c][b], 2);
        }
    }
    for (unsigned c = 0; c < KWS_MON_COEFFS; c++) {
        p = put(p, (uint32_t)m->sum[c], 4);
    }
    for (unsigned c = 0; c < KWS_MON_COEFFS; c++) {
        p = put(p, m->sumsq[c], 8);
    }
    return (size_t)(p - out);
}
