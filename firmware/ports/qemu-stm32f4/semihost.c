#include "semihost.h"

#include "kws_port.h"

static int32_t call(int32_t op, void *args)
{
    register int32_t r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = args;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

int semihost_open(const char *path, int binary_read)
{
    size_t len = 0;
    while (path[len]) {
        len++;
    }
    uint32_t args[3] = {(uint32_t)(uintptr_t)path, binary_read ? 1u : 0u, (uint32_t)len};
    return call(0x01, args);
}

int semihost_open_write(const char *path)
{
    size_t len = 0;
    while (path[len]) {
        len++;
    }
    uint32_t args[3] = {(uint32_t)(uintptr_t)path, 5u /* "wb" */, (uint32_t)len};
    return call(0x01, args);
}

size_t semihost_write(int handle, const void *buf, size_t n)
{
    uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    int32_t not_written = call(0x05, args);
    return not_written < 0 ? 0u : n - (size_t)not_written;
}

size_t semihost_read(int handle, void *buf, size_t n)
{
    uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    int32_t not_read = call(0x06, args);
    return not_read < 0 ? 0u : n - (size_t)not_read;
}

long semihost_flen(int handle)
{
    uint32_t args[1] = {(uint32_t)handle};
    return (long)call(0x0C, args);
}

void semihost_close(int handle)
{
    uint32_t args[1] = {(uint32_t)handle};
    (void)call(0x02, args);
}

int semihost_cmdline(char *buf, size_t n)
{
    uint32_t args[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)n};
    return call(0x15, args);
}

void semihost_exit(int code)
{
    uint32_t args[2] = {0x20026u, (uint32_t)code};   /* ADP_Stopped_ApplicationExit */
    (void)call(0x20, args);
    for (;;) {
    }
}

int semihost_open_ext(char *base, const char *ext)
{
    size_t n = 0, i = 0;
    while (base[n]) {
        n++;
    }
    base[n] = '.';
    for (; ext[i]; i++) {
        base[n + 1u + i] = ext[i];
    }
    base[n + 1u + i] = 0;
    const int h = semihost_open(base, 1);
    base[n] = 0;
    return h;
}

static void __attribute__((noinline)) spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n));
}

uint64_t qemu_calibrate(void)
{
    const uint64_t t0 = kws_port_ticks();
    spin(QEMU_CALIB_ITERS);
    return kws_port_ticks() - t0;
}
