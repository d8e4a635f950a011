/* The tick counter of every Cortex-M port: SysTick at the core clock, 24-bit down-counter
 * extended to 64 bits by counting its wraps in the interrupt. */
#include <stdint.h>

#include "kws_port.h"
#include "systick.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYSTICK_RELOAD 0x00FFFFFFu

static volatile uint32_t systick_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    systick_wraps++;
}

void kws_systick_start(void)
{
    SYST_RVR = SYSTICK_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7u;                                    /* processor clock, interrupt, enable */
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
