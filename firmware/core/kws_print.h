/* Minimal text output over the port's serial link, without printf (newlib's printf costs
 * ~6.6 KB of flash; the island has no room for it). Test and diagnostic output only. */
#ifndef KWS_PRINT_H
#define KWS_PRINT_H

#include <stdint.h>

void kws_print(const char *s);
void kws_print_u64(uint64_t v);
void kws_print_i32(int32_t v);
void kws_print_hex32(uint32_t v);
void kws_print_hex8(uint8_t v);

#endif /* KWS_PRINT_H */
