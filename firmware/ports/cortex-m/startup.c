/* Reset and vector table of every Cortex-M4F port (STM32F4 board, QEMU netduinoplus2,
 * nRF52840): data/bss init, stack paint for the high-water mark, FPU on, main. */
#include <stdint.h>

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_top;

#define STACK_PAINT 0xC0DEC0DEu

/* Bytes of stack ever used: the painted region below the stack top that has been written. */
uint32_t kws_port_stack_peak(void);
uint32_t kws_port_stack_peak(void)
{
    const uint32_t *p = &_bss_end;
    while (p < &_stack_top && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&_stack_top - (uintptr_t)p);
}
extern int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void);

void Default_Handler(void)
{
    for (;;) {
    }
}

/* Every device interrupt lands in the port's kws_port_irq(), which checks its own peripheral
 * (a port enables one or two); without one, an interrupt that fires is a bug: it parks here. */
void kws_port_irq(void) __attribute__((weak, alias("Default_Handler")));

#define EXTERNAL_IRQS 48          /* covers nRF52840 (48) and the STM32F4 USARTs (IRQ 37, 38) */
#define X4 kws_port_irq, kws_port_irq, kws_port_irq, kws_port_irq
#define X16 X4, X4, X4, X4

typedef void (*handler_t)(void);
struct vector_table {
    const void *stack_top;
    handler_t handlers[15];   /* Reset, NMI, HardFault, MemManage, BusFault, UsageFault, 4 reserved,
                                 SVCall, DebugMon, reserved, PendSV, SysTick */
    handler_t irq[EXTERNAL_IRQS];
};

__attribute__((section(".isr_vector"), used)) static const struct vector_table vectors = {
    &_stack_top,
    {Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, 0, 0, 0, 0,
     Default_Handler, Default_Handler, 0, Default_Handler, SysTick_Handler},
    {X16, X16, X16},
};

void Reset_Handler(void)
{
    uint32_t *src = &_data_load, *dst = &_data_start;
    while (dst < &_data_end) {
        *dst++ = *src++;
    }
    for (dst = &_bss_start; dst < &_bss_end; dst++) {
        *dst = 0;
    }
    /* Paint the free RAM up to a little below the current stack pointer (high-water mark). */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (dst = &_bss_end; dst < sp - 16; dst++) {
        *dst = STACK_PAINT;
    }
    /* Enable the FPU (CP10, CP11 full access): the hard-float ABI may use its registers. */
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
    __asm__ volatile("dsb\n isb");
    (void)main();
    for (;;) {
    }
}
