#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine:
#   - Debian packages from scripts/apt-packages.txt (with apt-get, when run as root)
#   - a Python venv (.venv) with the pinned packages of requirements/lock.txt and kws itself
# Idempotent: `make` only reruns it when one of those files changes.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
mapfile -t pkgs < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$')

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install: missing Debian packages: ${missing[*]}" >&2
    echo "install: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -r requirements/lock.txt
"$VENV/bin/python" -m pip install -q --no-deps -r requirements/qat.txt   # why --no-deps: see the file
"$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
echo "install: ok ($("$VENV/bin/python" --version), $(arm-none-eabi-gcc -dumpversion 2>/dev/null | sed 's/^/arm-none-eabi-gcc /'))"
