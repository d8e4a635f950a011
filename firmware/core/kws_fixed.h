/* Integer helpers shared by the firmware core. Plain C99; no hardware, no libc beyond stdint.
 *
 * Contract relied on everywhere (checked below at compile time): right shift of a negative
 * signed integer is arithmetic (floor), as on gcc/clang for every target we build. Every
 * rounding right shift in the product is "round half up": add 2^(n-1), then shift. */
#ifndef KWS_FIXED_H
#define KWS_FIXED_H

#include <stdint.h>

#if ((-1) >> 1) != -1
#error "kws needs arithmetic right shift of negative integers"
#endif

/* Round-half-up arithmetic right shift of a 64-bit value by n >= 1. */
static inline int64_t kws_rshr64(int64_t x, unsigned n)
{
    return (x + ((int64_t)1 << (n - 1u))) >> n;
}

/* Round-half-up right shift of an unsigned 64-bit value by n >= 1. */
static inline uint64_t kws_rshr_u64(uint64_t x, unsigned n)
{
    return (x + ((uint64_t)1 << (n - 1u))) >> n;
}

/* Index of the most significant set bit of v (v != 0). */
static inline unsigned kws_msb64(uint64_t v)
{
#if defined(__GNUC__)
    return 63u - (unsigned)__builtin_clzll(v);
#else
    unsigned e = 0;
    while (v >>= 1) {
        e++;
    }
    return e;
#endif
}

static inline int8_t kws_sat8(int64_t v)
{
    return (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
}

#endif /* KWS_FIXED_H */
