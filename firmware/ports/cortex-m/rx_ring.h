/* Serial receive ring filled by the UART interrupt, drained by kws_port_read_byte(): bytes
 * keep arriving while the core computes a network run (75 ms), far more than a UART's one-byte
 * (STM32) or six-byte (nRF52) buffer holds. Single producer (IRQ), single consumer (main). */
#ifndef KWS_RX_RING_H
#define KWS_RX_RING_H

#include <stdint.h>

#include "kws_link.h"

/* Everything the host may have in flight (kws_link.h); one slot stays empty to tell full from empty. */
#define KWS_RX_RING (KWS_LINK_RX_RING + 1u)

typedef struct {
    volatile uint8_t buf[KWS_RX_RING];
    volatile uint32_t head;        /* next slot to write, in [0, KWS_RX_RING); written by the IRQ */
    volatile uint32_t tail;        /* next slot to read; written by main */
    volatile uint32_t dropped;     /* bytes that found the ring full */
} kws_rx_ring_t;

static inline uint32_t kws_rx_next(uint32_t i)
{
    return i + 1u == KWS_RX_RING ? 0u : i + 1u;
}

static inline void kws_rx_put(kws_rx_ring_t *r, uint8_t b)
{
    const uint32_t h = r->head;
    if (kws_rx_next(h) == r->tail) {
        r->dropped++;
        return;
    }
    r->buf[h] = b;
    r->head = kws_rx_next(h);
}

static inline int kws_rx_empty(const kws_rx_ring_t *r)
{
    return r->head == r->tail;
}

static inline int kws_rx_get(kws_rx_ring_t *r)
{
    const uint32_t t = r->tail;
    if (t == r->head) {
        return -1;
    }
    const int b = r->buf[t];
    r->tail = kws_rx_next(t);
    return b;
}

#endif /* KWS_RX_RING_H */
