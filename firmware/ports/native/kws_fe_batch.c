/* Host-only helper: runs the streaming front end over a whole buffer, fed in the given chunk
 * sizes (cycled), so tests and benchmarks exercise exactly the firmware's streaming path.
 * Also the feature monitor over a batch of frames. Used through ctypes by host/kws/reference/native.py. */
#include <stddef.h>
#include <stdint.h>

#include "kws_frontend.h"
#include "kws_monitor.h"

size_t kws_fe_batch(const int16_t *pcm, size_t n, const uint32_t *chunks, size_t nchunks, int32_t *cepstra,
                    int8_t *features, size_t max_frames);

size_t kws_fe_batch(const int16_t *pcm, size_t n, const uint32_t *chunks, size_t nchunks, int32_t *cepstra,
                    int8_t *features, size_t max_frames)
{
    kws_fe_stream_t st;
    kws_fe_scratch_t scratch;
    size_t frames = 0, pos = 0, c = 0;
    kws_fe_stream_reset(&st);
    while (pos < n && frames < max_frames) {
        size_t chunk = nchunks ? chunks[c++ % nchunks] : n;
        if (chunk > n - pos) {
            chunk = n - pos;
        }
        size_t end = pos + chunk;
        while (pos < end && frames < max_frames) {
            int ready = 0;
            pos += kws_fe_stream_feed(&st, pcm + pos, end - pos, cepstra + frames * KWS_FE_NUM_CEPSTRA,
                                      features + frames * KWS_FE_NUM_CEPSTRA, &scratch, &ready);
            frames += (size_t)ready;
        }
    }
    return frames;
}

/* The feature monitor over n frames of int8 features (row per frame), with its halving limit
 * set to `limit` (0: the spec's). Writes the serialized statistics to out (KWS_MON_BYTES). */
size_t kws_mon_batch(const int8_t *features, size_t n, uint32_t limit, uint8_t *out);

size_t kws_mon_batch(const int8_t *features, size_t n, uint32_t limit, uint8_t *out)
{
    kws_mon_t m;
    kws_mon_reset(&m);
    if (limit) {
        m.limit = limit;
    }
    for (size_t i = 0; i < n; i++) {
        kws_mon_push(&m, features + i * KWS_MON_COEFFS);
    }
    return kws_mon_serialize(&m, out);
}
