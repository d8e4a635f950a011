/* The serial protocol session (kws_session.h): frames in, the keyword spotter's results out. */
#include "kws_session.h"

#include "kws_app.h"
#include "kws_link.h"
#include "kws_port.h"
#include "kws_proto.h"

#define FW_VERSION 0x00010100u      /* major << 16 | minor << 8 | patch: 1.1.0 (THRESHOLDS, STATS tick_hz) */

typedef struct {                    /* borrowed from the keyword spotter's scratch area */
    uint8_t wire[KWS_PROTO_MAX_WIRE + 1u];                       /* a frame being sent */
    uint8_t mon[KWS_MON_BYTES];                                  /* the MONITOR payload being sent */
} io_t;

static const kws_session_audio_t *src;
static kws_proto_rx_t rx;
static uint16_t tx_seq;
static uint8_t send_logits;
static uint8_t thresholds_set;      /* this session's thresholds came from the host (THRESHOLDS_REQ) */
static uint32_t bad_crc, bad_frames, gaps;   /* the receiver's counts already reported */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xFFFFu);
    put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void send(uint8_t type, const uint8_t *payload, uint32_t len)
{
    uint8_t *const wire = KWS_APP_BORROW(io_t)->wire;
    const size_t n = kws_proto_encode(type, tx_seq++, payload, len, wire);
    kws_port_write(wire, n);
}

static void send_error(uint8_t code, uint16_t seq)
{
    uint8_t p[3] = {code, (uint8_t)seq, (uint8_t)(seq >> 8)};
    send(KWS_MSG_ERROR, p, sizeof p);
}

static void frame_event(int k, uint32_t score, uint64_t sample)
{
    uint8_t p[11];
    p[0] = (uint8_t)k;
    put16(p + 1, score);
    put64(p + 3, sample);
    send(KWS_MSG_EVENT, p, sizeof p);
}

static void frame_logits(uint64_t run, const int8_t *lg)
{
    uint8_t p[4 + KWS_NET_OUTPUT_SIZE];
    put32(p, (uint32_t)run);
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        p[4 + i] = (uint8_t)lg[i];
    }
    send(KWS_MSG_LOGITS, p, sizeof p);
}

static void send_hello(void)
{
    uint8_t p[27];
    put32(p, FW_VERSION);
    put32(p + 4, KWS_FE_SPEC_HASH32);
    put32(p + 8, KWS_NET_MODEL_HASH32);
    put32(p + 12, KWS_DET_HASH32);
    put32(p + 16, KWS_FE_SAMPLE_RATE);
    put16(p + 20, KWS_FE_HOP);
    put16(p + 22, KWS_LINK_MAX_BLOCK);
    p[24] = KWS_LINK_CREDITS;
    p[25] = KWS_NET_OUTPUT_SIZE;
    p[26] = src->source;
    send(KWS_MSG_HELLO, p, sizeof p);
}

/* Thresholds from the host, one u16 per class (Q(KWS_DET_FRAC)), for the rest of the session (a
 * HELLO_REQ without them restores the built-in ones). 0 if the payload is not exactly that. */
static int take_thresholds(const uint8_t *payload, uint32_t len)
{
    if (len != 2u * KWS_NET_OUTPUT_SIZE) {
        return 0;
    }
    uint16_t thr[KWS_NET_OUTPUT_SIZE];
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        thr[i] = (uint16_t)(payload[2u * i] | (payload[2u * i + 1u] << 8));
    }
    kws_det_set_thresholds(&kws_app_det, thr);
    thresholds_set = 1;
    return 1;
}

/* THRESHOLDS_REQ: no payload asks, thresholds set them (take_thresholds); the reply says which
 * are in force and whether the host set them. */
static void thresholds(const uint8_t *payload, uint32_t len, uint16_t seq)
{
    if (len != 0 && !take_thresholds(payload, len)) {
        send_error(KWS_ERR_BAD_REQUEST, seq);
        return;
    }
    uint8_t p[1u + 2u * KWS_NET_OUTPUT_SIZE];
    p[0] = thresholds_set;
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        put16(p + 1u + 2u * i, kws_app_det.thr[i]);
    }
    send(KWS_MSG_THRESHOLDS, p, sizeof p);
}

