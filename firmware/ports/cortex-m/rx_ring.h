/* Serial receive ring filled by the UART interrupt, drained by kws_port_read_byte(): bytes
 * keep arriving while the core computes a network run (75 ms), far more than a UART's one-byte
 * (STM32) or six-byte (nRF52) buffer holds. Single producer (IRQ), single consumer (main). */
#ifndef KWS_RX_RING_H
#define KWS_RX_RING_H

#include <stdint.h>

#define KWS_RX_RING 2048u          /* two AUDIO frames in flight (credits) and then some; power of two */

typedef struct {
    volatile uint8_t buf[KWS_RX_RING];
    volatile uint32_t head;        /* written by the IRQ */
    volatile uint32_t tail;        /* written by main */
    volatile uint32_t dropped;     /* bytes that found the ring full */
} kws_rx_ring_t;

static inline void kws_rx_put(kws_rx_ring_t *r, uint8_t b)
{
    const uint32_t h = r->head;
    if (h - r->tail >= KWS_RX_RING) {
        r->dropped++;
        return;
    }
    r->buf[h & (KWS_RX_RING - 1u)] = b;
    r->head = h + 1u;
}

static inline int kws_rx_get(kws_rx_ring_t *r)
{
    const uint32_t t = r->tail;
    if (t == r->head) {
        return -1;
    }
    const int b = r->buf[t & (KWS_RX_RING - 1u)];
    r->tail = t + 1u;
    return b;
}

#endif /* KWS_RX_RING_H */
