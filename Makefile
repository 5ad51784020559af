# Two commands do all setup: `make demo` and `make test` each create .venv on first use.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.spikinghash-installed
PYTEST_ARGS ?=

.PHONY: demo test test-fast venv clean-venv

venv: $(STAMP)

# lava-dl 0.6.0 is installed with --no-deps (its metadata refuses Python 3.11 and pins torch<2.4,
# pillow<11, pytest<8, torchvision, opencv): netx needs none of those, so pip check waives exactly them.
LAVA_DL_WAIVED := ^lava-dl 0\.6\.0 (requires (ninja|opencv-python-headless|torchvision|unittest2),|has requirement (pillow|pytest|torch)[<>=])

# torch first and alone (the CPU wheel on disk); lava-nc and lava-dl without their deps because
# their metadata refuses Python 3.11 (see README, "Setup"); the project itself in editable mode.
$(STAMP): requirements.txt pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install CPython 3.11 or run 'make PYTHON=/path/to/python3.11'" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps --ignore-requires-python lava-nc==0.10.0
	$(BIN)/python -m pip install -q --no-deps --ignore-requires-python lava-dl==0.6.0
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check | grep -vE '$(LAVA_DL_WAIVED)|^No broken requirements found' | { ! grep . >&2; } \
		|| { echo "error: pip check found the broken requirements above" >&2; exit 1; }
	touch $@

demo: $(STAMP)
	$(BIN)/spikinghash demo

# pytest exits 5 when it collects no tests: that is a broken suite, never a pass.
test: $(STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests (exit 5): the suite is missing or mis-configured" >&2; exit 1; fi; \
	exit $$rc

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
