"""The prebuilt JupyterLab extension: it matches its sources, renders data as text, and
ships in the wheel so that a plain install (no Node.js) has it enabled."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "js" / "labextension"
SHIPPED = REPO / "aisearch_widgets" / "labextension"


def _inputs_hash(root: Path, inputs: list[str]) -> str:
    """js/labextension/build.mjs inputsHash(), in Python."""
    h = hashlib.sha256()
    for entry in inputs:
        p = root / entry
        files = (
            sorted(
                (f.relative_to(root) for f in p.rglob("*") if f.is_file()),
                key=lambda f: [part for part in f.parts],
            )
            if p.is_dir()
            else [Path(entry)]
        )
        for f in files:
            h.update(f.as_posix().encode() + b"\0")
            h.update((root / f).read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def test_shipped_build_records_its_sources() -> None:
    """The shipped build says which sources it was built from (a SHA-256 written by
    `npm run build`); editing the TypeScript, styles, schema or lockfile without
    rebuilding fails here, with no Node needed. `make test` also rebuilds from scratch
    and compares the output (`npm run check`)."""
    rec = json.loads((SHIPPED / "build-inputs.json").read_text())
    assert rec["sha256"] == _inputs_hash(SRC, rec["inputs"]), (
        "aisearch_widgets/labextension is stale: run `npm run build` in js/labextension"
    )
    pkg = json.loads((SHIPPED / "package.json").read_text())
    assert pkg["name"] == "aisearch-widgets"
    assert (SHIPPED / pkg["jupyterlab"]["_build"]["load"]).is_file()
    assert (SHIPPED / "schemas" / "aisearch-widgets" / "plugin.json").is_file()


def test_no_html_injection_sinks_in_the_lab_extension() -> None:
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|dangerouslySet")
    for f in [*SRC.joinpath("src").rglob("*.ts"), *SHIPPED.joinpath("static").glob("*.js")]:
        assert not sinks.search(f.read_text()), f"{f} writes HTML: use textContent"


def test_the_plugins_notebook_runs_wherever_it_opens() -> None:
    """Notebook 7 opens the notebook of "AI Search…" in another browser tab: the
    request to run it goes through localStorage to an autorun plugin, which the shipped
    build registers (tests/browser/test_notebook7.py checks it in a real Notebook 7)."""
    src = (SRC / "src" / "index.ts").read_text()
    assert "export default [plugin, autorun]" in src
    assert "requestRun(nbPath)" in src and "'notebook:run-all-cells'" not in src
    shipped = "".join(f.read_text() for f in SHIPPED.joinpath("static").glob("*.js"))
    assert "aisearch-widgets:autorun" in shipped and "aisearch-widgets:run" in shipped


def test_schema_has_the_default_model_setting() -> None:
    schema = json.loads((SRC / "schema" / "plugin.json").read_text())
    assert schema["properties"]["defaultModel"]["type"] == "string"
    assert schema["properties"]["defaultModel"]["default"] == ""


@pytest.mark.slow
def test_wheel_installs_the_extensions_without_node(tmp_path: Path) -> None:
    """Build the wheel, install it (no deps) into a fresh venv that sees the main
    venv's packages (JupyterLab) but not its copy of this package, with no Node.js on
    PATH: both extensions are there and enabled."""
    wheels = tmp_path / "wheels"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH")}
    env.pop("JUPYTER_CONFIG_DIR", None)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(wheels)],
        check=True,
        env=env,
        capture_output=True,
    )
    wheel = next(wheels.glob("aisearch_widgets-*.whl"))
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    py = target / "bin" / "python"
    # The main venv's packages (JupyterLab, jupyter_server…) are seen after the new
    # venv's own, which hold only the wheel; its editable install is not processed.
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    own = next(target.glob("lib/python*/site-packages"))
    (own / "main-venv.pth").write_text(f"{site}\n")
    # pip of the main venv, installing into the new one.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    env["PATH"] = str(target / "bin")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "no-user-config")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "no-user-data")
    assert shutil.which("node", path=env["PATH"]) is None
    assert (target / "share/jupyter/labextensions/aisearch-widgets/install.json").is_file()

    def run(*args: str) -> str:
        r = subprocess.run(
            [str(py), *args], env=env, capture_output=True, text=True, cwd=tmp_path, check=True
        )
        return r.stdout + r.stderr

    where = run("-c", "import aisearch_widgets; print(aisearch_widgets.__file__)")
    assert str(target) in where  # the wheel's copy, not the checkout
    labext = re.sub(r"\x1b\[[0-9;]*m", "", run("-m", "jupyterlab.labextensions", "list"))
    assert re.search(r"aisearch-widgets v0\.1\.0 enabled\s+OK", labext), labext
    srvext = re.sub(
        r"\x1b\[[0-9;]*m", "", run("-m", "jupyter_server.extension.serverextension", "list")
    )
    assert re.search(r"aisearch_widgets enabled", srvext), srvext
    assert re.search(r"aisearch_widgets 0\.1\.0 OK", srvext), srvext
