/* The Nano 33 BLE Sense's PDM microphone (MP34DT05: CLK P0.26, DIN P0.25, power P0.17) through
 * the nRF52840 PDM peripheral: 1.280 MHz PDM clock, decimation ratio 80 -> exactly 16 kHz mono
 * int16, EasyDMA into two buffers of KWS_MIC_BLOCK samples (double buffering: the next pointer
 * is written when a buffer starts filling). Polled, no interrupts: the app asks for a filled
 * block between computations; a block finished while the previous was still unread is an
 * overrun (counted; the older block is lost, never mixed). */
#include <stdint.h>

#include "kws_fe_config.h"
#include "kws_net.h"
#include "kws_port.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define PDM 0x4001D000u
#define PDM_START REG(PDM + 0x000u)
#define PDM_STARTED REG(PDM + 0x100u)
#define PDM_END REG(PDM + 0x108u)
#define PDM_ENABLE REG(PDM + 0x500u)
#define PDM_CLKCTRL REG(PDM + 0x504u)
#define PDM_MODE REG(PDM + 0x508u)
#define PDM_GAINL REG(PDM + 0x518u)
#define PDM_RATIO REG(PDM + 0x520u)
#define PDM_PSEL_CLK REG(PDM + 0x540u)
#define PDM_PSEL_DIN REG(PDM + 0x544u)
#define PDM_PTR REG(PDM + 0x560u)
#define PDM_MAXCNT REG(PDM + 0x564u)
#define P0 0x50000000u
#define P0_OUTSET REG(P0 + 0x508u)
#define P0_DIRSET REG(P0 + 0x518u)
#define PIN_CLK 26u
#define PIN_DIN 25u
#define PIN_PWR 17u

static int16_t buf[2][KWS_MIC_BLOCK];
static unsigned filling;          /* buffer the DMA writes now */
static int ready = -1;            /* filled, not yet taken */
static uint32_t overruns;

void kws_port_mic_start(void)
{
    P0_DIRSET = (1u << PIN_PWR) | (1u << PIN_CLK);
    P0_OUTSET = 1u << PIN_PWR;                        /* microphone power */
    PDM_PSEL_CLK = PIN_CLK;
    PDM_PSEL_DIN = PIN_DIN;
    PDM_CLKCTRL = 0x0A000000u;                        /* 1.280 MHz */
    PDM_RATIO = 1u;                                   /* /80: 16 kHz */
    PDM_MODE = 1u;                                    /* mono, left on the falling edge */
    PDM_GAINL = 0x28u;                                /* 0 dB */
    PDM_PTR = (uint32_t)(uintptr_t)buf[0];
    PDM_MAXCNT = KWS_MIC_BLOCK;
    filling = 0;
    PDM_ENABLE = 1u;
    PDM_START = 1u;
}

const int16_t *kws_port_mic_block(void)
{
    if (PDM_END) {                                    /* first: an END precedes the STARTED of the next buffer */
        PDM_END = 0;
        if (ready >= 0) {
            overruns++;
        }
        ready = (int)filling;
        filling ^= 1u;
    }
    if (PDM_STARTED) {                                /* buffer `filling` started: queue the other one */
        PDM_STARTED = 0;
        PDM_PTR = (uint32_t)(uintptr_t)buf[filling ^ 1u];
    }
    if (ready < 0) {
        return 0;
    }
    const int16_t *b = buf[ready];
    ready = -1;
    return b;
}

uint32_t kws_port_mic_overruns(void)
{
    return overruns;
}
