"""scripts/apt-install.sh waits for another apt instead of failing, as on a fresh machine whose
unattended upgrades hold the locks: `apt-get update` (the package lists' lock, which
DPkg::Lock::Timeout does not cover) and `apt-get install` (dpkg's locks). A real apt-get installs a
real package (sl, 100 KB) while this test holds every lock apt takes."""

import fcntl
import os
import shutil
import subprocess
import threading
import time

import pytest

from kws.paths import REPO_ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"),
        reason="needs root and apt-get (CI runs as root on Debian)",
    ),
]
LOCKS = ["/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock"]
PACKAGE = "sl"


def _hold_locks(seconds: float) -> threading.Thread:
    """Takes apt's locks as apt does (fcntl) and lets them go after ``seconds``."""
    fds = []
    for p in LOCKS:
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o640)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fds.append(fd)

    def release():
        time.sleep(seconds)
        for fd in fds:
            os.close(fd)

    t = threading.Thread(target=release)
    t.start()
    return t


def _installed(pkg: str) -> bool:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return "install ok installed" in r.stdout


def test_install_waits_for_another_apt_then_installs():
    had = _installed(PACKAGE)
    if had:
        subprocess.run(["apt-get", "remove", "-y", "-qq", PACKAGE], check=True, capture_output=True)
    try:
        t0 = time.monotonic()
        holder = _hold_locks(8.0)
        r = subprocess.run([str(REPO_ROOT / "scripts" / "apt-install.sh"), PACKAGE], capture_output=True, text=True)
        took = time.monotonic() - t0
        holder.join()
        assert r.returncode == 0, r.stdout + r.stderr
        assert "another apt holds the package lists' lock; waiting for it" in r.stdout
        assert took >= 8.0 and _installed(PACKAGE)
    finally:
        if not had:
            subprocess.run(["apt-get", "remove", "-y", "-qq", PACKAGE], capture_output=True)


def test_a_lock_held_too_long_is_named():
    holder = _hold_locks(10.0)
    r = subprocess.run(
        [str(REPO_ROOT / "scripts" / "apt-install.sh"), PACKAGE],
        capture_output=True,
        text=True,
        env={**os.environ, "KWS_APT_WAIT": "3"},
    )
    holder.join()
    assert r.returncode == 1
    assert "another apt still holds the package lists' lock after 3 s" in r.stderr
    assert "Could not get lock /var/lib/apt/lists/lock" in r.stderr
