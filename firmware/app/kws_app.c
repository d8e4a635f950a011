/* The keyword spotter: audio in blocks -> front end -> network (streamed: every frame computes
 * the rows it completes; or, for a network with padding along time, the whole feature window)
 * -> logits every KWS_DET_STRIDE_FRAMES hops -> detector -> events.
 *
 * Two audio sources, chosen at build time:
 *
 * - semihosting (default; emulator only, fast: long bit-exactness runs). Command line
 *   "<elf> <audio.pcm> [<logits.bin>]", raw int16 LE at KWS_FE_SAMPLE_RATE; every network
 *   run's int8 logits go to the second file. Text lines on the serial port:
 *     kws hello fe=<hash32> model=<hash32> det=<hash32> rate=<Hz>
 *     kws event label=<name> class=<k> score=<Q15> sample=<n>
 *     kws monitor <hex of the feature statistics, kws_monitor.h>
 *     kws done samples=.. frames=.. runs=.. events=.. fe_ticks=.. net_ticks=.. det_ticks=..
 *              calib_ticks=.. calib_instr=.. stack=<peak bytes>
 * - serial (-DKWS_AUDIO_SERIAL): the binary protocol of docs/protocol.md on the serial port:
 *   HELLO_REQ -> HELLO (hashes, rate, block size, credits); AUDIO blocks within the granted
 *   credits -> one CREDIT per block consumed, EVENT and (if asked) LOGITS frames; STATS_REQ ->
 *   STATS; MONITOR_REQ -> MONITOR (feature statistics for drift detection, kws_monitor.h);
 *   THRESHOLDS_REQ -> THRESHOLDS (the detector's thresholds; the host may set them for the session,
 *   here or, in force from its first sample, in the HELLO_REQ);
 * - microphone (-DKWS_AUDIO_MIC, boards with a mic port): the same protocol, but the audio comes
 *   from kws_port_mic_block() and AUDIO frames are refused; the microphone starts at the first
 *   HELLO_REQ, which (like every HELLO_REQ) also restarts the sample count; the host listens
 *   (kws device listen). damaged, unknown or out-of-order frames -> ERROR frames and counters, never a crash.
 */
#include <stdint.h>

#include "kws_detector.h"
#include "kws_frontend.h"
#include "kws_link.h"
#include "kws_monitor.h"
#include "kws_net.h"
#include "kws_port.h"
#include "kws_print.h"
#include "kws_proto.h"
#if !defined(KWS_AUDIO_SERIAL) && !defined(KWS_AUDIO_MIC)
#include "semihost.h"
#endif

#if KWS_NET_INPUT_COLS != KWS_FE_NUM_CEPSTRA
#error "the network's input columns differ from the front end's cepstra: regenerate with matching spec"
#endif
#if KWS_NET_FRONTEND_HASH32 != KWS_FE_SPEC_HASH32
#error "the network was generated for another front end: run kws codegen model with this spec"
#endif

#define FW_VERSION 0x00010100u      /* major << 16 | minor << 8 | patch: 1.1.0 (THRESHOLDS, STATS tick_hz) */

static kws_fe_stream_t fe_state;
static int8_t logits[KWS_NET_OUTPUT_SIZE];
#if KWS_NET_STREAMING
/* The streaming network keeps the recent rows of every layer: each frame computes only what it
 * completes; a window's logits come from rows already computed (equal to kws_net_run). */
#if KWS_DET_STRIDE_FRAMES % KWS_NET_STREAM_STEP != 0
#error "the detector's stride must be a multiple of the network's stream step (windows on row boundaries)"
#endif
static kws_net_stream_t net_stream;
static int8_t frame[KWS_FE_NUM_CEPSTRA];
#define FRAME_OUT(n) frame
#else
static int8_t ring[KWS_NET_INPUT_FRAMES][KWS_FE_NUM_CEPSTRA];   /* feature window, circular */
static int8_t window[KWS_NET_INPUT_BYTES];
#define FRAME_OUT(n) ring[(n) % KWS_NET_INPUT_FRAMES]
#endif
#define CMD_BYTES 512u              /* semihosting command line */

/* One scratch area for everything that needs memory only during one call: the front end's FFT,
 * the network's rows (or arena), and the console's or the protocol's output buffers. The app is
 * single-threaded and never prints, sends or parses while the front end or the network runs,
 * so they take turns; nothing in it survives from one use to the next. */
