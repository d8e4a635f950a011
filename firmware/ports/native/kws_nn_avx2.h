/* Host-only fast paths of the int8 kernels for x86 with AVX2 (the host reference evaluation runs
 * the kernels through ctypes): 1x1 convolutions as 16-bit multiply-adds, depthwise blocks and
 * block epilogues in eight int32 lanes. Exact int32 sums regrouped, so bit-exact like every other
 * path; the kernels include this only when KWS_HOST_AVX2 (KWS_NN_PORTABLE turns it off: the
 * tests build both). Never part of a device build. */
#ifndef KWS_NN_AVX2_H
#define KWS_NN_AVX2_H

#include <immintrin.h>
#include <stdint.h>

/* The epilogue of KWS_NN_BLOCK channels, eight lanes at a time: requant's 64-bit products as
 * even / odd lane halves (their low 32 bits after the shift do not depend on the shift being
 * arithmetic), the same integers as the scalar FINISH. */
static inline void kws_nn_finish_block_avx2(const int32_t *acc, const int32_t *mult, const int8_t *shift, int32_t ooff,
                                            int32_t lo, int32_t hi, int8_t *y)
{
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1), half = _mm256_set1_epi64x((int64_t)1 << 30);
    const __m256i vlo = _mm256_set1_epi32(lo), vhi = _mm256_set1_epi32(hi), voff = _mm256_set1_epi32(ooff);
    for (int j = 0; j < KWS_NN_BLOCK; j += 8) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(acc + j));
        const __m256i m = _mm256_loadu_si256((const __m256i *)(const void *)(mult + j));
        const __m256i sh = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(shift + j)));
        const __m256i left = _mm256_max_epi32(sh, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, sh), zero);
        const __m256i x = _mm256_sllv_epi32(a, left);
        const __m256i pe = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, m), half), 31);
        const __m256i po = _mm256_srli_epi64(
            _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), half), 31);
        const __m256i r = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
        const __m256i round = _mm256_srli_epi32(_mm256_sllv_epi32(one, right), 1);
        const __m256i neg = _mm256_and_si256(_mm256_srli_epi32(r, 31), _mm256_cmpgt_epi32(right, zero));
        __m256i v = _mm256_srav_epi32(_mm256_sub_epi32(_mm256_add_epi32(r, round), neg), right);
        v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, voff), vlo), vhi);
        const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(v, v), zero);
        const __m256i g = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
        _mm_storel_epi64((__m128i *)(void *)(y + j), _mm256_castsi256_si128(g));
    }
}

/* Four output pairs' sums (A0..A3, each lane a two-product sum in the paired layout: lanes 0, 1,
 * 4, 5 belong to the pair's first channel, 2, 3, 6, 7 to its second) as 8 channels in order. */
static inline __m256i pw_avx2_reduce(__m256i a0, __m256i a1, __m256i a2, __m256i a3)
{
    const __m256i t0 = _mm256_hadd_epi32(a0, a1), t1 = _mm256_hadd_epi32(a2, a3);
    return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20), _mm256_permute2x128_si256(t0, t1, 0x31));
}

/* All n positions of one group in the paired layout (ic % 8 == 0, oc % KWS_NN_BLOCK == 0). Each
 * position's inputs are widened once into col as the layout reads them (x[c..c+3] twice per group
 * of four); each 16 weight bytes then feed one VPMADDWD. Returns n. */
static inline int pw_avx2(const int8_t *in, int is, int ic, const int8_t *w, const int32_t *bias, const int32_t *mult,
                   const int8_t *shift, int8_t *out, int os, int oc, int16_t *col, int n, int32_t ooff, int32_t lo,
                   int32_t hi)
{
    for (int pos = 0; pos < n; pos++) {
        const int8_t *x0 = &in[pos * is];
        for (int c = 0; c < ic; c += 4) {
            for (int k = 0; k < 4; k++) {
                col[2 * c + k] = x0[c + k];
                col[2 * c + 4 + k] = x0[c + k];
            }
        }
        const int8_t *wp = w;
        for (int o0 = 0; o0 < oc; o0 += KWS_NN_BLOCK) {
            int32_t acc[KWS_NN_BLOCK];
            for (int h = 0; h < KWS_NN_BLOCK; h += 8) {
                __m256i a[4];
                for (int q = 0; q < 4; q++, wp += 2 * ic) {
                    __m256i s = _mm256_setzero_si256();
                    for (int j = 0; j < 2 * ic; j += 16) {
                        const __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(wp + j)));
                        const __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(col + j));
                        s = _mm256_add_epi32(s, _mm256_madd_epi16(wv, xv));
                    }
                    a[q] = s;
                }
                const __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(bias + o0 + h));
                _mm256_storeu_si256((__m256i *)(void *)(acc + h), _mm256_add_epi32(b, pw_avx2_reduce(a[0], a[1], a[2], a[3])));
            }
            kws_nn_finish_block_avx2(acc, mult + o0, shift + o0, ooff, lo, hi, &out[pos * os + o0]);
        }
    }
    return n;
}

/* KWS_NN_BLOCK channels of one position over the taps [0, ny) x [0, nx): acc = start + sum of
 * w * x, eight int32 lanes at a time (the portable block loop, written out). */
static inline void dw_block_avx2(const int8_t *x, const int8_t *w, int row, int wrow, int C, int ny, int nx,
                          const int32_t *start, int32_t *acc)
{
    __m256i a0 = _mm256_loadu_si256((const __m256i *)(const void *)start);
    __m256i a1 = _mm256_loadu_si256((const __m256i *)(const void *)(start + 8));
    for (int ky = 0; ky < ny; ky++, x += row, w += wrow) {
        for (int kx = 0; kx < nx; kx++) {
            const int8_t *xt = x + kx * C, *wt = w + kx * C;
            const __m128i xv = _mm_loadu_si128((const __m128i *)(const void *)xt);
            const __m128i wv = _mm_loadu_si128((const __m128i *)(const void *)wt);
            a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepi8_epi32(xv), _mm256_cvtepi8_epi32(wv)));
            a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_srli_si128(xv, 8)),
                                                          _mm256_cvtepi8_epi32(_mm_srli_si128(wv, 8))));
        }
    }
    _mm256_storeu_si256((__m256i *)(void *)acc, a0);
    _mm256_storeu_si256((__m256i *)(void *)(acc + 8), a1);
}

#endif /* KWS_NN_AVX2_H */
