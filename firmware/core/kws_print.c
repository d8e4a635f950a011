#include "kws_print.h"

#include "kws_port.h"

void kws_print(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    kws_port_write((const uint8_t *)s, n);
}

void kws_print_u64(uint64_t v)
{
    char buf[21];
    unsigned i = sizeof buf - 1;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + (unsigned)(v % 10u));
        v /= 10u;
    } while (v);
    kws_print(&buf[i]);
}

void kws_print_i32(int32_t v)
{
    if (v < 0) {
        kws_print("-");
        kws_print_u64((uint64_t)(-(int64_t)v));
    } else {
        kws_print_u64((uint64_t)v);
    }
}

static void print_hex(uint32_t v, unsigned digits)
{
    char buf[9];
    for (unsigned i = 0; i < digits; i++) {
        unsigned d = (v >> (4u * (digits - 1u - i))) & 0xFu;
        buf[i] = (char)(d < 10u ? '0' + d : 'a' + d - 10u);
    }
    buf[digits] = 0;
    kws_print(buf);
}

void kws_print_hex32(uint32_t v)
{
    print_hex(v, 8);
}

void kws_print_hex8(uint8_t v)
{
    print_hex(v, 2);
}
