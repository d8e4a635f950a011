/* The keyword spotter: audio in hop-sized blocks -> front end -> feature window -> network
 * every KWS_DET_STRIDE_FRAMES hops -> detector -> events on the serial link.
 *
 * This build takes its audio from a file through semihosting (emulator only; the fast source
 * for long bit-exactness runs): semihosting command line "<elf> <audio.pcm> [<logits.bin>]",
 * audio raw int16 little-endian at KWS_FE_SAMPLE_RATE. With a second path every network
 * run's int8 logits are written there for diffing against the host reference.
 * Serial output, one line each:
 *   kws hello fe=<spec hash32> model=<model hash32> det=<detector hash32> rate=<Hz>
 *   kws event label=<name> class=<k> score=<Q15> sample=<n>
 *   kws done samples=<n> frames=<n> runs=<n> events=<n> fe_ticks=<t> net_ticks=<t> det_ticks=<t>
 *        calib_ticks=<t> calib_instr=<n> stack=<peak stack bytes>
 */
#include <stdint.h>

#include "kws_detector.h"
#include "kws_frontend.h"
#include "kws_net.h"
#include "kws_port.h"
#include "kws_print.h"
#include "semihost.h"

#if KWS_NET_INPUT_COLS != KWS_FE_NUM_CEPSTRA
#error "the network's input columns differ from the front end's cepstra: regenerate with matching spec"
#endif
#if KWS_NET_FRONTEND_HASH32 != KWS_FE_SPEC_HASH32
#error "the network was generated for another front end: run kws codegen model with this spec"
#endif


static kws_fe_stream_t fe_state;
static kws_fe_scratch_t fe_scratch;
static int8_t ring[KWS_NET_INPUT_FRAMES][KWS_FE_NUM_CEPSTRA];   /* feature window, circular */
static int8_t window[KWS_NET_INPUT_BYTES];
static int8_t logits[KWS_NET_OUTPUT_SIZE];
static int8_t arena[KWS_NET_ARENA_BYTES] __attribute__((aligned(4)));
static int16_t block[KWS_FE_HOP];
static kws_det_t det;

static void field(const char *name, uint64_t v)
{
    kws_print(" ");
    kws_print(name);
    kws_print("=");
    kws_print_u64(v);
}

int main(void)
{
    static char cmd[512];
    kws_port_init();
    kws_print("kws hello fe=");
    kws_print_hex32(KWS_FE_SPEC_HASH32);
    kws_print(" model=");
    kws_print_hex32(KWS_NET_MODEL_HASH32);
    kws_print(" det=");
    kws_print_hex32(KWS_DET_HASH32);
    field("rate", KWS_FE_SAMPLE_RATE);
    kws_print("\n");
    if (semihost_cmdline(cmd, sizeof cmd) != 0) {
        kws_print("kws error no command line\n");
        kws_port_exit(2);
    }
    /* words: elf audio [logits] */
    char *words[3] = {0, 0, 0};
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
    int audio = nw > 1 ? semihost_open(words[1], 1) : -1;
    if (audio < 0) {
        kws_print("kws error cannot open the audio file\n");
        kws_port_exit(2);
    }
    int dump = nw > 2 ? semihost_open_write(words[2]) : -1;

    const uint64_t calib = qemu_calibrate();

    kws_fe_stream_reset(&fe_state);
    kws_det_reset(&det);
    uint64_t samples = 0, frames = 0, runs = 0, events = 0, fe_t = 0, net_t = 0, det_t = 0;
    size_t got;
    while ((got = semihost_read(audio, block, sizeof block)) >= sizeof block[0]) {
        const size_t n = got / sizeof block[0];
        size_t pos = 0;
        while (pos < n) {
            int32_t *no_cepstra = 0;
            int ready;
            uint64_t a = kws_port_ticks();
            const size_t used = kws_fe_stream_feed(&fe_state, block + pos, n - pos, no_cepstra,
                                                   ring[frames % KWS_NET_INPUT_FRAMES], &fe_scratch, &ready);
            fe_t += kws_port_ticks() - a;
            pos += used;
            samples += used;
            if (!ready) {
                continue;
            }
            frames++;
            if (frames < KWS_NET_INPUT_FRAMES || (frames - KWS_NET_INPUT_FRAMES) % KWS_DET_STRIDE_FRAMES != 0) {
                continue;
            }
            a = kws_port_ticks();
            for (unsigned f = 0; f < KWS_NET_INPUT_FRAMES; f++) {        /* oldest frame first */
                const int8_t *src = ring[(frames + f) % KWS_NET_INPUT_FRAMES];
                for (unsigned j = 0; j < KWS_FE_NUM_CEPSTRA; j++) {
                    window[f * KWS_FE_NUM_CEPSTRA + j] = src[j];
                }
            }
            kws_net_run(window, logits, arena);
            net_t += kws_port_ticks() - a;
            runs++;
            if (dump >= 0) {
                semihost_write(dump, logits, sizeof logits);
            }
            a = kws_port_ticks();
            uint32_t score = 0;
            const int k = kws_det_push(&det, logits, &score);
            det_t += kws_port_ticks() - a;
            if (k >= 0) {
                events++;
                kws_print("kws event label=");
                kws_print(kws_det_labels[k]);
                field("class", (uint64_t)k);
                field("score", score);
                field("sample", samples);
                kws_print("\n");
            }
        }
    }
    if (dump >= 0) {
        semihost_close(dump);
    }
    kws_print("kws done");
    field("samples", samples);
    field("frames", frames);
    field("runs", runs);
    field("events", events);
    field("fe_ticks", fe_t);
    field("net_ticks", net_t);
    field("det_ticks", det_t);
    field("calib_ticks", calib);
    field("calib_instr", 2u * QEMU_CALIB_ITERS);
    field("stack", kws_port_stack_peak());
    kws_print("\n");
    kws_port_exit(0);
    return 0;
}
