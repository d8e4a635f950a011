/* C unit test of the front end against the golden vectors shared with pytest.
 *
 * Usage: test_frontend <golden dir>. The directory holds index.txt ("spec <hash32 hex>" then
 * one "case <name> <samples> <frames>" per line) and per case <name>.pcm (int16 LE),
 * <name>.cep (int32 LE, frames x cepstra) and <name>.feat (int8). Each case is run twice:
 * whole frames through kws_fe_compute, and through the streaming API in odd chunk sizes.
 * Every integer must match. Prints "N passed, M failed". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kws_frontend.h"

static int failures = 0, passes = 0;

static void *read_file(const char *dir, const char *name, const char *ext, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? (size_t)n : 1u);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int16_t rd16(const uint8_t *p) { return (int16_t)(uint16_t)(p[0] | (p[1] << 8)); }
static int32_t rd32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24));
}

static void check_case(const char *dir, const char *name, size_t samples, size_t frames)
{
    size_t lp, lc, lf;
    uint8_t *rawp = read_file(dir, name, "pcm", &lp);
    uint8_t *rawc = read_file(dir, name, "cep", &lc);
    int8_t *feat = read_file(dir, name, "feat", &lf);
    if (lp != 2 * samples || lc != 4 * frames * KWS_FE_NUM_CEPSTRA || lf != frames * KWS_FE_NUM_CEPSTRA) {
        fprintf(stderr, "%s: file sizes do not match index.txt\n", name);
        exit(2);
    }
    int16_t *pcm = malloc(samples * sizeof *pcm);
    for (size_t i = 0; i < samples; i++) {
        pcm[i] = rd16(rawp + 2 * i);
    }
    kws_fe_scratch_t scratch;
    int32_t cep[KWS_FE_NUM_CEPSTRA];
    int8_t q[KWS_FE_NUM_CEPSTRA];
    size_t bad = 0;

    /* 1. frame by frame */
    for (size_t t = 0; t < frames; t++) {
        kws_fe_compute(pcm + t * KWS_FE_HOP, cep, q, &scratch);
        for (unsigned j = 0; j < KWS_FE_NUM_CEPSTRA; j++) {
            int32_t ec = rd32(rawc + 4 * (t * KWS_FE_NUM_CEPSTRA + j));
            int8_t ef = feat[t * KWS_FE_NUM_CEPSTRA + j];
            if (cep[j] != ec || q[j] != ef) {
                if (bad++ < 5) {
                    fprintf(stderr, "%s frame %zu c%u: got %d/%d want %d/%d\n", name, t, j, cep[j], q[j], ec, ef);
                }
            }
        }
    }
    /* 2. streaming in odd chunks (1, 7, 160, 333, 1000 samples, cycled) */
    static const size_t chunks[] = {1, 7, 160, 333, 1000};
    kws_fe_stream_t st;
    kws_fe_stream_reset(&st);
    size_t pos = 0, t = 0, c = 0;
    while (pos < samples) {
        size_t end = pos + chunks[c++ % 5];
        if (end > samples) {
            end = samples;
        }
        while (pos < end) {
            int ready;
            pos += kws_fe_stream_feed(&st, pcm + pos, end - pos, cep, q, &scratch, &ready);
            if (ready) {
                for (unsigned j = 0; j < KWS_FE_NUM_CEPSTRA && t < frames; j++) {
                    if (cep[j] != rd32(rawc + 4 * (t * KWS_FE_NUM_CEPSTRA + j)) ||
                        q[j] != feat[t * KWS_FE_NUM_CEPSTRA + j]) {
                        if (bad++ < 5) {
                            fprintf(stderr, "%s (stream) frame %zu c%u differs\n", name, t, j);
                        }
                    }
                }
                t++;
            }
        }
    }
    if (t != frames) {
        fprintf(stderr, "%s: streaming produced %zu frames, want %zu\n", name, t, frames);
        bad++;
    }
    printf("%-24s %6zu frames  %s\n", name, frames, bad ? "FAIL" : "ok");
    if (bad) {
        failures++;
    } else {
        passes++;
    }
    free(pcm);
    free(rawp);
    free(rawc);
    free(feat);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <golden dir>\n", argv[0]);
        return 2;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/index.txt", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 2;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char name[256];
        size_t samples, frames;
        unsigned hash;
        if (sscanf(line, "spec %x", &hash) == 1) {
            if (hash != KWS_FE_SPEC_HASH32) {
                fprintf(stderr, "golden vectors are for spec %08x, this build is %08x: run `kws golden`\n", hash,
                        (unsigned)KWS_FE_SPEC_HASH32);
                return 2;
            }
        } else if (sscanf(line, "case %255s %zu %zu", name, &samples, &frames) == 3) {
            check_case(argv[1], name, samples, frames);
        }
    }
    fclose(f);
    printf("%d passed, %d failed\n", passes, failures);
    return failures ? 1 : (passes ? 0 : 2);
}