static union {
    kws_fe_scratch_t fe;
#if KWS_NET_STREAMING
    int8_t net[KWS_NET_STREAM_SCRATCH_BYTES];
#else
    int8_t net[KWS_NET_ARENA_BYTES];
#endif
#if !defined(KWS_AUDIO_SERIAL) && !defined(KWS_AUDIO_MIC)
    char cmd[CMD_BYTES];
    uint8_t mon[KWS_MON_BYTES];
#else
    struct {
        uint8_t wire[KWS_PROTO_MAX_WIRE + 1u];                   /* a frame being sent */
        uint8_t mon[KWS_MON_BYTES];                              /* the MONITOR payload being sent */
    } tx;
#endif
    uint32_t align;
} scratch;
static kws_det_t det;
static kws_mon_t mon;

typedef struct {
    uint64_t samples, frames, runs, events, fe_t, net_t, det_t;
} counters_t;
static counters_t cnt;

typedef void (*event_fn)(int k, uint32_t score, uint64_t sample);
typedef void (*logits_fn)(uint64_t run, const int8_t *lg);

/* The keyword spotter proper: n samples through front end, network and detector. */
static void process(const int16_t *pcm, size_t n, event_fn on_event, logits_fn on_logits)
{
    size_t pos = 0;
    while (pos < n) {
        int ready;
        uint64_t a = kws_port_ticks();
        const size_t used = kws_fe_stream_feed(&fe_state, pcm + pos, n - pos, 0, FRAME_OUT(cnt.frames), &scratch.fe,
                                               &ready);
        cnt.fe_t += kws_port_ticks() - a;
        pos += used;
        cnt.samples += used;
        if (!ready) {
            continue;
        }
        kws_mon_push(&mon, FRAME_OUT(cnt.frames));
#if KWS_NET_STREAMING
        a = kws_port_ticks();
        kws_net_stream_push(&net_stream, frame, scratch.net);
        cnt.net_t += kws_port_ticks() - a;
#endif
        cnt.frames++;
        if (cnt.frames < KWS_NET_INPUT_FRAMES || (cnt.frames - KWS_NET_INPUT_FRAMES) % KWS_DET_STRIDE_FRAMES != 0) {
            continue;
        }
        a = kws_port_ticks();
#if KWS_NET_STREAMING
        kws_net_stream_logits(&net_stream, logits, scratch.net);
#else
        for (unsigned f = 0; f < KWS_NET_INPUT_FRAMES; f++) {        /* oldest frame first */
            const int8_t *src = ring[(cnt.frames + f) % KWS_NET_INPUT_FRAMES];
            for (unsigned j = 0; j < KWS_FE_NUM_CEPSTRA; j++) {
                window[f * KWS_FE_NUM_CEPSTRA + j] = src[j];
            }
        }
        kws_net_run(window, logits, scratch.net);
#endif
        cnt.net_t += kws_port_ticks() - a;
        if (on_logits) {
            on_logits(cnt.runs, logits);
        }
        cnt.runs++;
        a = kws_port_ticks();
        uint32_t score = 0;
        const int k = kws_det_push(&det, logits, &score);
        cnt.det_t += kws_port_ticks() - a;
        if (k >= 0) {
            cnt.events++;
            on_event(k, score, cnt.samples);
        }
    }
}

static void reset_all(void)
{
    kws_fe_stream_reset(&fe_state);
    kws_det_reset(&det);
    kws_mon_reset(&mon);
#if KWS_NET_STREAMING
    kws_net_stream_reset(&net_stream);
#endif
    cnt.samples = cnt.frames = cnt.runs = cnt.events = 0;     /* field by field: no memset on the island */
    cnt.fe_t = cnt.net_t = cnt.det_t = 0;
}

#if !defined(KWS_AUDIO_SERIAL) && !defined(KWS_AUDIO_MIC)
/* ---------------------------------------------------------------- semihosting source */
static int16_t block[KWS_FE_HOP];
static int dump = -1;

static void field(const char *name, uint64_t v)
{
    kws_print(" ");
    kws_print(name);
    kws_print("=");
    kws_print_u64(v);
}

