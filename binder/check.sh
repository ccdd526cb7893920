#!/usr/bin/env bash
# `make binder-check`: build the Binder environment as repo2docker does, in a temporary
# venv, then run every notebook in it. The steps, in Binder's order:
#   1. a base environment with Jupyter (repo2docker's has jupyterlab, notebook, ipykernel);
#   2. `pip install -r binder/requirements.txt`, from the repository root;
#   3. `binder/postBuild`;
#   4. `binder/start`'s environment, then every notebook in notebooks/, one after another,
#      each kernel kept alive until all have run (as in one Binder session: a notebook
#      that leaves its project open makes the next one fail with ProjectLocked).
# pip's cache is reused (PIP_CACHE_DIR, default ~/.cache/pip): the first run downloads
# PyTorch and the rest, later runs install from the cache. BINDER_KEEP=1 keeps the
# temporary folder (venv, home, executed notebooks) and prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
# The Python of binder/runtime.txt (python-3.11 → python3.11), unless BINDER_PYTHON says.
PYTHON=${BINDER_PYTHON:-python$(sed -n "s/^python-//p" binder/runtime.txt)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aisearch-binder.XXXXXX")
cleanup() { if [ "${BINDER_KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Binder's user has a home of its own: postBuild and the notebooks write under it.
export HOME="$WORK/home"
mkdir -p "$HOME"
unset PYTHONPATH JUPYTER_PATH JUPYTER_CONFIG_DIR AISEARCH_HOME
start=$SECONDS
step() { echo "== [$((SECONDS - start)) s] $*"; }

step "base environment ($PYTHON)"
"$PYTHON" -m venv "$WORK/venv"
export PATH="$WORK/venv/bin:$PATH"
export VIRTUAL_ENV="$WORK/venv"
python -m pip install -q --upgrade pip
python -m pip install -q jupyterlab notebook ipykernel nbclient nbformat

step "pip install -r binder/requirements.txt"
REQS=binder/requirements.txt
index=$(sed -n 's/^--extra-index-url[ =]*//p' "$REQS" | head -n 1)
if [ -n "$index" ] && ! python - "$index" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=10)
except Exception as exc:
    print(f"  {sys.argv[1]}: {exc}")
    sys.exit(1)
PY
then
    # pip would retry the unreachable index five times for every package (~10 min in
    # all): drop it. PyTorch then comes from PyPI (its CUDA build, larger); Binder, which
    # reaches the index, gets the CPU build. The rest is the same file.
    echo "  the CPU PyTorch index is unreachable from here: installing without it"
    grep -v '^--extra-index-url' "$REQS" > "$WORK/requirements.txt"
    REQS="$WORK/requirements.txt"
fi
python -m pip install -q -r "$REQS"

step "binder/postBuild"
bash binder/postBuild

step "notebooks"
# A copy of the notebooks: they write next to themselves (videos, exports).
cp -r notebooks "$WORK/notebooks"
# binder/start sets the environment of the session; run the notebooks under it.
bash binder/start python "$REPO/binder/run_notebooks.py" "$WORK/notebooks"
step "done"
