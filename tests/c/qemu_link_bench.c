/* The serial link's receive path timed on the emulated Cortex-M4F: FRAMES AUDIO frames of
 * KWS_LINK_MAX_BLOCK samples, encoded as the host sends them, fed byte by byte through
 * kws_proto_rx_byte (COBS, CRC, sequence check) and converted in place (kws_proto_rx_pcm16), as
 * the serial session (firmware/app/kws_session.c) does. Prints one line:
 *   link_bench frames=F samples=S wire_bytes=B equal=E ticks=T calib_ticks=C calib_instr=I
 * equal counts frames whose samples came back unchanged. Exit code 0. */
#include <stdint.h>

#include "kws_link.h"
#include "kws_port.h"
#include "kws_print.h"
#include "kws_proto.h"
#include "semihost.h"

#define FRAMES 50u                       /* full blocks, as the host sends them (kws device stream) */

static uint8_t wire[FRAMES][KWS_PROTO_MAX_WIRE + 1u];
static uint32_t wire_len[FRAMES];
static int16_t pcm[FRAMES][KWS_LINK_MAX_BLOCK];
static kws_proto_rx_t rx;

static void field(const char *name, uint64_t v)
{
    kws_print(" ");
    kws_print(name);
    kws_print("=");
    kws_print_u64(v);
}

int main(void)
{
    kws_port_init();
    uint32_t x = 12345u, bytes = 0;
    for (unsigned f = 0; f < FRAMES; f++) {                 /* noise-like samples: few zero bytes */
        uint8_t payload[2u * KWS_LINK_MAX_BLOCK];
        for (unsigned i = 0; i < KWS_LINK_MAX_BLOCK; i++) {
            x = x * 1664525u + 1013904223u;
            pcm[f][i] = (int16_t)(x >> 16);
            payload[2u * i] = (uint8_t)((uint16_t)pcm[f][i] & 0xFFu);
            payload[2u * i + 1u] = (uint8_t)((uint16_t)pcm[f][i] >> 8);
        }
        wire_len[f] = (uint32_t)kws_proto_encode(KWS_MSG_AUDIO, (uint16_t)f, payload, sizeof payload, wire[f]);
        bytes += wire_len[f];
    }
    const uint64_t calib = qemu_calibrate();
    kws_proto_rx_reset(&rx);
    uint32_t equal = 0;
    uint64_t ticks = 0;
    for (unsigned f = 0; f < FRAMES; f++) {
        const int16_t *got = 0;
        uint32_t got_len = 0;
        const uint64_t t0 = kws_port_ticks();
        for (uint32_t i = 0; i < wire_len[f]; i++) {
            uint8_t type;
            uint16_t seq;
            const uint8_t *payload;
            uint32_t len;
            if (kws_proto_rx_byte(&rx, wire[f][i], &type, &seq, &payload, &len) && type == KWS_MSG_AUDIO) {
                got = kws_proto_rx_pcm16(&rx, len);
                got_len = len / 2u;
            }
        }
        ticks += kws_port_ticks() - t0;
        uint32_t same = got != 0 && got_len == KWS_LINK_MAX_BLOCK;
        for (unsigned i = 0; same && i < KWS_LINK_MAX_BLOCK; i++) {
            same = got[i] == pcm[f][i];
        }
        equal += same;
    }
    kws_print("link_bench");
    field("frames", FRAMES);
    field("samples", (uint64_t)FRAMES * KWS_LINK_MAX_BLOCK);
    field("wire_bytes", bytes);
    field("equal", equal);
    field("ticks", ticks);
    field("calib_ticks", calib);
    field("calib_instr", 2u * QEMU_CALIB_ITERS);
    kws_print("\n");
    kws_port_exit(0);
    return 0;
}