static void send_stats(void)
{
    const kws_app_counters_t *const cnt = &kws_app_cnt;
    uint8_t p[68];
    put32(p, (uint32_t)cnt->frames);
    put32(p + 4, (uint32_t)cnt->runs);
    put32(p + 8, (uint32_t)cnt->events);
    put32(p + 12, rx.frames);
    put32(p + 16, rx.bad_crc);
    put32(p + 20, rx.bad_frames);
    put32(p + 24, rx.seq_gaps);
    put64(p + 28, cnt->fe_t);
    put64(p + 36, cnt->net_t);
    put64(p + 44, cnt->det_t);
    put32(p + 52, kws_port_stack_peak());
    put32(p + 56, src->overruns ? src->overruns() : 0u);
    put32(p + 60, kws_port_rx_lost());
    put32(p + 64, kws_port_tick_hz());                      /* what the tick counts above are in */
    send(KWS_MSG_STATS, p, sizeof p);
}

static void hello(const uint8_t *payload, uint32_t len, uint16_t seq)
{
    send_logits = len > 0 && (payload[0] & 1u);
    kws_app_reset();                                        /* the built-in thresholds again, too */
    thresholds_set = 0;
    /* thresholds after the flags: the session's, in force before its first sample */
    const int bad_thresholds = len > 1u && !take_thresholds(payload + 1, len - 1u);
    if (src->start) {
        src->start();                                       /* the microphone listens from the first hello */
    }
    send_hello();
    if (bad_thresholds) {
        send_error(KWS_ERR_BAD_REQUEST, seq);               /* after the HELLO, which a host waits for */
    }
}

static void monitor(const uint8_t *payload, uint32_t len)
{
    uint8_t *const buf = KWS_APP_BORROW(io_t)->mon;
    send(KWS_MSG_MONITOR, buf, (uint32_t)kws_mon_serialize(&kws_app_mon, buf));
    if (len > 0 && (payload[0] & 1u)) {                     /* report and start a new period */
        kws_mon_reset(&kws_app_mon);
    }
}

static void audio(uint32_t len, uint16_t seq)
{
    if (src->source != KWS_SESSION_HOST_AUDIO) {
        send_error(KWS_ERR_BAD_AUDIO, seq);                 /* the microphone is the source */
        return;
    }
    if ((len & 1u) || len / 2u > KWS_LINK_MAX_BLOCK) {
        send_error(KWS_ERR_BAD_AUDIO, seq);
        return;
    }
    kws_app_process(kws_proto_rx_pcm16(&rx, len), len / 2u, frame_event, send_logits ? frame_logits : 0);
    uint8_t p[10];
    put16(p, 1);                                            /* one credit back */
    put64(p + 2, kws_app_cnt.samples);
    send(KWS_MSG_CREDIT, p, sizeof p);
}

void kws_session_start(const kws_session_audio_t *audio_source)
{
    src = audio_source;
    kws_proto_rx_reset(&rx);
    bad_crc = bad_frames = gaps = 0;
    kws_app_reset();
    static const uint8_t delimiter = 0;                     /* ends any frame the host holds half-received */
    kws_port_write(&delimiter, 1);                          /* from before a reset, so that the next decodes */
    send_error(KWS_ERR_STARTED, 0);                         /* a host mid-stream learns its stream is void */
}

void kws_session_audio(const int16_t *pcm, size_t n)
{
    kws_app_process(pcm, n, frame_event, send_logits ? frame_logits : 0);
}

void kws_session_byte(uint8_t b)
{
    uint8_t type;
    uint16_t seq;
    const uint8_t *payload;
    uint32_t len;
    const int got = kws_proto_rx_byte(&rx, b, &type, &seq, &payload, &len);
    if (rx.bad_crc != bad_crc || rx.bad_frames != bad_frames) {
        send_error(rx.bad_crc != bad_crc ? KWS_ERR_BAD_CRC : KWS_ERR_BAD_FRAME, (uint16_t)(rx.last_seq + 1u));
        bad_crc = rx.bad_crc;
        bad_frames = rx.bad_frames;
    }
    if (!got) {
        return;
    }
    if (rx.seq_gaps != gaps) {
        send_error(KWS_ERR_SEQ_GAP, seq);
        gaps = rx.seq_gaps;
    }
    if (type == KWS_MSG_HELLO_REQ) {
        hello(payload, len, seq);
    } else if (type == KWS_MSG_STATS_REQ) {
        send_stats();
    } else if (type == KWS_MSG_MONITOR_REQ) {
        monitor(payload, len);
    } else if (type == KWS_MSG_THRESHOLDS_REQ) {
        thresholds(payload, len, seq);
    } else if (type == KWS_MSG_AUDIO) {
        audio(len, seq);
    } else {
        send_error(KWS_ERR_UNKNOWN, seq);
    }
}
