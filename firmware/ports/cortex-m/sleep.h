/* Sleeping until an interrupt without missing one. The caller checks for work with interrupts
 * masked (PRIMASK): an interrupt arriving after the check stays pending, WFI wakes on a pending
 * interrupt even while they are masked, and its handler runs as soon as they are unmasked. So an
 * input that arrives between the check and the sleep cannot leave the core asleep. */
#ifndef KWS_SLEEP_H
#define KWS_SLEEP_H

#include "rx_ring.h"

static inline void kws_irq_mask(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void kws_irq_unmask(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

static inline void kws_wfi(void)
{
    __asm__ volatile("dsb\n\twfi" ::: "memory");
}

/* Microphone ports: a block is waiting for the app (pdm_mic.c, mic_file.c). The serial ports
 * define a weak 0 for builds without a microphone. */
int kws_port_mic_ready(void);

/* kws_port_wait of a serial port: asleep until an interrupt, unless a byte or a block waits. */
static inline void kws_sleep_unless_input(const kws_rx_ring_t *rx)
{
    kws_irq_mask();
    if (kws_rx_empty(rx) && !kws_port_mic_ready()) {
        kws_wfi();
    }
    kws_irq_unmask();
}

#endif /* KWS_SLEEP_H */
