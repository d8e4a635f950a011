/* Port for QEMU's netduinoplus2 (STM32F405): USART1 serial, SysTick tick counter,
 * semihosting exit. RCC is not modelled by QEMU 7.2, so no clock setup is needed. */
#include <stdint.h>

#include "kws_port.h"
#include "semihost.h"

#define USART1_BASE 0x40011000u
#define USART_SR (*(volatile uint32_t *)(USART1_BASE + 0x00u))
#define USART_DR (*(volatile uint32_t *)(USART1_BASE + 0x04u))
#define USART_BRR (*(volatile uint32_t *)(USART1_BASE + 0x08u))
#define USART_CR1 (*(volatile uint32_t *)(USART1_BASE + 0x0Cu))
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYSTICK_RELOAD 0x00FFFFFFu

/* QEMU's STM32F405 SysTick runs at the modelled 168 MHz system clock. With -icount shift=0 one
 * instruction advances virtual time by 1 ns, so instructions = ticks * 1e9 / 168e6. */
#define SYSCLK_HZ 168000000u

static volatile uint32_t systick_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    systick_wraps++;
}

void kws_port_init(void)
{
    USART_BRR = 0x16Du;
    USART_CR1 = (1u << 13) | (1u << 3) | (1u << 2);   /* UE, TE, RE */
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7u;                                    /* processor clock, interrupt, enable */
}

void kws_port_write(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(USART_SR & SR_TXE)) {
        }
        USART_DR = buf[i];
    }
}

int kws_port_read_byte(void)
{
    return (USART_SR & SR_RXNE) ? (int)(USART_DR & 0xFFu) : -1;
}

uint64_t kws_port_ticks(void)
{
    uint32_t w1, w2, v;
    do {
        w1 = systick_wraps;
        v = SYST_CVR;
        w2 = systick_wraps;
    } while (w1 != w2);
    return (uint64_t)w1 * (SYSTICK_RELOAD + 1u) + (SYSTICK_RELOAD - v);
}

uint32_t kws_port_tick_hz(void)
{
    return SYSCLK_HZ;
}

void kws_port_exit(int code)
{
    semihost_exit(code);
}
