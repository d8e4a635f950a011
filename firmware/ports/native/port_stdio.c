/* A host port for the serial-protocol build of the app (kws_serial_native, built with ASan and
 * UBSan): the "UART" reads every byte of stdin and writes to stdout; when the input is
 * exhausted the process ends with status 0. Tests feed it sessions with damaged, truncated,
 * overlong, duplicated and out-of-order frames and wrong-sized audio: any memory error or
 * undefined behaviour aborts with a sanitizer report instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kws_port.h"

static uint64_t ticks;

void kws_port_init(void)
{
}

void kws_port_write(const uint8_t *buf, size_t n)
{
    if (fwrite(buf, 1, n, stdout) != n) {
        exit(3);
    }
}

uint32_t kws_port_rx_lost(void)
{
    return 0;                                       /* stdin loses nothing */
}

int kws_port_read_byte(void)
{
    const int c = getchar();
    if (c == EOF) {
        fflush(stdout);
        exit(0);
    }
    return c;
}

void kws_port_wait(void)
{
    /* kws_port_read_byte blocks on stdin: never called */
}

uint64_t kws_port_ticks(void)
{
    return ++ticks;
}

uint32_t kws_port_tick_hz(void)
{
    return 1000000u;
}

void kws_port_exit(int code)
{
    exit(code);
}

uint32_t kws_port_stack_peak(void)
{
    return 0;
}
