/* The keyword spotter's one loop, shared by every program (main_semihost.c, main_serial.c,
 * main_mic.c, which differ only in where the audio comes from and where the results go):
 * audio in blocks -> front end -> network (streamed: every frame computes the rows it completes;
 * or, for a network with padding along time, the whole feature window) -> logits every
 * KWS_DET_STRIDE_FRAMES hops -> detector -> events. */
#ifndef KWS_APP_H
#define KWS_APP_H

#include <stddef.h>
#include <stdint.h>

#include "kws_detector.h"
#include "kws_frontend.h"
#include "kws_monitor.h"
#include "kws_net.h"

#if KWS_NET_STREAMING
#define KWS_APP_NET_SCRATCH_BYTES KWS_NET_STREAM_SCRATCH_BYTES
#else
#define KWS_APP_NET_SCRATCH_BYTES KWS_NET_ARENA_BYTES
#endif

/* One scratch area for everything that needs memory only during one call: the front end's FFT,
 * the network's rows (or arena), and a program's output buffers (its console or protocol frames,
 * borrowed between calls of kws_app_process: see KWS_APP_BORROW). The programs are
 * single-threaded and never print, send or parse while the front end or the network runs, so
 * they take turns; nothing in it survives from one use to the next. */
typedef union {
    kws_fe_scratch_t fe;
    int8_t net[KWS_APP_NET_SCRATCH_BYTES];
    uint32_t align;
} kws_app_scratch_t;

/* A program's buffers of type T in the scratch area; a T larger than the area fails the build. */
#define KWS_APP_BORROW(T) \
    ((T *)(void *)&kws_app_scratch + 0 * sizeof(char[sizeof(T) <= sizeof(kws_app_scratch_t) ? 1 : -1]))

/* Exit code when a network kernel refuses the generated network's parameters (kws_nn.h): the
 * network and the kernels were built from sources that do not match; no logits are better than
 * wrong ones. */
#define KWS_APP_EXIT_NETWORK 3

typedef struct {
    uint64_t samples, frames, runs, events, fe_t, net_t, det_t;   /* fe/net/det_t: kws_port_ticks() spent */
} kws_app_counters_t;

typedef void (*kws_app_event_fn)(int k, uint32_t score, uint64_t sample);
typedef void (*kws_app_logits_fn)(uint64_t run, const int8_t *logits);

extern kws_app_scratch_t kws_app_scratch;
extern kws_app_counters_t kws_app_cnt;    /* since the last kws_app_reset */
extern kws_det_t kws_app_det;             /* its thresholds may be set (kws_det_set_thresholds) */
extern kws_mon_t kws_app_mon;             /* feature statistics (kws_mon_serialize, kws_mon_reset) */

/* Everything back to its start: front end, network rows, detector (built-in thresholds), monitor, counters. */
void kws_app_reset(void);

/* n samples through front end, network and detector: on_event for every event, on_logits (may
 * be 0) for every network run. Blocks of any size; the results do not depend on them. */
void kws_app_process(const int16_t *pcm, size_t n, kws_app_event_fn on_event, kws_app_logits_fn on_logits);

#endif /* KWS_APP_H */
