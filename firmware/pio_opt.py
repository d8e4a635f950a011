"""PlatformIO build middleware (platformio.ini: extra_scripts = pre:firmware/pio_opt.py).

Every firmware source is compiled at the optimisation firmware/Makefile gives it: -Os for the
files firmware/opt.mk lists (boot and once-per-frame code), -O2 for the rest (per sample, per
received byte, per network row). Without it the bare-metal platforms build everything with their
default -Os, and a board flashed with `pio run` would not run the code the emulator measured.
Any -O flag the platform or build_flags set is replaced, per file, by the chosen one.
"""

import re
from pathlib import Path

SPEED, SIZE = "-O2", "-Os"


def size_sources(opt_mk):
    """The project-relative paths (firmware/...) of opt.mk's SIZE_SRCS."""
    text = Path(opt_mk).read_text().replace("\\\n", " ")
    m = re.search(r"^SIZE_SRCS\s*:=(.*)$", text, re.M)
    if not m:
        raise ValueError(f"{opt_mk}: no 'SIZE_SRCS :=' line")
    return {f"firmware/{s}" for s in m.group(1).split()}


def opt_for(path, size_srcs):
    """-Os or -O2 for a source node's path (absolute, or under PlatformIO's build directory,
    which mirrors the project's layout since src_dir is the project)."""
    p = str(path).replace("\\", "/")
    return SIZE if any(p == s or p.endswith("/" + s) for s in size_srcs) else SPEED


def without_opt(flags):
    """flags without any -O option."""
    return [f for f in flags if not (isinstance(f, str) and re.fullmatch(r"-O\w*", f))]


try:
    Import("env")  # noqa: F821 -- SCons, when PlatformIO runs this script
except NameError:  # imported by the tests
    env = None

if env is not None:
    _SIZE = size_sources(Path(env.subst("$PROJECT_DIR")) / "firmware" / "opt.mk")

    def _per_file_opt(env, node):
        opt = opt_for(node.srcnode().get_abspath(), _SIZE)
        return env.Object(node, CCFLAGS=without_opt(env["CCFLAGS"]) + [opt], CFLAGS=without_opt(env.get("CFLAGS", [])))

    env.AddBuildMiddleware(_per_file_opt, "*.c")
