/* Runs a generated network (kws_net.c) on the emulated Cortex-M4F: reads <base>.in (int8 input)
 * and <base>.out (expected int8 output, from TFLM) through semihosting, runs one inference,
 * compares, then times `repeats` more inferences with SysTick next to a calibration loop of
 * known instruction count. Prints one line:
 *   net_bench equal=E outputs=N ticks=T runs=R calib_ticks=C calib_instr=I arena=A
 * Exit code: 0 equal, 1 differ, 2 setup error. */
#include <stdint.h>

#include "kws_net.h"
#include "kws_port.h"
#include "kws_print.h"
#include "semihost.h"

#define RUNS 3u

static uint64_t layer_ticks[KWS_NET_LAYERS], last_tick;

/* Called by the generated network after each layer when built with -DKWS_NET_PROFILE=kws_bench_layer. */
void kws_bench_layer(int layer);
void kws_bench_layer(int layer)
{
    const uint64_t now = kws_port_ticks();
    layer_ticks[layer] += now - last_tick;
    last_tick = kws_port_ticks();
}

static void print_layers(const char *name, const uint64_t *ticks)
{
    kws_print(name);
    for (unsigned i = 0; i < KWS_NET_LAYERS; i++) {
        kws_print_u64(ticks[i]);
        kws_print(i + 1u < KWS_NET_LAYERS ? "," : "");
    }
}

static int8_t input[KWS_NET_INPUT_BYTES];
static int8_t expect[KWS_NET_OUTPUT_SIZE];
static int8_t output[KWS_NET_OUTPUT_SIZE];
static int8_t arena[KWS_NET_ARENA_BYTES] __attribute__((aligned(4)));
#if KWS_NET_STREAMING
#define STEPS 40u                         /* timed stream steps of KWS_NET_STREAM_STEP frames */
static kws_net_stream_t stream;
static int8_t scratch[KWS_NET_STREAM_SCRATCH_BYTES] __attribute__((aligned(4)));
#endif


int main(void)
{
    static char cmd[512];
    kws_port_init();
    if (semihost_cmdline(cmd, sizeof cmd - 8u) != 0) {
        kws_print("net_bench error: no command line\n");
        kws_port_exit(2);
    }
    unsigned start = 0;                   /* the last word is the case's base path */
    for (unsigned i = 0; cmd[i]; i++) {
        if (cmd[i] == ' ') {
            start = i + 1u;
        }
    }
    int fi = semihost_open_ext(&cmd[start], "in");
    if (fi < 0 || semihost_read(fi, input, sizeof input) != sizeof input) {
        kws_print("net_bench error: cannot read the input\n");
        kws_port_exit(2);
    }
    int fo = semihost_open_ext(&cmd[start], "out");
    if (fo < 0 || semihost_read(fo, expect, sizeof expect) != sizeof expect) {
        kws_print("net_bench error: cannot read the expected output\n");
        kws_port_exit(2);
    }
    const uint64_t calib = qemu_calibrate();
    uint64_t t0;
    uint32_t ok = 1;                    /* every call returned KWS_NN_SUCCESS (counted into equal) */

    ok &= (uint32_t)(kws_net_run(input, output, arena) == KWS_NN_SUCCESS);
    uint32_t equal = 1;
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        equal &= (uint32_t)(output[i] == expect[i]);
    }
    for (unsigned i = 0; i < KWS_NET_LAYERS; i++) {
        layer_ticks[i] = 0;
    }
    uint64_t ticks = 0;
    for (unsigned r = 0; r < RUNS; r++) {
        t0 = kws_port_ticks();
        last_tick = t0;
        ok &= (uint32_t)(kws_net_run(input, output, arena) == KWS_NN_SUCCESS);
        ticks += kws_port_ticks() - t0;
    }
    equal &= ok;
    kws_print("net_bench equal=");
    kws_print_u64(equal);
    kws_print(" outputs=");
    kws_print_u64(KWS_NET_OUTPUT_SIZE);
    kws_print(" ticks=");
    kws_print_u64(ticks);
    kws_print(" runs=");
    kws_print_u64(RUNS);
    kws_print(" calib_ticks=");
    kws_print_u64(calib);
    kws_print(" calib_instr=");
    kws_print_u64(2u * QEMU_CALIB_ITERS);
    kws_print(" arena=");
    kws_print_u64(KWS_NET_ARENA_BYTES);
    print_layers(" layers=", layer_ticks);
#if KWS_NET_STREAMING
    /* The streaming form: fill a window, then time STEPS steps of KWS_NET_STREAM_STEP frames (each
     * completes one row of every layer) and the logits at a window end; check the logits of the
     * input window (pushed last) against the expected output. */
    kws_net_stream_reset(&stream);
    for (unsigned f = 0; f < KWS_NET_INPUT_FRAMES; f++) {
        ok &= (uint32_t)(kws_net_stream_push(&stream, input + f * KWS_NET_INPUT_COLS, scratch) == KWS_NN_SUCCESS);
    }
    for (unsigned i = 0; i < KWS_NET_LAYERS; i++) {
        layer_ticks[i] = 0;
    }
    t0 = kws_port_ticks();
    last_tick = t0;
    for (unsigned s = 0; s < STEPS * KWS_NET_STREAM_STEP; s++) {
        ok &= (uint32_t)(kws_net_stream_push(&stream, input + (s % KWS_NET_INPUT_FRAMES) * KWS_NET_INPUT_COLS, scratch) == KWS_NN_SUCCESS);
        last_tick = kws_port_ticks();
    }
    const uint64_t step_ticks = kws_port_ticks() - t0;
    static uint64_t step_layers[KWS_NET_LAYERS];
    for (unsigned i = 0; i < KWS_NET_LAYERS; i++) {
        step_layers[i] = layer_ticks[i];
    }
    kws_net_stream_reset(&stream);
    for (unsigned f = 0; f < KWS_NET_INPUT_FRAMES; f++) {
        ok &= (uint32_t)(kws_net_stream_push(&stream, input + f * KWS_NET_INPUT_COLS, scratch) == KWS_NN_SUCCESS);
    }
    t0 = kws_port_ticks();
    last_tick = t0;
    ok &= (uint32_t)(kws_net_stream_logits(&stream, output, scratch) == KWS_NN_SUCCESS);
    const uint64_t logit_ticks = kws_port_ticks() - t0;
    uint32_t stream_equal = 1;
    for (unsigned i = 0; i < KWS_NET_OUTPUT_SIZE; i++) {
        stream_equal &= (uint32_t)(output[i] == expect[i]);
    }
    stream_equal &= ok;
    equal &= stream_equal;
    kws_print(" stream_equal=");
    kws_print_u64(stream_equal);
    kws_print(" stream_steps=");
    kws_print_u64(STEPS);
    kws_print(" step_ticks=");
    kws_print_u64(step_ticks);
    kws_print(" logit_ticks=");
    kws_print_u64(logit_ticks);
    print_layers(" stream_layers=", step_layers);
#endif
    kws_print("\n");
    kws_port_exit(equal ? 0 : 1);
    return 0;
}
