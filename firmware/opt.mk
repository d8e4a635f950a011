# Optimisation per source file, read by firmware/Makefile and by PlatformIO (firmware/pio_opt.py).
#
# Code that runs per sample, per received byte or per network row is built for speed (-O2): the
# front end, the network kernels and the generated network, the protocol's framing and CRC, the
# UART and microphone interrupt handlers, the tick counter. Code that runs at boot or at most once
# per 10 ms frame is built for size (-Os): the files below. docs/firmware.md ("The default build")
# has the bytes this saves and the instructions it costs. core/kws_print.c (the emulator's text
# console) is not among them: at -Os GCC divides its 64-bit numbers with libgcc's __udivmoddi4,
# 700 B more than the multiplication -O2 uses.
SIZE_SRCS := app/kws_app.c app/kws_session.c app/main_semihost.c app/main_serial.c app/main_mic.c core/kws_detector.c core/kws_monitor.c \
             ports/cortex-m/startup.c ports/qemu-stm32f4/board.c ports/qemu-stm32f4/semihost.c \
             ports/qemu-stm32f4/mic_file.c ports/stm32f4/board.c
