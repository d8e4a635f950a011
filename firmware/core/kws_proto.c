#include "kws_proto.h"

#include <stddef.h>
#include <string.h>

/* CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; Python's binascii.crc_hqx) four bits at a time:
 * crc_nibble[i] is i times the polynomial over GF(2). It runs for every byte of the link, where the
 * bitwise form cost about half the instructions of receiving an AUDIO frame (docs/firmware.md). */
static const uint16_t crc_nibble[16] = {
    0x0000u, 0x1021u, 0x2042u, 0x3063u, 0x4084u, 0x50a5u, 0x60c6u, 0x70e7u,
    0x8108u, 0x9129u, 0xa14au, 0xb16bu, 0xc18cu, 0xd1adu, 0xe1ceu, 0xf1efu,
};

uint16_t kws_crc16(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc = ((crc << 4) & 0xFFFFu) ^ crc_nibble[(crc >> 12) ^ (p[i] >> 4)];
        crc = ((crc << 4) & 0xFFFFu) ^ crc_nibble[(crc >> 12) ^ (p[i] & 0xFu)];
    }
    return (uint16_t)crc;
}

void kws_proto_rx_reset(kws_proto_rx_t *rx)
{
    rx->len = 0;
    rx->overflow = 0;
    rx->have_seq = 0;
    rx->frames = rx->bad_crc = rx->bad_frames = rx->seq_gaps = 0;
}

/* COBS decode in place; returns the decoded length or -1. */
static int32_t cobs_decode(uint8_t *buf, uint32_t n)
{
    uint32_t r = 0, w = 0;
    while (r < n) {
        const uint8_t code = buf[r++];
        if (code == 0) {
            return -1;
        }
        for (unsigned i = 1; i < code; i++) {
            if (r >= n) {
                return -1;
            }
            buf[w++] = buf[r++];
        }
        if (code != 0xFF && r < n) {
            buf[w++] = 0;
        }
    }
    return (int32_t)w;
}

int kws_proto_rx_byte(kws_proto_rx_t *rx, uint8_t byte, uint8_t *type, uint16_t *seq, const uint8_t **payload,
                      uint32_t *len)
{
    if (byte != 0) {
        if (rx->len < sizeof rx->buf) {
            rx->buf[rx->len++] = byte;
        } else {
            rx->overflow = 1;
        }
        return 0;
    }
    const uint32_t n = rx->len;
    const uint8_t overflow = rx->overflow;
    rx->len = 0;
    rx->overflow = 0;
    if (n == 0) {
        return 0;
    }
    /* judged in the host's order (protocol.py): wire size, COBS, body size, CRC, version */
    const int32_t m = overflow ? -1 : cobs_decode(rx->buf, n);
    if (m < 6 || (uint32_t)m > KWS_PROTO_MAX_BODY) {
        rx->bad_frames++;
        return 0;
    }
    const uint32_t body = (uint32_t)m;
    const uint16_t crc = (uint16_t)(rx->buf[body - 2u] | (rx->buf[body - 1u] << 8));
    if (kws_crc16(rx->buf, body - 2u) != crc) {
        rx->bad_crc++;
        return 0;
    }
    if (rx->buf[0] != KWS_PROTO_VERSION) {
        rx->bad_frames++;
        return 0;
    }
    const uint16_t s = (uint16_t)(rx->buf[2] | (rx->buf[3] << 8));
    if (rx->have_seq && s != (uint16_t)(rx->last_seq + 1u)) {
        rx->seq_gaps++;
    }
    rx->have_seq = 1;
    rx->last_seq = s;
    rx->frames++;
    *type = rx->buf[1];
    *seq = s;
    *payload = &rx->buf[4];
    *len = body - 6u;
    return 1;
}

/* The payload starts 4 bytes into buf, so buf must start the (word-aligned) struct. */
typedef char kws_proto_buf_starts_the_struct[offsetof(kws_proto_rx_t, buf) == 0 ? 1 : -1];

const int16_t *kws_proto_rx_pcm16(kws_proto_rx_t *rx, uint32_t len)
{
    uint8_t *const p = &rx->buf[4];
    int16_t *const pcm = (int16_t *)(void *)p;
    for (uint32_t i = 0; i < len / 2u; i++) {         /* each sample overwrites its own two bytes */
        const uint16_t v = (uint16_t)(p[2u * i] | (p[2u * i + 1u] << 8));
        memcpy(&pcm[i], &v, sizeof v);
    }
    return pcm;
}

size_t kws_proto_encode(uint8_t type, uint16_t seq, const uint8_t *payload, uint32_t len, uint8_t *out)
{
    if (len + 6u > KWS_PROTO_MAX_BODY) {
        return 0;
    }
    /* Body into the tail of out, then COBS-encode forward into out (the encoded form is never
     * more than one byte per 254 ahead of the body, so writes never overtake reads). */
    uint8_t *body = out + 1u + (len + 6u) / 254u;
    body[0] = KWS_PROTO_VERSION;
    body[1] = type;
    body[2] = (uint8_t)(seq & 0xFFu);
    body[3] = (uint8_t)(seq >> 8);
    for (uint32_t i = 0; i < len; i++) {
        body[4u + i] = payload[i];
    }
    const uint16_t crc = kws_crc16(body, len + 4u);
    body[len + 4u] = (uint8_t)(crc & 0xFFu);
    body[len + 5u] = (uint8_t)(crc >> 8);
    const uint32_t n = len + 6u;
    size_t w = 1, code_at = 0;
    uint8_t code = 1;
    for (uint32_t r = 0; r < n; r++) {
        const uint8_t v = body[r];
        if (v == 0) {
            out[code_at] = code;
            code_at = w++;
            code = 1;
        } else {
            out[w++] = v;
            if (++code == 0xFF && r + 1u < n) {      /* a full block; open the next only if input remains */
                out[code_at] = code;
                code_at = w++;
                code = 1;
            }
        }
    }
    out[code_at] = code;
    out[w++] = 0;
    return w;
}
