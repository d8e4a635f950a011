/* The keyword spotter's one loop (kws_app.h), shared by every program: the states of front end,
 * network, detector and monitor, their counters, and the scratch area they take turns in. */
#include "kws_app.h"

#include "kws_port.h"

#if KWS_NET_INPUT_COLS != KWS_FE_NUM_CEPSTRA
#error "the network's input columns differ from the front end's cepstra: regenerate with matching spec"
#endif
#if KWS_NET_FRONTEND_HASH32 != KWS_FE_SPEC_HASH32
#error "the network was generated for another front end: run kws codegen model with this spec"
#endif

kws_app_scratch_t kws_app_scratch;
kws_app_counters_t kws_app_cnt;
kws_det_t kws_app_det;
kws_mon_t kws_app_mon;

static kws_fe_stream_t fe_state;

static void check(kws_nn_status st)
{
    if (st != KWS_NN_SUCCESS) {
        kws_port_exit(KWS_APP_EXIT_NETWORK);
    }
}

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

void kws_app_process(const int16_t *pcm, size_t n, kws_app_event_fn on_event, kws_app_logits_fn on_logits)
{
    kws_app_counters_t *const cnt = &kws_app_cnt;
    size_t pos = 0;
    while (pos < n) {
        int ready;
        uint64_t a = kws_port_ticks();
        const size_t used = kws_fe_stream_feed(&fe_state, pcm + pos, n - pos, 0, FRAME_OUT(cnt->frames),
                                               &kws_app_scratch.fe, &ready);
        cnt->fe_t += kws_port_ticks() - a;
        pos += used;
        cnt->samples += used;
        if (!ready) {
            continue;
        }
        kws_mon_push(&kws_app_mon, FRAME_OUT(cnt->frames));
#if KWS_NET_STREAMING
        a = kws_port_ticks();
        check(kws_net_stream_push(&net_stream, frame, kws_app_scratch.net));
        cnt->net_t += kws_port_ticks() - a;
#endif
        cnt->frames++;
        if (cnt->frames < KWS_NET_INPUT_FRAMES || (cnt->frames - KWS_NET_INPUT_FRAMES) % KWS_DET_STRIDE_FRAMES != 0) {
            continue;
        }
        a = kws_port_ticks();
#if KWS_NET_STREAMING
        check(kws_net_stream_logits(&net_stream, logits, kws_app_scratch.net));
#else
        for (unsigned f = 0; f < KWS_NET_INPUT_FRAMES; f++) {        /* oldest frame first */
            const int8_t *src = ring[(cnt->frames + f) % KWS_NET_INPUT_FRAMES];
            for (unsigned j = 0; j < KWS_FE_NUM_CEPSTRA; j++) {
                window[f * KWS_FE_NUM_CEPSTRA + j] = src[j];
            }
        }
        check(kws_net_run(window, logits, kws_app_scratch.net));
#endif
        cnt->net_t += kws_port_ticks() - a;
        if (on_logits) {
            on_logits(cnt->runs, logits);
        }
        cnt->runs++;
        a = kws_port_ticks();
        uint32_t score = 0;
        const int k = kws_det_push(&kws_app_det, logits, &score);
        cnt->det_t += kws_port_ticks() - a;
        if (k >= 0) {
            cnt->events++;
            on_event(k, score, cnt->samples);
        }
    }
}

void kws_app_reset(void)
{
    kws_fe_stream_reset(&fe_state);
    kws_det_reset(&kws_app_det);
    kws_mon_reset(&kws_app_mon);
#if KWS_NET_STREAMING
    kws_net_stream_reset(&net_stream);
#endif
    kws_app_counters_t *const cnt = &kws_app_cnt;
    cnt->samples = cnt->frames = cnt->runs = cnt->events = 0;     /* field by field: no memset on the island */
    cnt->fe_t = cnt->net_t = cnt->det_t = 0;
}
