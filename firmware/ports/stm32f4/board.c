/* NUCLEO-F411RE clocks and pins (RM0383): HSI 16 MHz -> PLL (M 16, N 336, P 4) = 84 MHz
 * SYSCLK, AHB /1, APB1 /2 (42 MHz), APB2 /1; flash 2 wait states; USART2 TX/RX on PA2/PA3
 * (AF7). Exit halts: a board has nowhere to return to. */
#include <stdint.h>

#include "board.h"
#include "kws_port.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define RCC 0x40023800u
#define RCC_CR REG(RCC + 0x00u)
#define RCC_PLLCFGR REG(RCC + 0x04u)
#define RCC_CFGR REG(RCC + 0x08u)
#define RCC_AHB1ENR REG(RCC + 0x30u)
#define RCC_APB1ENR REG(RCC + 0x40u)
#define FLASH_ACR REG(0x40023C00u)
#define GPIOA 0x40020000u
#define GPIOA_MODER REG(GPIOA + 0x00u)
#define GPIOA_AFRL REG(GPIOA + 0x20u)

void kws_board_init(void)
{
    FLASH_ACR = (1u << 10) | (1u << 9) | (1u << 8) | 2u;        /* D-cache, I-cache, prefetch, 2 WS */
    RCC_PLLCFGR = (16u << 0) | (336u << 6) | (1u << 16) | (0u << 22) | (7u << 24);  /* M, N, P=4, HSI, Q=7 */
    RCC_CR |= 1u << 24;                                         /* PLL on */
    while (!(RCC_CR & (1u << 25))) {
    }
    RCC_CFGR = (RCC_CFGR & ~0xFCF3u) | (4u << 10) | 2u;         /* APB1 /2, SYSCLK = PLL */
    while ((RCC_CFGR & 0xCu) != 0x8u) {
    }
    RCC_AHB1ENR |= 1u << 0;                                     /* GPIOA */
    RCC_APB1ENR |= 1u << 17;                                    /* USART2 */
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 4)) | (0xAu << 4);   /* PA2, PA3 alternate function */
    GPIOA_AFRL = (GPIOA_AFRL & ~(0xFFu << 8)) | (0x77u << 8);   /* AF7: USART2 */
}

void kws_port_exit(int code)
{
    (void)code;
    for (;;) {
        __asm__ volatile("wfi");
    }
}
