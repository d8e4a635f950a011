/* The keyword spotter with its audio streamed by the host over the serial protocol (kws_session.h). */
#include "kws_port.h"
#include "kws_session.h"

int main(void)
{
    static const kws_session_audio_t host = {KWS_SESSION_HOST_AUDIO, 0, 0};
    kws_port_init();
    kws_session_start(&host);
    for (;;) {
        const int b = kws_port_read_byte();
        if (b < 0) {
            kws_port_wait();                                /* nothing to do: sleep until an interrupt */
            continue;
        }
        kws_session_byte((uint8_t)b);
    }
}
