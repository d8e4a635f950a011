/* STM32F4 serial (one USART, received through its interrupt into a ring), shared by the board port
 * (ports/stm32f4) and the emulator port (ports/qemu-stm32f4). Each supplies board.h (which
 * USART, its BRR, the system clock; found on the include path, so this directory has none) and
 * board.c (clocks and pins; exit). */
#include <stdint.h>

#include "board.h"
#include "kws_port.h"
#include "rx_ring.h"
#include "sleep.h"
#include "systick.h"

#define USART_SR (*(volatile uint32_t *)(KWS_USART_BASE + 0x00u))
#define USART_DR (*(volatile uint32_t *)(KWS_USART_BASE + 0x04u))
#define USART_BRR (*(volatile uint32_t *)(KWS_USART_BASE + 0x08u))
#define USART_CR1 (*(volatile uint32_t *)(KWS_USART_BASE + 0x0Cu))
#define SR_ORE (1u << 3)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)


static kws_rx_ring_t rx;
static volatile uint32_t rx_overruns;

#define NVIC_ISER ((volatile uint32_t *)0xE000E100u)

void kws_port_init(void)
{
    kws_board_init();                                 /* clocks, pins (board.c) */
    USART_BRR = KWS_USART_BRR;
    USART_CR1 = (1u << 13) | (1u << 5) | (1u << 3) | (1u << 2);   /* UE, RXNEIE, TE, RE */
    NVIC_ISER[KWS_USART_IRQ / 32u] = 1u << (KWS_USART_IRQ % 32u);
    kws_systick_start();
}

void kws_port_write(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(USART_SR & SR_TXE)) {
        }
        USART_DR = buf[i];
    }
}

void kws_port_irq(void);
void kws_port_irq(void)
{
    const uint32_t sr = USART_SR;
    if (sr & SR_ORE) {
        rx_overruns++;                                /* lost in hardware: the protocol's CRC/sequence sees it */
    }
    if (sr & (SR_RXNE | SR_ORE)) {
        kws_rx_put(&rx, (uint8_t)(USART_DR & 0xFFu)); /* reading DR clears RXNE and ORE */
    }
}

uint32_t kws_port_rx_lost(void)
{
    return rx.dropped + rx_overruns;
}

int kws_port_read_byte(void)
{
    return kws_rx_get(&rx);
}

/* Builds without a microphone: no block ever waits (pdm_mic.c / mic_file.c define the real one). */
int kws_port_mic_ready(void) __attribute__((weak));
int kws_port_mic_ready(void)
{
    return 0;
}

void kws_port_wait(void)
{
    kws_sleep_unless_input(&rx);
}

uint32_t kws_port_tick_hz(void)
{
    return KWS_SYSCLK_HZ;
}
