/* ARM semihosting (QEMU: -semihosting-config enable=on,target=native). Emulator only:
 * on a board without a debugger attached, BKPT would halt the core. */
#ifndef KWS_SEMIHOST_H
#define KWS_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

int semihost_open(const char *path, int binary_read);   /* handle, or -1 */
size_t semihost_read(int handle, void *buf, size_t n);    /* bytes read */
int semihost_open_write(const char *path);                /* handle, or -1 */
size_t semihost_write(int handle, const void *buf, size_t n);   /* bytes written */
long semihost_flen(int handle);
void semihost_close(int handle);
int semihost_cmdline(char *buf, size_t n);               /* 0 on success */
/* Opens "<base>.<ext>" for binary reading; base must have room for the suffix. */
int semihost_open_ext(char *base, const char *ext);

/* Emulator timing: SysTick ticks spent running a loop of exactly 2 * iterations instructions,
 * so that host tools turn tick counts into instruction counts (QEMU -icount shift=0). */
#define QEMU_CALIB_ITERS 1000000u
uint64_t qemu_calibrate(void);
void semihost_exit(int code);

#endif /* KWS_SEMIHOST_H */
