# Top-level entry points. The README's two commands are `make demo` and `make test`.
#
#   make setup   install Debian packages (as root) and the pinned Python venv (.venv)
#   make test    everything CI runs: ruff (lint, format), the type check (mypy), C unit tests, host/ARM builds, pytest
#   make check   the fast subset for everyday work: ruff (lint, format), mypy, pytest without the tests marked slow
#   make fuzz-smoke  every fuzz target for 20 s from its committed seed corpus (part of make test);
#                    the long run: make -C firmware fuzz-long, and the host target as in tests/fuzz/
#   make demo    the main job end to end, as far as it goes today
#   make bench   benchmarks (not tests): write JSON under bench/results/

SHELL := /bin/bash
VENV := .venv
PY   := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test check fuzz-smoke demo bench codegen clean
setup: $(STAMP)

$(STAMP): scripts/install.sh scripts/apt-packages.txt requirements/lock.txt requirements/qat.txt requirements/peers.txt pyproject.toml
	bash scripts/install.sh
	touch $@

codegen: $(STAMP)
	$(VENV)/bin/kws codegen frontend

test: $(STAMP)
	$(VENV)/bin/ruff check host tests bench
	$(VENV)/bin/ruff format --check host tests bench
	$(VENV)/bin/mypy
	$(MAKE) -C firmware host arm check
	$(MAKE) fuzz-smoke
	$(PY) -m pytest -q

fuzz-smoke: $(STAMP)
	$(MAKE) -C firmware fuzz-smoke
	rm -rf build/fuzz/smoke-host && mkdir -p build/fuzz && cp -r tests/fuzz/corpus/host build/fuzz/smoke-host
	$(PY) tests/fuzz/fuzz_host_parsers.py build/fuzz/smoke-host -max_total_time=20 -print_final_stats=1 \
	  -artifact_prefix=build/fuzz/crash-host- 2>&1 | grep -E "stat::number_of_executed_units|Uncaught|Error|crash-"; \
	  test $${PIPESTATUS[0]} -eq 0

check: $(STAMP)
	$(VENV)/bin/ruff check host tests bench
	$(VENV)/bin/ruff format --check host tests bench
	$(VENV)/bin/mypy
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
#   bench/eval_24h.py (a day of negatives per released model), bench/stream_bitexact.py; with the real
#   recordings beside the checkout, bench/real_speakers.py, bench/mined_windows.py, bench/detector_rules.py.
# bench/goals.py reads all of bench/results/ and says where each issue's goal stands.

clean:
	rm -rf build
