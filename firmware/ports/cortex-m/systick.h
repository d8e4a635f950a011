/* SysTick as the ports' tick counter (systick.c); kws_port_ticks() comes with it. */
#ifndef KWS_SYSTICK_H
#define KWS_SYSTICK_H

void kws_systick_start(void);

#endif /* KWS_SYSTICK_H */
