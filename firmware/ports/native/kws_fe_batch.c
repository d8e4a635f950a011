/* Host-only helper: runs the streaming front end over a whole buffer, fed in the given chunk
 * sizes (cycled), so tests and benchmarks exercise exactly the firmware's streaming path.
 * Used through ctypes by host/kws/native.py. */
#include <stddef.h>
#include <stdint.h>

#include "kws_frontend.h"

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