static void text_event(int k, uint32_t score, uint64_t sample)
{
    kws_print("kws event label=");
    kws_print(kws_det_labels[k]);
    field("class", (uint64_t)k);
    field("score", score);
    field("sample", sample);
    kws_print("\n");
}

static void file_logits(uint64_t run, const int8_t *lg)
{
    (void)run;
    semihost_write(dump, lg, KWS_NET_OUTPUT_SIZE);
}

int main(void)
{
    char *const cmd = scratch.cmd;      /* read before any audio: words[] are used only to open files */
    kws_port_init();
    kws_print("kws hello fe=");
    kws_print_hex32(KWS_FE_SPEC_HASH32);
    kws_print(" model=");
    kws_print_hex32(KWS_NET_MODEL_HASH32);
    kws_print(" det=");
    kws_print_hex32(KWS_DET_HASH32);
    field("rate", KWS_FE_SAMPLE_RATE);
    kws_print("\n");
    if (semihost_cmdline(cmd, CMD_BYTES) != 0) {
        kws_print("kws error no command line\n");
        kws_port_exit(2);
    }
    char *words[3] = {0, 0, 0};          /* elf audio [logits] */
    unsigned nw = 0;
    for (char *c = cmd; *c && nw < 3;) {
        while (*c == ' ') {
            *c++ = 0;
        }
        if (!*c) {
            break;
        }
        words[nw++] = c;
        while (*c && *c != ' ') {
            c++;
        }
    }
    const int audio = nw > 1 ? semihost_open(words[1], 1) : -1;
    if (audio < 0) {
        kws_print("kws error cannot open the audio file\n");
        kws_port_exit(2);
    }
    dump = nw > 2 ? semihost_open_write(words[2]) : -1;
    const uint64_t calib = qemu_calibrate();
    reset_all();
    size_t got;
    while ((got = semihost_read(audio, block, sizeof block)) >= sizeof block[0]) {
        process(block, got / sizeof block[0], text_event, dump >= 0 ? file_logits : 0);
    }
    if (dump >= 0) {
        semihost_close(dump);
    }
    kws_print("kws monitor ");
    const size_t nmon = kws_mon_serialize(&mon, scratch.mon);
    for (size_t i = 0; i < nmon; i++) {
        kws_print_hex8(scratch.mon[i]);
    }
    kws_print("\n");
    kws_print("kws done");
    field("samples", cnt.samples);
    field("frames", cnt.frames);
    field("runs", cnt.runs);
    field("events", cnt.events);
    field("fe_ticks", cnt.fe_t);
    field("net_ticks", cnt.net_t);
    field("det_ticks", cnt.det_t);
    field("calib_ticks", calib);
    field("calib_instr", 2u * QEMU_CALIB_ITERS);
    field("stack", kws_port_stack_peak());
    kws_print("\n");
    kws_port_exit(0);
    return 0;
}

#else
/* ------------------------------------------------------- serial protocol (host audio or microphone) */
#ifdef KWS_AUDIO_MIC
#define AUDIO_SOURCE 1u             /* HELLO: audio from the device's microphone */
#else
#define AUDIO_SOURCE 0u             /* HELLO: audio streamed by the host */
#endif
static kws_proto_rx_t rx;
static uint16_t tx_seq;
static uint8_t send_logits;
static uint8_t thresholds_set;      /* this session's thresholds came from the host (THRESHOLDS_REQ) */

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
    const size_t n = kws_proto_encode(type, tx_seq++, payload, len, scratch.tx.wire);
    kws_port_write(scratch.tx.wire, n);
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
    p[26] = AUDIO_SOURCE;
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
    kws_det_set_thresholds(&det, thr);
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
        put16(p + 1u + 2u * i, det.thr[i]);
    }
    send(KWS_MSG_THRESHOLDS, p, sizeof p);
}

static uint32_t audio_overruns(void)
{
#ifdef KWS_AUDIO_MIC
    return kws_port_mic_overruns();
#else
    return 0;
#endif
}

