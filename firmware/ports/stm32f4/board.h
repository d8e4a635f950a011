/* NUCLEO-F411RE (STM32F411RE): USART2 on PA2/PA3 is the ST-LINK virtual COM port. The PLL
 * runs the core at 84 MHz from the 16 MHz HSI; APB1 (USART2) at 42 MHz; 921600 baud
 * (42 MHz / (16 x 45.5625), 0.02 % off), fast enough for 16 kHz int16 audio (32 kB/s). */
#ifndef KWS_BOARD_H
#define KWS_BOARD_H

#define KWS_USART_BASE 0x40004400u
#define KWS_USART_IRQ 38u
#define KWS_USART_BRR ((45u << 4) | 9u)
#define KWS_SYSCLK_HZ 84000000u

void kws_board_init(void);

#endif /* KWS_BOARD_H */
