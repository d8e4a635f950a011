"""platformio.ini stays consistent with the Makefile CI builds with: same sources, all present."""

import configparser
import re

from kws.codegen.common import REPO_ROOT


def _pio():
    cp = configparser.ConfigParser()
    cp.read(REPO_ROOT / "platformio.ini")
    return cp


def _makefile_var(name):
    text = (REPO_ROOT / "firmware" / "Makefile").read_text()
    return re.search(rf"^{name}\s*:=\s*(.*)$", text, re.M).group(1).split()


def test_native_env_lists_the_makefile_sources():
    cp = _pio()
    srcs = [s[2:-1] for s in cp["env:native"]["build_src_filter"].split() if s.startswith("+<")]
    for s in srcs:
        assert (REPO_ROOT / s).is_file(), s
    core = {f"firmware/{s}" for s in _makefile_var("CORE_SRCS") + _makefile_var("GEN_SRCS")}
    assert core <= set(srcs), f"platformio.ini misses {core - set(srcs)}"


def test_no_globs_in_source_lists():
    cp = _pio()
    for section in cp.sections():
        for tok in cp[section].get("build_src_filter", "").split():
            assert tok == "-<*>" or "*" not in tok, f"[{section}] uses a glob: {tok}"