static void send_stats(void)
{
    uint8_t p[68];
    put32(p, (uint32_t)cnt.frames);
    put32(p + 4, (uint32_t)cnt.runs);
    put32(p + 8, (uint32_t)cnt.events);
    put32(p + 12, rx.frames);
    put32(p + 16, rx.bad_crc);
    put32(p + 20, rx.bad_frames);
    put32(p + 24, rx.seq_gaps);
    put64(p + 28, cnt.fe_t);
    put64(p + 36, cnt.net_t);
    put64(p + 44, cnt.det_t);
    put32(p + 52, kws_port_stack_peak());
    put32(p + 56, audio_overruns());
    put32(p + 60, kws_port_rx_lost());
    put32(p + 64, kws_port_tick_hz());                      /* what the tick counts above are in */
    send(KWS_MSG_STATS, p, sizeof p);
}

int main(void)
{
    kws_port_init();
    kws_proto_rx_reset(&rx);
    reset_all();
    static const uint8_t delimiter = 0;                     /* ends any frame the host holds half-received */
    kws_port_write(&delimiter, 1);                          /* from before a reset, so that the next decodes */
    send_error(KWS_ERR_STARTED, 0);                         /* a host mid-stream learns its stream is void */
    uint32_t bad_crc = 0, bad_frames = 0, gaps = 0;
    for (;;) {
#ifdef KWS_AUDIO_MIC
        const int16_t *block = kws_port_mic_block();
        if (block) {
            process(block, KWS_MIC_BLOCK, frame_event, send_logits ? frame_logits : 0);
        }
#endif
        const int b = kws_port_read_byte();
        if (b < 0) {
            kws_port_wait();                                /* nothing to do: sleep until an interrupt */
            continue;
        }
        uint8_t type;
        uint16_t seq;
        const uint8_t *payload;
        uint32_t len;
        const int got = kws_proto_rx_byte(&rx, (uint8_t)b, &type, &seq, &payload, &len);
        if (rx.bad_crc != bad_crc || rx.bad_frames != bad_frames) {
            send_error(rx.bad_crc != bad_crc ? KWS_ERR_BAD_CRC : KWS_ERR_BAD_FRAME, (uint16_t)(rx.last_seq + 1u));
            bad_crc = rx.bad_crc;
            bad_frames = rx.bad_frames;
        }
        if (!got) {
            continue;
        }
        if (rx.seq_gaps != gaps) {
            send_error(KWS_ERR_SEQ_GAP, seq);
            gaps = rx.seq_gaps;
        }
        if (type == KWS_MSG_HELLO_REQ) {
            send_logits = len > 0 && (payload[0] & 1u);
            reset_all();                                    /* the built-in thresholds again, too */
            thresholds_set = 0;
            /* thresholds after the flags: the session's, in force before its first sample */
            const int bad_thresholds = len > 1u && !take_thresholds(payload + 1, len - 1u);
#ifdef KWS_AUDIO_MIC
            kws_port_mic_start();                           /* listening starts with the first hello */
#endif
            send_hello();
            if (bad_thresholds) {
                send_error(KWS_ERR_BAD_REQUEST, seq);       /* after the HELLO, which a host waits for */
            }
        } else if (type == KWS_MSG_STATS_REQ) {
            send_stats();
        } else if (type == KWS_MSG_MONITOR_REQ) {
            send(KWS_MSG_MONITOR, scratch.tx.mon, (uint32_t)kws_mon_serialize(&mon, scratch.tx.mon));
            if (len > 0 && (payload[0] & 1u)) {             /* report and start a new period */
                kws_mon_reset(&mon);
            }
        } else if (type == KWS_MSG_THRESHOLDS_REQ) {
            thresholds(payload, len, seq);
        } else if (type == KWS_MSG_AUDIO) {
#ifdef KWS_AUDIO_MIC
            send_error(KWS_ERR_BAD_AUDIO, seq);             /* the microphone is the source */
#else
            if ((len & 1u) || len / 2u > KWS_LINK_MAX_BLOCK) {
                send_error(KWS_ERR_BAD_AUDIO, seq);
                continue;
            }
            process(kws_proto_rx_pcm16(&rx, len), len / 2u, frame_event, send_logits ? frame_logits : 0);
            uint8_t p[10];
            put16(p, 1);                                    /* one credit back */
            put64(p + 2, cnt.samples);
            send(KWS_MSG_CREDIT, p, sizeof p);
#endif
        } else {
            send_error(KWS_ERR_UNKNOWN, seq);
        }
    }
}
#endif
