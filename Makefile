# Two entry points: `make demo` (the offline demo) and `make test` (the whole suite).
# Both create .venv and install what they need on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU/GPU torch build is the user's choice; this pin matches the wheels this
# project is developed and tested with.
TORCH  ?= torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint js-check labext browser-deps binder-check bench-quick clean label-studio

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch, torchvision" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Label Studio for the tests of labelling jobs (tests/test_annotate.py starts a server
# from it), in a venv of its own: it pins numpy, pyarrow and python-dateutil to
# versions older than this project's venv uses. Tested with label-studio 1.23.2.
LS_VENV  ?= .venv-ls
LS_STAMP := $(LS_VENV)/.installed
LS_PIN   ?= label-studio==1.23.2

$(LS_STAMP):
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install -q --upgrade pip
	$(LS_VENV)/bin/python -m pip install -q "$(LS_PIN)"
	touch $(LS_STAMP)

label-studio: $(LS_STAMP)

demo: setup
	$(BIN)/aisearch demo $(DEMO_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The shipped JS must be what its sources build to: the widget bundle (js/src →
# aisearch_widgets/static) and the prebuilt JupyterLab extension (js/labextension →
# aisearch_widgets/labextension, rebuilt in a temporary copy and compared).
# `jupyter labextension build` is the venv's, hence .venv/bin first on PATH.
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
js-check: setup
	@if command -v npm >/dev/null 2>&1; then \
		(cd js && $(NPM_CI) && npm run --silent check) && \
		(cd js/labextension && $(NPM_CI) && PATH="$(abspath $(BIN)):$$PATH" npm run --silent check); \
	else echo "npm not found: skipping the JS build checks (tests/test_labext.py still checks the recorded sources)"; fi

# Rebuild the JupyterLab extension after editing js/labextension (commit the result).
labext: setup
	cd js/labextension && $(NPM_CI) && PATH="$(abspath $(BIN)):$$PATH" npm run --silent build

browser-deps:
	bash scripts/install-browser-deps.sh

# The Binder image, built as Binder builds it (binder/requirements.txt, which installs
# this package with its extras from pyproject.toml, then binder/postBuild) in a
# temporary venv with the Python of binder/runtime.txt, then every notebook run in it,
# one after another. Needs the network (PyPI); pip's cache makes later runs faster.
binder-check:
	bash binder/check.sh

# Two workers (pytest-xdist): the suite waits on kernels, servers and subprocesses more
# than it computes. Tests that share a server, cluster or project stay on one worker
# (`xdist_group`, see tests/conftest.py); the browser group, the longest, starts first.
TEST_WORKERS ?= 2
test: setup lint js-check browser-deps label-studio
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=15

# A regression guard for speed (~3 min, not part of `make test`): the unscoped store
# query at 100k against the int8 memory floor and against the previous oversampling,
# the store's reopen, the diverse read, then the panel's Enter -> first page at 10k
# in Chromium (skipped with a line when Chromium is missing). Ratios are same-run.
# The 100k store and the indexed 10k panel project are kept in BENCH_DIR between runs
# (the first run builds them: ~1 min more on an idle machine).
BENCH_DIR ?= /tmp/aisearch-bench-quick
bench-quick: setup
	$(BIN)/python benchmarks/bench_speed.py --quick --workdir $(BENCH_DIR)/store --keep
	$(BIN)/python benchmarks/bench_panel.py --n 10000 --quick --workdir $(BENCH_DIR)/panel --keep \
		|| echo "panel: skipped (see above)"

clean:
	rm -rf $(VENV) $(LS_VENV) .pytest_cache .ruff_cache
