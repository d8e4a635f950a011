/* Fixed-point 13-MFCC front end: int16 PCM in, int32 Q16 cepstra and int8 features out.
 *
 * Bit-exact with the Python reference (host/kws/frontend/fixed.py); every constant comes from
 * the generated kws_fe_config.h / kws_fe_tables.c, written by `kws codegen frontend` from the
 * one spec. Integer-only, no malloc, no libc calls; all memory is owned by the caller.
 *
 * Formats (docs/frontend.md):
 *   input      int16 PCM, KWS_FE_SAMPLE_RATE Hz, mono
 *   cepstra    int32, Q(KWS_FE_CEPSTRUM_FRAC) natural-log units (Q16: 65536 = 1.0)
 *   features   int8, q = clamp(round((c - offset) / step), -128, 127) per coefficient
 */
#ifndef KWS_FRONTEND_H
#define KWS_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#include "kws_fe_config.h"

/* Scratch memory for one frame computation. Caller-owned; its content between calls is
 * irrelevant, so one instance can be shared with other stages that run at other times. */
typedef struct {
    union {
        int32_t z[2 * KWS_FE_FFT_HALF];    /* complex FFT, interleaved (re, im) */
        uint64_t power[KWS_FE_FFT_HALF];   /* then, in place: power of bin k in power[k] */
    } u;
    int32_t logmel[KWS_FE_NUM_BANDS];      /* log2 mel energies, Q(KWS_FE_LOG_FRAC) */
} kws_fe_scratch_t;

/* Streaming state: the last KWS_FE_WINDOW - KWS_FE_HOP samples plus the incoming hop. */
typedef struct {
    int16_t buf[KWS_FE_WINDOW];
    uint32_t fill;          /* valid samples in buf */
    uint32_t frames;        /* frames produced since reset */
} kws_fe_stream_t;

/* Computes one frame from KWS_FE_WINDOW samples. cepstra (KWS_FE_NUM_CEPSTRA int32) may be
 * NULL when only features are wanted, and features may be NULL likewise. */
void kws_fe_compute(const int16_t frame[KWS_FE_WINDOW], int32_t *cepstra, int8_t *features,
                    kws_fe_scratch_t *scratch);

void kws_fe_stream_reset(kws_fe_stream_t *st);

/* Feeds up to n samples and stops early when a frame completes: returns the number of
 * samples consumed and sets *frame_ready to 1 if cepstra/features now hold a new frame
 * (0 otherwise). Call again with the rest. Chunk boundaries never change the output. */
size_t kws_fe_stream_feed(kws_fe_stream_t *st, const int16_t *pcm, size_t n, int32_t *cepstra,
                          int8_t *features, kws_fe_scratch_t *scratch, int *frame_ready);

/* Spec hash this build was generated from (compare with the host's at handshake). */
uint32_t kws_fe_spec_hash32(void);

#endif /* KWS_FRONTEND_H */
