/* libFuzzer target: a whole device session. The serial program (firmware/app/main_serial.c with
 * kws_session.c and kws_app.c, built with -Dmain=kws_app_main: the code that runs in QEMU and on
 * boards) reads the fuzz input as the bytes arriving on its UART; when they are exhausted the port jumps back
 * here. Everything the device writes is decoded by a host-side receiver: every frame it sends
 * must be well formed (good CRC, in sequence). Built with ASan + UBSan (make -C firmware fuzz). */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kws_port.h"
#include "kws_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int kws_app_main(void);

static const uint8_t *in;
static size_t in_left;
static jmp_buf done;
static kws_proto_rx_t out_rx;
static uint64_t ticks;

void kws_port_init(void)
{
}

void kws_port_write(const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t type;
        uint16_t seq;
        const uint8_t *payload;
        uint32_t len;
        (void)kws_proto_rx_byte(&out_rx, buf[i], &type, &seq, &payload, &len);
    }
    if (out_rx.bad_crc || out_rx.bad_frames || out_rx.seq_gaps) {
        abort();                                        /* the device sent a malformed frame */
    }
}

int kws_port_read_byte(void)
{
    if (in_left == 0) {
        longjmp(done, 1);
    }
    in_left--;
    return *in++;
}

void kws_port_wait(void)
{
}

uint32_t kws_port_rx_lost(void)
{
    return 0;
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
    (void)code;
    abort();                                            /* the serial app never exits */
}

uint32_t kws_port_stack_peak(void)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in = data;
    in_left = size;
    kws_proto_rx_reset(&out_rx);
    if (setjmp(done) == 0) {
        kws_app_main();                                 /* starts afresh: resets its receiver and pipeline */
    }
    return 0;
}
