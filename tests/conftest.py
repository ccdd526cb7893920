from __future__ import annotations

import functools
import importlib.util
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import make_folder, write_tiny_model
from _labelstudio import label_studio  # noqa: F401  (a fixture of every test module)

# Budgets for tests known to run long (the default, `timeout` in pyproject.toml, fits
# every other test): a real browser and JupyterLab, or a wheel build, or model training.
SLOW_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests and tests marked ``slow`` get ``SLOW_TIMEOUT`` unless they name
    their own ``@pytest.mark.timeout``."""
    for item in items:
        slow = item.get_closest_marker("slow") or item.get_closest_marker("browser")
        if slow and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))


# `make test` runs the suite on two workers (pytest-xdist, `--dist loadgroup`). Tests
# that share something wider than one test run on one worker, in file order, so that it
# is built once: the browser tests (one JupyterLab and Chromium: browser/conftest.py)
# and the tests of a module that defines a fixture of module or session scope (a
# server, a Ray cluster, an indexed project, notebooks that run after each other).
# The tests of every module that uses the Label Studio server (a session fixture of
# this file, slow to start) run on one worker too.
# The groups are read off the test ids, in the controller: xdist's `xdist_group` mark
# works by renaming node ids, which pytest 9 no longer lets a plugin do.
BROWSER = Path(__file__).resolve().parent / "browser"
_SHARED_FIXTURE = re.compile(r"@pytest\.fixture\([^)]*scope=[\"'](module|package|session)")
_LABEL_STUDIO = re.compile(r"\blabel_studio\b")


@functools.cache
def _shares_fixtures(path: Path) -> bool:
    return bool(_SHARED_FIXTURE.search(path.read_text(encoding="utf-8")))


@functools.cache
def _uses_label_studio(path: Path) -> bool:
    return bool(_LABEL_STUDIO.search(path.read_text(encoding="utf-8")))


def work_unit(rootpath: Path, nodeid: str) -> str:
    """The unit of work a test belongs to: ``browser``, ``label-studio``, its module's
    path, or itself."""
    path = (rootpath / nodeid.split("::", 1)[0]).resolve()
    if BROWSER in path.parents:
        return "browser"
    if _uses_label_studio(path):
        return "label-studio"
    return str(path) if _shares_fixtures(path) else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(config.rootpath, nodeid)

    return SharedFixtureScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory: pytest.TempPathFactory):
    """Built int8 towers go to a folder of this test session (subprocesses inherit it),
    never into the user's cache."""
    import os

    old = os.environ.get("AISEARCH_CACHE")
    os.environ["AISEARCH_CACHE"] = str(tmp_path_factory.mktemp("model-cache"))
    yield
    if old is None:
        os.environ.pop("AISEARCH_CACHE", None)
    else:
        os.environ["AISEARCH_CACHE"] = old


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Folder of a tiny, seeded, randomly initialised open_clip model (32-d)."""
    return str(write_tiny_model(tmp_path_factory.mktemp("tiny-model")))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("AISEARCH_HOME", str(h))
    return h


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    make_folder(root, 12)
    return root


@pytest.fixture
def project_factory(tiny_model: str, home: Path):
    import aisearch_widgets as aw

    made: list[aw.Project] = []

    def make(name: str = "p", sources=None, **kw) -> aw.Project:
        kw.setdefault("model", tiny_model)
        kw.setdefault("home", home)
        # Exact vectors for the tests that reason about them; "auto" (int8 for this
        # tiny ViT on CPU) has tests of its own in test_precision.py.
        kw.setdefault("precision", "fp32")
        p = aw.Project(name, sources=sources, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


# -- the demo's evaluation set, indexed once per session and precision -----------------

DEMO_PRECISIONS = ["fp32"] + (["int8"] if importlib.util.find_spec("onnxruntime") else [])


class DemoIndex(NamedTuple):
    project: Any  # aw.Project of the 2,000 evaluation images, model="demo"
    labels: Any  # their labels (pandas DataFrame indexed by path, plus a column "cls")
    precision: str
    index_seconds: float


@pytest.fixture(scope="session")
def demo_eval_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """The demo's evaluation images (2,000, the seed of ``demo.evaluate``, unlike the
    training data's), written once per session: ``(folder, labels by path)``."""
    import numpy as np

    from aisearch_widgets.demo import make_dataset
    from aisearch_widgets.demo.evaluate import EVAL_SEED

    root = tmp_path_factory.mktemp("quality-images")
    df = make_dataset(root, n=2000, seed=EVAL_SEED)
    df["cls"] = np.where(df["rare"], df["shape"], df["color"] + " " + df["shape"])
    return root, df.set_index("path")


@pytest.fixture(scope="session", params=DEMO_PRECISIONS)
def demo_index(
    request: pytest.FixtureRequest,
    demo_eval_images: tuple[Path, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DemoIndex]:
    """A project of the evaluation images embedded by the demo model at each precision,
    built once per session."""
    import aisearch_widgets as aw

    folder, labels = demo_eval_images
    home = tmp_path_factory.mktemp(f"quality-home-{request.param}")
    proj = aw.Project("quality", sources=folder, model="demo", home=home, precision=request.param)
    t0 = time.perf_counter()
    proj.update()
    seconds = round(time.perf_counter() - t0, 1)
    assert proj.status.done == len(labels)
    if request.param != "fp32":
        assert proj.model_identity.endswith("+" + request.param)
    yield DemoIndex(proj, labels, request.param, seconds)
    proj.close()


@pytest.fixture
def panel(project_factory, tmp_path: Path):
    """A search panel on 30 images whose parts record what they send (``part.sent``;
    ``panel.sent`` is the gallery's). Modules with a panel of their own override it."""
    import aisearch_widgets as aw

    from _helpers import make_folder, record_sends

    root = tmp_path / "imgs"
    make_folder(root, 30, sub=False)
    panel = aw.SearchPanel(project_factory("p", root), page_size=8, poll_interval=0)
    record_sends(panel)
    panel.sent = panel.gallery.sent
    yield panel
    panel.close()
