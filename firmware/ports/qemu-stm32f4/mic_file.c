/* An emulated microphone for QEMU: blocks of KWS_MIC_BLOCK samples read through semihosting
 * from the raw int16 file named on the command line ("<elf> <audio.pcm>"), as fast as the
 * app takes them. The file starts "playing" when the app starts the microphone; after its
 * last whole block the microphone is silent (no more blocks). Lets the microphone build of the
 * app (app/main_mic.c) run end to end in the emulator: kws device listen, bit-exact events. */
#include <stdint.h>

#include "kws_fe_config.h"
#include "kws_det_config.h"
#include "kws_port.h"
#include "sleep.h"
#include "semihost.h"

static int16_t block[KWS_MIC_BLOCK];
static int handle = -1;

void kws_port_mic_start(void)
{
    static char cmd[256];
    if (handle >= 0 || semihost_cmdline(cmd, sizeof cmd) != 0) {
        return;
    }
    char *c = cmd;
    while (*c && *c != ' ') {                         /* skip the program name */
        c++;
    }
    while (*c == ' ') {
        c++;
    }
    char *end = c;
    while (*end && *end != ' ') {
        end++;
    }
    *end = 0;
    handle = *c ? semihost_open(c, 1) : -1;
}

const int16_t *kws_port_mic_block(void)
{
    if (handle < 0) {
        return 0;
    }
    if (semihost_read(handle, block, sizeof block) < sizeof block) {
        semihost_close(handle);
        handle = -2;                                  /* finished: silent from now on */
        return 0;
    }
    return block;
}

int kws_port_mic_ready(void)
{
    return handle >= 0;                               /* a file plays as fast as the app takes it */
}

uint32_t kws_port_mic_overruns(void)
{
    return 0;                                         /* the file waits for the app */
}
