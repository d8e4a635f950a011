/* The emulator's board: nothing to clock; exit through semihosting (QEMU ends with the code). */
#include "board.h"
#include "kws_port.h"
#include "semihost.h"

void kws_board_init(void)
{
}

void kws_port_exit(int code)
{
    semihost_exit(code);
}
