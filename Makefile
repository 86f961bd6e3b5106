# `make demo` and `make test` each do ALL set-up on a fresh machine: a virtualenv in .venv,
# the Python packages, and the pinned binaries (built once from Go modules, then cached in
# ~/.cache/dapr-chaos). Nothing else needs installing by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test test-slow lint provision doctor bench bench-detection clean docker-engine images browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

provision: $(STAMP)
	$(BIN)/dapr-chaos provision

doctor: $(STAMP)
	$(BIN)/dapr-chaos doctor

# The container backend's tests need a Docker engine: use a running one, or (root on
# Debian only) install docker.io and start dockerd; otherwise those tests skip. The local
# images are built offline from the provisioned binaries (skipped when up to date).
docker-engine:
	@.ci/docker-engine.sh

images: provision docker-engine
	@if $(BIN)/python -c 'import sys; from harness.stack.engine import engine_problem; sys.exit(engine_problem() is not None)'; then \
		$(BIN)/dapr-chaos images build; \
	else echo "images: no Docker engine; the container tests will skip"; fi

# Headless Chromium renders the HTML report in one test: installed (root on Debian) or
# that test skips with a reason.
browser:
	@.ci/chromium.sh

demo: provision
	$(BIN)/dapr-chaos demo

# ruff, mypy --strict, and the layers contract (pyproject.toml [tool.importlinter]): an
# import that runs from a lower layer back up fails here.
lint: $(STAMP)
	$(BIN)/ruff check harness scenarios tests bench conftest.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Everything but the tests marked slow (they loop until an upstream race shows), one
# stack per pytest-xdist worker; worksteal keeps the long chaos tests balanced. Then every
# shipped scenario, through the pytest plugin, in a session of its own (its campaign's
# stack would otherwise run beside each worker's session stack).
PYTEST_WORKERS ?= auto
test: provision lint images browser
	$(BIN)/python -m pytest -m "not slow" -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)
	$(BIN)/python -m pytest scenarios -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

test-slow: provision
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

# Side-by-side benchmarks (each prints absolute numbers and ratios measured in one run).
# bench/parallel.py (xdist speedup) and bench/containers.py (backends) run on their own.
bench: provision
	$(BIN)/python bench/plugin_cost.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/replay.py
	$(BIN)/python bench/throughput.py

# What catches each deliberately broken variant of the reference app (a shipped scenario,
# or explore), how fast, and the correct app's false alarms over the same scenarios.
# One stack at a time; about 10 minutes.
bench-detection: provision
	$(BIN)/python bench/detection.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
