PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The reference peer for the draft API, udp, ws and wss: pyzmq 27.3 on libzmq 4.3.5 built with
# drafts (../shared/oracle/README.md). Where it is present it replaces the stock pyzmq wheel in
# the test venv (same pyzmq, same libzmq); where it is not, the tests that need it skip.
ORACLE_WHEEL ?= $(firstword $(wildcard ../shared/oracle/pyzmq-*.whl))

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	if [ -n "$(ORACLE_WHEEL)" ]; then \
	  $(BIN)/python -m pip install -q --force-reinstall --no-deps "$(ORACLE_WHEEL)" \
	  || echo "oracle wheel not installable here: draft interop tests will skip"; \
	fi
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check securemq auth tests examples bench

typecheck: $(STAMP)
	$(BIN)/mypy securemq auth

test: $(STAMP) lint typecheck
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/python examples/secure_pubsub_demo.py

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
