/* The golden-vector test of the front end, run on the emulated Cortex-M4 (QEMU netduinoplus2).
 *
 * Same vectors as tests/c/test_frontend.c on the host. The case's base path comes from the
 * semihosting command line; audio is read through semihosting in hop-sized blocks and fed
 * to the streaming front end; every frame's cepstra and features are compared with the
 * expected files. SysTick ticks spent in the front end are reported together with a
 * calibration loop of known instruction count, so the host can turn them into instructions
 * (run QEMU with -icount shift=0). Output on USART1, one line:
 *   fe_golden frames=N equal=M fe_ticks=T calib_ticks=C calib_instr=I
 * Exit code (semihosting): 0 all equal, 1 mismatch, 2 setup error. */
#include <stdint.h>

#include "kws_frontend.h"
#include "kws_port.h"
#include "kws_print.h"
#include "semihost.h"



static int fail(const char *why)
{
    kws_print("fe_golden error: ");
    kws_print(why);
    kws_print("\n");
    kws_port_exit(2);
    return 2;
}

int main(void)
{
    static char cmd[512];
    static kws_fe_scratch_t scratch;
    static kws_fe_stream_t st;
    static int16_t block[KWS_FE_HOP];
    kws_port_init();

    if (semihost_cmdline(cmd, sizeof cmd) != 0) {
        return fail("no semihosting command line");
    }
    unsigned start = 0, len = 0;     /* last space-separated word is the case base path */
    for (unsigned i = 0; cmd[i]; i++) {
        if (cmd[i] == ' ') {
            start = i + 1u;
        }
        len = i + 1u;
    }
    char *base = &cmd[start];
    if (len + 6u > sizeof cmd) {
        return fail("path too long");
    }
    int fp = semihost_open_ext(base, "pcm");
    int fc = semihost_open_ext(base, "cep");
    int ff = semihost_open_ext(base, "feat");
    if (fp < 0 || fc < 0 || ff < 0) {
        return fail("cannot open the golden files");
    }

    const uint64_t calib = qemu_calibrate();

    kws_fe_stream_reset(&st);
    uint32_t frames = 0, equal = 0;
    uint64_t fe_ticks = 0;
    size_t got;
    while ((got = semihost_read(fp, block, sizeof block)) > 0) {
        size_t n = got / sizeof block[0], pos = 0;
        while (pos < n) {
            int32_t cep[KWS_FE_NUM_CEPSTRA], want_c[KWS_FE_NUM_CEPSTRA];
            int8_t q[KWS_FE_NUM_CEPSTRA], want_q[KWS_FE_NUM_CEPSTRA];
            int ready;
            uint64_t a = kws_port_ticks();
            pos += kws_fe_stream_feed(&st, block + pos, n - pos, cep, q, &scratch, &ready);
            fe_ticks += kws_port_ticks() - a;
            if (!ready) {
                continue;
            }
            frames++;
            if (semihost_read(fc, want_c, sizeof want_c) != sizeof want_c ||
                semihost_read(ff, want_q, sizeof want_q) != sizeof want_q) {
                return fail("expected outputs shorter than the audio");
            }
            int same = 1;
            for (unsigned j = 0; j < KWS_FE_NUM_CEPSTRA; j++) {
                same &= (cep[j] == want_c[j]) & (q[j] == want_q[j]);
            }
            equal += (uint32_t)same;
        }
    }
    kws_print("fe_golden frames=");
    kws_print_u64(frames);
    kws_print(" equal=");
    kws_print_u64(equal);
    kws_print(" fe_ticks=");
    kws_print_u64(fe_ticks);
    kws_print(" calib_ticks=");
    kws_print_u64(calib);
    kws_print(" calib_instr=");
    kws_print_u64(2u * QEMU_CALIB_ITERS);
    kws_print(" spec=");
    kws_print_hex32(kws_fe_spec_hash32());
    kws_print("\n");
    kws_port_exit(frames > 0 && equal == frames ? 0 : 1);
    return 0;
}
