/* The keyword spotter with its audio from the device's microphone (kws_port_mic_*, blocks of one
 * network stride); the host listens and controls it over the serial protocol (kws_session.h). */
#include "kws_app.h"
#include "kws_port.h"
#include "kws_session.h"

int main(void)
{
    static const kws_session_audio_t mic = {KWS_SESSION_MIC_AUDIO, kws_port_mic_start, kws_port_mic_overruns};
    kws_port_init();
    kws_session_start(&mic);
    for (;;) {
        const int16_t *block = kws_port_mic_block();
        if (block) {
            kws_session_audio(block, KWS_MIC_BLOCK);
        }
        const int b = kws_port_read_byte();
        if (b < 0) {
            kws_port_wait();                                /* nothing to do: sleep until an interrupt */
            continue;
        }
        kws_session_byte((uint8_t)b);
    }
}
