/* QEMU netduinoplus2 (STM32F405): USART1 is serial0; RCC is not modelled by QEMU 7.2 (no clock
 * setup). SysTick runs at the modelled 168 MHz: with -icount shift=0 one instruction advances
 * virtual time by 1 ns, so instructions = ticks * 1e9 / 168e6. */
#ifndef KWS_BOARD_H
#define KWS_BOARD_H

#define KWS_USART_BASE 0x40011000u
#define KWS_USART_IRQ 37u
#define KWS_USART_BRR 0x16Du
#define KWS_SYSCLK_HZ 168000000u

void kws_board_init(void);

#endif /* KWS_BOARD_H */
