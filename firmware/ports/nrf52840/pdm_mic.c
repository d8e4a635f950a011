/* The Nano 33 BLE Sense's PDM microphone (MP34DT05: CLK P0.26, DIN P0.25, power P0.17) through
 * the nRF52840 PDM peripheral: 1.280 MHz PDM clock, decimation ratio 80 -> exactly 16 kHz mono
 * int16, EasyDMA into two buffers of KWS_MIC_BLOCK samples.
 *
 * Double buffering by counting, independent of the order in which STARTED and END are seen
 * (on silicon END(n) precedes STARTED(n+1); Renode's model raises STARTED(n) and END(n)
 * together): the s-th STARTED latched buffer s-1, so the pointer for buffer s is written
 * then; the e-th END completed buffer e-1. The PDM interrupt does both, so no event is
 * missed while the core computes; the app takes the newest completed block, and blocks it
 * never took are counted as overruns (lost, never mixed). */
#include <stdint.h>

#include "kws_fe_config.h"
#include "kws_det_config.h"
#include "kws_port.h"
#include "sleep.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define PDM 0x4001D000u
#define PDM_START REG(PDM + 0x000u)
#define PDM_STARTED REG(PDM + 0x100u)
#define PDM_END REG(PDM + 0x108u)
#define PDM_INTENSET REG(PDM + 0x304u)
#define PDM_ENABLE REG(PDM + 0x500u)
#define PDM_CLKCTRL REG(PDM + 0x504u)
#define PDM_MODE REG(PDM + 0x508u)
#define PDM_GAINL REG(PDM + 0x518u)
#define PDM_RATIO REG(PDM + 0x520u)
#define PDM_PSEL_CLK REG(PDM + 0x540u)
#define PDM_PSEL_DIN REG(PDM + 0x544u)
#define PDM_PTR REG(PDM + 0x560u)
#define PDM_MAXCNT REG(PDM + 0x564u)
#define PDM_IRQ 29u
#define NVIC_ISER0 REG(0xE000E100u)
#define P0 0x50000000u
#define P0_OUTSET REG(P0 + 0x508u)
#define P0_DIRSET REG(P0 + 0x518u)
#define PIN_CLK 26u
#define PIN_DIN 25u
#define PIN_PWR 17u

static int16_t buf[2][KWS_MIC_BLOCK];
static volatile uint32_t starts, ends;      /* written by the interrupt */
static uint32_t taken;                      /* blocks handed to the app (or skipped) */
static uint32_t overruns;
static int started;

void kws_pdm_irq(void);
void kws_pdm_irq(void)
{
    if (PDM_STARTED) {
        PDM_STARTED = 0;
        starts++;
        PDM_PTR = (uint32_t)(uintptr_t)buf[starts & 1u];   /* buffer index `starts` comes next */
    }
    if (PDM_END) {
        PDM_END = 0;
        ends++;
    }
}

void kws_port_mic_start(void)
{
    if (started) {
        return;
    }
    started = 1;
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
    PDM_INTENSET = (1u << 0) | (1u << 2);             /* STARTED, END */
    NVIC_ISER0 = 1u << PDM_IRQ;
    PDM_ENABLE = 1u;
    PDM_START = 1u;
}

const int16_t *kws_port_mic_block(void)
{
    const uint32_t e = ends;
    if (e == taken) {
        return 0;
    }
    overruns += e - taken - 1u;                       /* completed blocks the app never took */
    taken = e;
    return buf[(e - 1u) & 1u];
}

int kws_port_mic_ready(void)
{
    return ends != taken;
}

uint32_t kws_port_mic_overruns(void)
{
    return overruns;
}
