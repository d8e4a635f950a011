/* The keyword spotter with its audio from a file through semihosting (the emulator only; fast:
 * long bit-exactness runs). Command line "<elf> <audio.pcm> [<logits.bin>]", raw int16 LE at
 * KWS_FE_SAMPLE_RATE; every network run's int8 logits go to the second file. Text lines on the
 * serial port:
 *   kws hello fe=<hash32> model=<hash32> det=<hash32> rate=<Hz>
 *   kws event label=<name> class=<k> score=<Q15> sample=<n>
 *   kws monitor <hex of the feature statistics, kws_monitor.h>
 *   kws done samples=.. frames=.. runs=.. events=.. fe_ticks=.. net_ticks=.. det_ticks=..
 *            calib_ticks=.. calib_instr=.. stack=<peak bytes>
 */
#include <stdint.h>

#include "kws_app.h"
#include "kws_port.h"
#include "kws_print.h"
#include "semihost.h"

#define CMD_BYTES 512u              /* semihosting command line */

typedef union {                     /* borrowed from the keyword spotter's scratch area */
    char cmd[CMD_BYTES];
    uint8_t mon[KWS_MON_BYTES];
} io_t;

static int16_t block[KWS_FE_HOP];
static int dump = -1;

static void field(const char *name, uint64_t v)
{
    kws_print(" ");
    kws_print(name);
    kws_print("=");
    kws_print_u64(v);
}

static void text_event(int k, uint32_t score, uint64_t sample)
{
    kws_print("kws event label=");
    kws_print(kws_det_labels[k]);
    field("class", (uint64_t)k);
    field("score", score);
    field("sample", sample);
    kws_print("\n");
}

static void file_logits(uint64_t run, const int8_t *lg)
{
    (void)run;
    semihost_write(dump, lg, KWS_NET_OUTPUT_SIZE);
}

int main(void)
{
    io_t *const io = KWS_APP_BORROW(io_t);
    char *const cmd = io->cmd;          /* read before any audio: words[] are used only to open files */
    kws_port_init();
    kws_print("kws hello fe=");
    kws_print_hex32(KWS_FE_SPEC_HASH32);
    kws_print(" model=");
    kws_print_hex32(KWS_NET_MODEL_HASH32);
    kws_print(" det=");
    kws_print_hex32(KWS_DET_HASH32);
    field("rate", KWS_FE_SAMPLE_RATE);
    kws_print("\n");
    if (semihost_cmdline(cmd, CMD_BYTES) != 0) {
        kws_print("kws error no command line\n");
        kws_port_exit(2);
    }
    char *words[3] = {0, 0, 0};          /* elf audio [logits] */
    unsigned nw = 0;
    for (char *c = cmd; *c && nw < 3;) {
        while (*c == ' ') {
            *c++ = 0;
        }
        if (!*c) {
            break;
        }
        words[nw++] = c;
        while (*c && *c != ' ') {
            c++;
        }
    }
    const int audio = nw > 1 ? semihost_open(words[1], 1) : -1;
    if (audio < 0) {
        kws_print("kws error cannot open the audio file\n");
        kws_port_exit(2);
    }
    dump = nw > 2 ? semihost_open_write(words[2]) : -1;
    const uint64_t calib = qemu_calibrate();
    kws_app_reset();
    size_t got;
    while ((got = semihost_read(audio, block, sizeof block)) >= sizeof block[0]) {
        kws_app_process(block, got / sizeof block[0], text_event, dump >= 0 ? file_logits : 0);
    }
    if (dump >= 0) {
        semihost_close(dump);
    }
    kws_print("kws monitor ");
    const size_t nmon = kws_mon_serialize(&kws_app_mon, io->mon);
    for (size_t i = 0; i < nmon; i++) {
        kws_print_hex8(io->mon[i]);
    }
    kws_print("\n");
    const kws_app_counters_t *const cnt = &kws_app_cnt;
    kws_print("kws done");
    field("samples", cnt->samples);
    field("frames", cnt->frames);
    field("runs", cnt->runs);
    field("events", cnt->events);
    field("fe_ticks", cnt->fe_t);
    field("net_ticks", cnt->net_t);
    field("det_ticks", cnt->det_t);
    field("calib_ticks", calib);
    field("calib_instr", 2u * QEMU_CALIB_ITERS);
    field("stack", kws_port_stack_peak());
    kws_print("\n");
    kws_port_exit(0);
    return 0;
}
