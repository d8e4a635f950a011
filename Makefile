# Top-level entry points. The README's two commands are `make demo` and `make test`.
#
#   make setup   install Debian packages (as root) and the pinned Python venv (.venv)
#   make test    everything CI runs: C unit tests, host/ARM builds, pytest
#   make check   the fast subset for everyday work: pytest without the tests marked slow
#   make demo    the main job end to end, as far as it goes today
#   make bench   benchmarks (not tests): write JSON under bench/results/

VENV := .venv
PY   := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test check demo bench codegen clean
setup: $(STAMP)

$(STAMP): scripts/install.sh scripts/apt-packages.txt requirements/lock.txt requirements/qat.txt requirements/peers.txt pyproject.toml
	bash scripts/install.sh
	touch $@

codegen: $(STAMP)
	$(VENV)/bin/kws codegen frontend

test: $(STAMP)
	$(VENV)/bin/ruff check host tests bench
	$(MAKE) -C firmware host arm check
	$(PY) -m pytest -q

check: $(STAMP)
	$(VENV)/bin/ruff check host tests bench
	$(PY) -m pytest -q -m "not slow"

demo: $(STAMP)
	$(VENV)/bin/kws demo --out build/demo

bench: $(STAMP)
	$(PY) bench/frontend_throughput.py --out bench/results/frontend_throughput.json
	$(PY) bench/frontend_instructions.py --out bench/results/frontend_instructions.json
	$(PY) bench/network_instructions.py --out bench/results/network_instructions.json
	$(PY) bench/link_instructions.py --out bench/results/link_instructions.json
	$(PY) bench/human_voice.py --out bench/results/human_voice.json
	$(PY) bench/data_synth.py --out bench/results/data_synth.json
	$(PY) bench/island_os.py --out bench/results/island_os.json
	$(PY) bench/goals.py

# Longer benchmarks that need the corpus and its streams (docs/evaluation.md), run by hand:
#   bench/eval_24h.py (a day of negatives per released model), bench/stream_bitexact.py.
# bench/goals.py reads all of bench/results/ and says where each issue's goal stands.

clean:
	rm -rf build
