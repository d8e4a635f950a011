/* Arduino Nano 33 BLE Sense (nRF52840, 64 MHz Cortex-M4F): HFXO clock, serial on the header
 * pins TX = D1 (P1.03) and RX = D0 (P1.10) through the legacy UART0 at 1 Mbaud (connect a
 * 3.3 V USB-serial adapter; the board's own USB port would need a USB device stack), SysTick
 * tick counter at the core clock. Register map: nRF52840 Product Specification v1.7. */
#include <stdint.h>

#include "kws_port.h"
#include "rx_ring.h"
#include "sleep.h"
#include "systick.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define CLOCK 0x40000000u
#define UART0 0x40002000u
#define UART_STARTRX REG(UART0 + 0x000u)
#define UART_STARTTX REG(UART0 + 0x008u)
#define UART_RXDRDY REG(UART0 + 0x108u)
#define UART_TXDRDY REG(UART0 + 0x11Cu)
#define UART_ERROR REG(UART0 + 0x124u)
#define UART_ERRORSRC REG(UART0 + 0x480u)
#define UART_INTENSET REG(UART0 + 0x304u)
#define UART_ENABLE REG(UART0 + 0x500u)
#define UART_PSEL_TXD REG(UART0 + 0x50Cu)
#define UART_PSEL_RXD REG(UART0 + 0x514u)
#define UART_RXD REG(UART0 + 0x518u)
#define UART_TXD REG(UART0 + 0x51Cu)
#define UART_BAUDRATE REG(UART0 + 0x524u)
#define PIN_TX ((1u << 5) | 3u)     /* P1.03 */
#define PIN_RX ((1u << 5) | 10u)    /* P1.10 */
#define BAUD_1M 0x10000000u

#define SYSCLK_HZ 64000000u

#define UART0_IRQ 2u
#define NVIC_ISER0 REG(0xE000E100u)

static kws_rx_ring_t rx;
static volatile uint32_t rx_errors;

void kws_port_init(void)
{
    REG(CLOCK + 0x000u) = 1u;                         /* TASKS_HFCLKSTART: the crystal, for exact audio rates */
    while (!REG(CLOCK + 0x100u)) {
    }
    REG(CLOCK + 0x100u) = 0;
    UART_PSEL_TXD = PIN_TX;
    UART_PSEL_RXD = PIN_RX;
    UART_BAUDRATE = BAUD_1M;
    UART_ENABLE = 4u;                                 /* legacy UART (6-byte RX FIFO, no DMA) */
    UART_STARTTX = 1u;
    UART_STARTRX = 1u;
    UART_INTENSET = (1u << 2) | (1u << 9);            /* RXDRDY, ERROR */
    NVIC_ISER0 = 1u << UART0_IRQ;
    kws_systick_start();
}

void kws_port_write(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        UART_TXDRDY = 0;
        UART_TXD = buf[i];
        while (!UART_TXDRDY) {
        }
    }
}

/* The PDM driver's interrupt work (pdm_mic.c); nothing in builds without the microphone. */
void kws_pdm_irq(void) __attribute__((weak));
void kws_pdm_irq(void)
{
}

void kws_port_irq(void);
void kws_port_irq(void)
{
    kws_pdm_irq();
    if (UART_ERROR) {                                 /* overrun, framing: the protocol's CRC sees the damage */
        UART_ERROR = 0;
        UART_ERRORSRC = 0xFu;
        rx_errors++;
    }
    while (UART_RXDRDY) {
        UART_RXDRDY = 0;
        kws_rx_put(&rx, (uint8_t)(UART_RXD & 0xFFu));
    }
}

uint32_t kws_port_rx_lost(void)
{
    return rx.dropped + rx_errors;
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
    return SYSCLK_HZ;
}

void kws_port_exit(int code)
{
    (void)code;
    for (;;) {
        __asm__ volatile("wfi");
    }
}
