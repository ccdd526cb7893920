"""The notebooks run top to bottom on the demo data (headless, nbclient)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
DEMO_MODEL = Path(__file__).resolve().parent.parent / "aisearch_widgets" / "demo" / "model"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DEMO_MODEL / "open_clip_config.json").exists(), reason="demo model not built"
    ),
]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("nb-home")
    old = os.environ.get("AISEARCH_HOME")
    os.environ["AISEARCH_HOME"] = str(home)  # the kernels inherit it
    yield home
    if old is None:
        os.environ.pop("AISEARCH_HOME", None)
    else:
        os.environ["AISEARCH_HOME"] = old


@pytest.mark.parametrize(
    "name", ["01-quickstart.ipynb", "02-active-learning.ipynb", "03-curation.ipynb"]
)
def test_notebook_runs_top_to_bottom(name: str, demo_home: Path, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    assert (demo_home / "shapes-demo" / "project.json").exists()


def test_video_notebook_finds_the_defects(demo_home: Path, tmp_path: Path) -> None:
    """05: makes its own production-line video, finds the rare defect by a prompt and
    by an example frame (the notebook asserts the frames found), as segments."""
    pytest.importorskip("av")
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / "05-video-rare-instances.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    assert sorted(p.name for p in (tmp_path / "defect-frames").iterdir()) == [
        "line-3_t180.jpg",
        "line-3_t97.jpg",
        "line-3_t98.jpg",
    ]
