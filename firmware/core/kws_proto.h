/* Serial protocol v1 (docs/protocol.md; host side host/kws/device/protocol.py).
 * Wire: COBS(version u8 | type u8 | seq u16 | payload | crc16) then 0x00, little-endian,
 * CRC-16/CCITT (poly 0x1021, init 0xFFFF) over version..payload. */
#ifndef KWS_PROTO_H
#define KWS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KWS_PROTO_VERSION 1u
#define KWS_PROTO_MAX_BODY 1024u
/* Bytes on the wire of a frame whose body (version..crc) has n bytes, at most: COBS adds one
 * code byte per 254 and one more, then the 0x00 delimiter. */
#define KWS_PROTO_WIRE_BYTES(n) ((n) + (n) / 254u + 2u)
#define KWS_PROTO_MAX_WIRE KWS_PROTO_WIRE_BYTES(KWS_PROTO_MAX_BODY)

enum {
    KWS_MSG_HELLO_REQ = 0x01, KWS_MSG_STATS_REQ = 0x03, KWS_MSG_MONITOR_REQ = 0x04, KWS_MSG_THRESHOLDS_REQ = 0x05,
    KWS_MSG_AUDIO = 0x10,
    KWS_MSG_HELLO = 0x81, KWS_MSG_CREDIT = 0x82, KWS_MSG_STATS = 0x83, KWS_MSG_MONITOR = 0x84,
    KWS_MSG_THRESHOLDS = 0x85,
    KWS_MSG_ERROR = 0x8F,
    KWS_MSG_EVENT = 0x90, KWS_MSG_LOGITS = 0x91
};
/* KWS_ERR_STARTED: sent once at boot, before anything else: the device (re)started and holds no
 * session; a host mid-stream learns that its stream is void rather than waiting for credits.
 * KWS_ERR_BAD_REQUEST: a request whose payload has a size the message does not allow. */
enum {
    KWS_ERR_BAD_CRC = 1, KWS_ERR_BAD_FRAME = 2, KWS_ERR_SEQ_GAP = 3, KWS_ERR_BAD_AUDIO = 4, KWS_ERR_UNKNOWN = 5,
    KWS_ERR_STARTED = 6, KWS_ERR_BAD_REQUEST = 7
};

typedef struct {
    uint8_t buf[KWS_PROTO_MAX_WIRE];
    uint32_t len;
    uint32_t frames, bad_crc, bad_frames, seq_gaps;
    uint16_t last_seq;
    uint8_t have_seq, overflow;
} kws_proto_rx_t;

uint16_t kws_crc16(const uint8_t *p, size_t n);
void kws_proto_rx_reset(kws_proto_rx_t *rx);

/* Feeds one received byte. Returns 1 when it completed a valid frame: *type, *seq, *payload
 * (pointing into rx->buf, valid until the next call) and *len are set. Damaged frames are
 * dropped and counted (bad_crc, bad_frames); a sequence gap is counted in seq_gaps. */
int kws_proto_rx_byte(kws_proto_rx_t *rx, uint8_t byte, uint8_t *type, uint16_t *seq, const uint8_t **payload,
                      uint32_t *len);

/* The int16 little-endian samples of the AUDIO payload just returned by kws_proto_rx_byte (len
 * bytes), converted in place in rx->buf (the payload starts 4 bytes in: aligned); valid until the
 * next call of kws_proto_rx_byte. The receive buffer is the sample buffer: no copy. */
const int16_t *kws_proto_rx_pcm16(kws_proto_rx_t *rx, uint32_t len);

/* Encodes one frame into out (at least KWS_PROTO_MAX_WIRE + 1 bytes); returns bytes written,
 * the trailing 0x00 included; 0 if the payload is too long. */
size_t kws_proto_encode(uint8_t type, uint16_t seq, const uint8_t *payload, uint32_t len, uint8_t *out);

#endif /* KWS_PROTO_H */
