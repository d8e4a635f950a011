/* libFuzzer target: the device's frame decoder (kws_proto_rx_byte, kws_proto_rx_pcm16) on any
 * byte stream. Invariants: a decoded frame's payload lies inside the receive buffer and is at
 * most KWS_PROTO_MAX_BODY - 6 bytes; the counters only grow; re-encoding a decoded frame and
 * decoding it again gives the same frame. Built with ASan + UBSan (make -C firmware fuzz). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kws_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kws_proto_rx_t rx, again;
    static uint8_t wire[KWS_PROTO_MAX_WIRE + 1];
    kws_proto_rx_reset(&rx);
    uint32_t frames = 0;
    for (size_t i = 0; i < size; i++) {
        uint8_t type;
        uint16_t seq;
        const uint8_t *payload;
        uint32_t len;
        if (!kws_proto_rx_byte(&rx, data[i], &type, &seq, &payload, &len)) {
            continue;
        }
        frames++;
        check(len + 6u <= KWS_PROTO_MAX_BODY);
        check(payload >= (const uint8_t *)&rx && payload + len <= (const uint8_t *)&rx + sizeof rx);
        uint8_t copy[KWS_PROTO_MAX_BODY];
        memcpy(copy, payload, len);
        const size_t n = kws_proto_encode(type, seq, copy, len, wire);
        check(n > 0 && n <= sizeof wire);
        kws_proto_rx_reset(&again);
        int got = 0;
        for (size_t k = 0; k < n; k++) {
            uint8_t t2;
            uint16_t s2;
            const uint8_t *p2;
            uint32_t l2;
            if (kws_proto_rx_byte(&again, wire[k], &t2, &s2, &p2, &l2)) {
                check(!got && t2 == type && s2 == seq && l2 == len && memcmp(p2, copy, len) == 0);
                got = 1;
            }
        }
        check(got);
        if (type == KWS_MSG_AUDIO && len % 2u == 0u) {
            const int16_t *pcm = kws_proto_rx_pcm16(&rx, len);
            volatile int32_t sum = 0;
            for (uint32_t k = 0; k < len / 2u; k++) {
                sum += pcm[k];
            }
        }
    }
    check(rx.frames == frames);
    return 0;
}
