/* The port interface: everything above it (core/, apps) is hardware-free. A board port
 * implements these few functions in ports/<target>/ and nothing else (cf. MLPerf Tiny th_*). */
#ifndef KWS_PORT_H
#define KWS_PORT_H

#include <stddef.h>
#include <stdint.h>

void kws_port_init(void);                 /* clocks, serial, tick counter */
void kws_port_write(const uint8_t *buf, size_t n);   /* serial out, blocking */
int kws_port_read_byte(void);             /* serial in: next byte, or -1 if none pending */
void kws_port_wait(void);                 /* nothing pending: sleep until the next interrupt (a byte, a
                                           * microphone block, the tick) unless input already waits */
uint32_t kws_port_rx_lost(void);         /* serial bytes lost before the protocol saw them (ring full, UART overrun) */
uint64_t kws_port_ticks(void);            /* monotonic tick counter */
uint32_t kws_port_tick_hz(void);          /* nominal ticks per second */
void kws_port_exit(int code);             /* emulators: end with code; boards: halt */
uint32_t kws_port_stack_peak(void);       /* bytes of stack used so far (painted-stack high-water mark) */

/* Microphone ports only (the microphone program, app/main_mic.c): blocks of KWS_MIC_BLOCK int16 samples
 * at KWS_FE_SAMPLE_RATE, one network stride each (include kws_fe_config.h and kws_det_config.h). */
#define KWS_MIC_BLOCK (KWS_FE_HOP * KWS_DET_STRIDE_FRAMES)
void kws_port_mic_start(void);
const int16_t *kws_port_mic_block(void);  /* a filled block (valid until the next call), or NULL */
uint32_t kws_port_mic_overruns(void);     /* blocks lost because the app was late */

#endif /* KWS_PORT_H */
