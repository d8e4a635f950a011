#!/usr/bin/env bash
# apt-get install PACKAGE... as root, waiting (up to KWS_APT_WAIT seconds, 600 by default) for
# another apt or dpkg to finish instead of failing at once, as on a fresh machine running its
# unattended upgrades. `apt-get install` waits with DPkg::Lock::Timeout; `apt-get update` takes the
# package lists' lock, which that option does not cover, so it is tried again while that lock is held.
set -euo pipefail
wait_s=${KWS_APT_WAIT:-600}
export DEBIAN_FRONTEND=noninteractive
start=$SECONDS
until out=$(apt-get -o DPkg::Lock::Timeout="$wait_s" update -qq 2>&1); do
  if ! grep -q "Could not get lock\|Unable to lock" <<<"$out"; then
    echo "$out" >&2
    exit 1
  fi
  if [ $((SECONDS - start)) -ge "$wait_s" ]; then
    echo "install: another apt still holds the package lists' lock after ${wait_s} s:" >&2
    echo "$out" >&2
    exit 1
  fi
  [ -n "${said:-}" ] || { echo "install: another apt holds the package lists' lock; waiting for it (up to ${wait_s} s)"; said=1; }
  sleep 3
done
left=$((wait_s - (SECONDS - start)))
apt-get -o DPkg::Lock::Timeout=$((left > 0 ? left : 1)) install -y -qq --no-install-recommends "$@" 2>&1 \
  | { grep -E "^(Setting up|E:)|Could not get lock" || true; }
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || { echo "install: Debian package $p did not install (see apt-get's message above)" >&2; exit 1; }
done
