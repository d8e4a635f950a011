/* The serial protocol of docs/protocol.md around the keyword spotter (kws_app.h), for the
 * programs that talk to a host: audio streamed by the host (main_serial.c) or taken from the
 * device's microphone (main_mic.c).
 *
 * HELLO_REQ -> HELLO (hashes, rate, block size, credits); AUDIO blocks within the granted credits
 * -> one CREDIT per block consumed, EVENT and (if asked) LOGITS frames; STATS_REQ -> STATS;
 * MONITOR_REQ -> MONITOR (feature statistics for drift detection, kws_monitor.h); THRESHOLDS_REQ
 * -> THRESHOLDS (the detector's thresholds; the host may set them for the session, there or, in
 * force from its first sample, in the HELLO_REQ). With the microphone as the source, AUDIO frames
 * are refused and every HELLO_REQ (which also restarts the sample count) starts the microphone.
 * Damaged, unknown or out-of-order frames -> ERROR frames and counters, never a crash. */
#ifndef KWS_SESSION_H
#define KWS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define KWS_SESSION_HOST_AUDIO 0u   /* HELLO's audio source: streamed by the host */
#define KWS_SESSION_MIC_AUDIO 1u    /* ... the device's microphone */

typedef struct {
    uint8_t source;                 /* KWS_SESSION_HOST_AUDIO or KWS_SESSION_MIC_AUDIO */
    void (*start)(void);            /* called at every HELLO_REQ (the microphone starts listening); may be 0 */
    uint32_t (*overruns)(void);     /* audio blocks lost because the program was late (STATS); may be 0 */
} kws_session_audio_t;

/* A session from scratch: receiver, keyword spotter; tells a host mid-stream that its stream is void. */
void kws_session_start(const kws_session_audio_t *audio);

/* One byte received from the host. */
void kws_session_byte(uint8_t b);

/* Audio the program took itself (the microphone): through the keyword spotter, results as frames. */
void kws_session_audio(const int16_t *pcm, size_t n);

#endif /* KWS_SESSION_H */
