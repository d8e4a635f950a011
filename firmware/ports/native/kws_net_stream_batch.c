/* Host-only helper (ctypes, kws.reference.native.NativeNet.stream): pushes n feature frames through the
 * streaming network and writes the logits of every window ending at frame t with
 * t + 1 >= KWS_NET_INPUT_FRAMES and (t + 1 - KWS_NET_INPUT_FRAMES) % stride == 0. Returns the
 * number of windows, -1 when the network is not streamable or stride is not a multiple of
 * KWS_NET_STREAM_STEP, or -2 when a kernel refuses the network's parameters (kws_nn.h). */
#include <stddef.h>
#include <stdint.h>

#include "kws_net.h"

long kws_net_stream_batch(const int8_t *frames, size_t n, unsigned stride, int8_t *logits, int8_t *scratch);

long kws_net_stream_batch(const int8_t *frames, size_t n, unsigned stride, int8_t *logits, int8_t *scratch)
{
#if KWS_NET_STREAMING
    kws_net_stream_t s;                 /* per call: callers may run several in parallel */
    long windows = 0;
    if (stride == 0 || stride % KWS_NET_STREAM_STEP != 0) {
        return -1;
    }
    kws_net_stream_reset(&s);
    for (size_t t = 0; t < n; t++) {
        if (kws_net_stream_push(&s, frames + t * KWS_NET_INPUT_COLS, scratch) != KWS_NN_SUCCESS) {
            return -2;
        }
        if (t + 1 >= KWS_NET_INPUT_FRAMES && (t + 1 - KWS_NET_INPUT_FRAMES) % stride == 0) {
            if (kws_net_stream_logits(&s, logits + (size_t)windows * KWS_NET_OUTPUT_SIZE, scratch) != KWS_NN_SUCCESS) {
                return -2;
            }
            windows++;
        }
    }
    return windows;
#else
    (void)frames, (void)n, (void)stride, (void)logits, (void)scratch;
    return -1;
#endif
}
