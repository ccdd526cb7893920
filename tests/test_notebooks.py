"""The notebooks run top to bottom on the demo data (headless, nbclient), one after
another as in one Jupyter server: every kernel stays alive until the module ends, so a
notebook that leaves the shared demo project open makes the next one fail with
ProjectLocked. Their outputs read well: no raw Status, no lists of numpy scalars."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from aisearch_widgets.status import Status

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
DEMO_MODEL = Path(__file__).resolve().parent.parent / "aisearch_widgets" / "demo" / "model"
WIDGET = "application/vnd.jupyter.widget-view+json"


def needs_demo(test: Any) -> Any:
    """Slow (a kernel runs the notebook), and skipped without the bundled demo model."""
    built = (DEMO_MODEL / "open_clip_config.json").exists()
    test = pytest.mark.skipif(not built, reason="demo model not built")(test)
    return pytest.mark.slow(pytest.mark.timeout(600)(test))


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("nb-home")
    old = os.environ.get("AISEARCH_HOME")
    os.environ["AISEARCH_HOME"] = str(home)  # the kernels inherit it
    yield home
    if old is None:
        os.environ.pop("AISEARCH_HOME", None)
    else:
        os.environ["AISEARCH_HOME"] = old


@pytest.fixture(scope="module")
def server() -> Iterator[list[Any]]:
    """The kernels of the notebooks run so far, shut down only at the end of the module
    (one Jupyter server with every notebook left open)."""
    kernels: list[Any] = []
    yield kernels
    for km in kernels:
        km.shutdown_kernel(now=True)


def _run(
    name: str, cwd: Path, kernels: list[Any], env: dict[str, str] | None = None
) -> nbformat.NotebookNode:
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(cwd), env=env or dict(os.environ))
    kernels.append(km)
    # Our own kernel manager: nbclient leaves the kernel (and what it holds) running.
    NotebookClient(nb, km=km, timeout=600, kernel_name="python3").execute()
    errors = [o for c in _code(nb) for o in c.outputs if o.output_type == "error"]
    assert not errors
    return nb


def _code(nb: nbformat.NotebookNode) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _texts(nb: nbformat.NotebookNode) -> list[str]:
    """Every plain-text output: streams and the text/plain of results."""
    out = []
    for c in _code(nb):
        for o in c.outputs:
            if o.output_type == "stream":
                out.append(o.text)
            elif "data" in o and "text/plain" in o.data:
                out.append(o.data["text/plain"])
    return out


def _assert_readable(nb: nbformat.NotebookNode) -> None:
    for text in _texts(nb):
        assert "updated_at=" not in text, text  # a raw Status
        assert "np.float64(" not in text, text  # numpy scalars where a chart belongs


@needs_demo
def test_quickstart_shows_status_and_histogram_as_displays(
    demo_home: Path, server: list[Any], tmp_path: Path
) -> None:
    """01 runs first, and its kernel stays alive while the others run."""
    nb = _run("01-quickstart.ipynb", tmp_path, server)
    assert (demo_home / "shapes-demo" / "project.json").exists()
    _assert_readable(nb)
    html = [
        o.data["text/html"]
        for c in _code(nb)
        for o in c.outputs
        if "text/html" in o.get("data", {})
    ]
    assert any('class="aisw-status"' in h for h in html)  # Status as a table
    chart = next(c for c in _code(nb) if "res.histogram(" in c.source)
    assert any(WIDGET in o.get("data", {}) for o in chart.outputs)  # a bqplot figure


@needs_demo
@pytest.mark.parametrize("name", ["02-active-learning.ipynb", "03-curation.ipynb"])
def test_notebook_runs_top_to_bottom(
    name: str, demo_home: Path, server: list[Any], tmp_path: Path
) -> None:
    """After 01 (its kernel still alive): the shared demo project is free to open."""
    nb = _run(name, tmp_path, server)
    assert (demo_home / "shapes-demo" / "project.json").exists()
    _assert_readable(nb)


def test_quickstart_teaches_the_suggested_threshold_and_the_magic() -> None:
    nb = nbformat.read(NOTEBOOKS / "01-quickstart.ipynb", as_version=4)
    code = "\n".join(c.source for c in _code(nb))
    assert "suggest_threshold()" in code
    assert "panel.above(panel.threshold)" not in code  # the median, not a cut
    assert "%aisearch " in code
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "AI Search…" in prose and "right-click" in prose
    assert code.rstrip().endswith("proj.close()")


@needs_demo
def test_your_own_data_falls_back_to_the_demo_without_pictures(
    demo_home: Path, server: list[Any], tmp_path: Path
) -> None:
    """04 on a machine without ~/Pictures (Binder): says how to point it at a folder and
    runs on the demo images with the demo model, in a project of its own."""
    home = tmp_path / "user"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("AISEARCH_FOLDER", "AISEARCH_MODEL")}
    env["HOME"] = str(home)
    nb = _run("04-your-own-data.ipynb", tmp_path, server, env)
    said = "".join(_texts(nb))
    assert f"{home}/Pictures is not a folder" in said and "set FOLDER" in said
    assert (demo_home / "your-own-data-demo" / "project.json").exists()


@needs_demo
def test_video_notebook_finds_the_defects(
    demo_home: Path, server: list[Any], tmp_path: Path
) -> None:
    """05: makes its own production-line video, finds the rare defect by a prompt and
    by an example frame (the notebook asserts the frames found), as segments."""
    pytest.importorskip("av")
    _run("05-video-rare-instances.ipynb", tmp_path, server)
    assert sorted(p.name for p in (tmp_path / "defect-frames").iterdir()) == [
        "line-3_t180.jpg",
        "line-3_t97.jpg",
        "line-3_t98.jpg",
    ]


def test_status_reads_as_text_and_as_a_table() -> None:
    st = Status(
        name="photos",
        enabled=True,
        state="ready",
        done=1990,
        total=2005,
        failed=3,
        pending=12,
        missing=0,
        updated_at=1796283640.43,
        model="demo@0e081fdd25a9",
        schedule="10m",
        first_pass_done=True,
        phase="idle",
        error="<b>disk</b> full",
        holder={"pid": 4242, "host": "lab"},
        failures=[("a.png", "decode", "truncated")] * 50,
    )
    text = repr(st)
    assert "1796283640" not in text and "updated_at" not in text and "failures" not in text
    assert "1990/2005 embedded" in text and "pid 4242" in text
    assert str(st).startswith("photos: ready — 1990/2005 embedded")
    html = st._repr_html_()
    assert 'progress value="1990" max="2005"' in html
    assert "&lt;b&gt;disk&lt;/b&gt; full" in html and "<b>disk" not in html
    assert "1796283640" not in html
    json.dumps(st.as_dict())  # still plain data
