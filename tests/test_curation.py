"""Curation through the Project API: map, duplicates, outliers and the suggested
threshold, on images the test draws (the engine itself: tests/test_explore.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import aisearch_widgets as aw
from aisearch_widgets.demo import DEMO_MODEL_DIR

import _integrity
from _helpers import draw, inject, make_folder, unit


def _curation_folder(root: Path) -> Path:
    """24 discs in four colours, a byte copy, a bigger copy and one picture of noise."""
    files = make_folder(root, 24, colors=("red", "green", "blue", "yellow"), sub=False)
    shutil.copy(files[0], root / f"copy_of_first{files[0].suffix}")
    big = Image.open(files[1]).convert("RGB")
    big.resize((big.width * 2, big.height * 2)).save(root / "bigger_second.png")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / "noise.png")
    return root


@pytest.fixture
def curated(project_factory, tmp_path: Path) -> aw.Project:
    proj = project_factory("cur", _curation_folder(tmp_path / "cur"))
    proj.update()
    return proj


@pytest.fixture
def curated_demo(project_factory, tmp_path: Path) -> aw.Project:
    """The same pictures embedded by the bundled demo model: it has learnt colours and
    shapes, so the noise is far from everything (the tiny random model cannot tell)."""
    if not (DEMO_MODEL_DIR / "open_clip_config.json").exists():
        pytest.skip("demo model not built")
    proj = project_factory("cur", _curation_folder(tmp_path / "cur"), model="demo")
    proj.update()
    return proj


def test_duplicates_groups_copies_best_first_and_keep_best(curated: aw.Project) -> None:
    dups = curated.duplicates(progress=False)
    df = dups.df
    assert {"group", "best"} <= set(df.columns)
    names = {Path(p).name for p in df["path"]}
    assert any(n.startswith("copy_of_first") for n in names)  # the byte copy is found
    first = df[df["group"] == df["group"].iloc[0]]
    assert first["best"].iloc[0] and not first["best"].iloc[1:].any()
    rest = dups.keep_best()
    assert len(rest) == len(df) - df["group"].nunique()
    assert set(rest.ids) <= set(dups.ids) and curated.last is dups
    assert not _integrity.problems(curated)


def test_outliers_and_map_cover_the_project(curated_demo: aw.Project) -> None:
    out = curated_demo.outliers(n=3, progress=False)
    assert len(out) == 3 and list(out.scores) == sorted(out.scores, reverse=True)
    assert Path(out.paths[0]).name == "noise.png", out.paths  # the planted outlier leads
    assert out.scores[0] > 2 * out.scores[1]  # by far: discs have discs for neighbours
    m = curated_demo.map(method="pca", progress=False)
    assert len(m) == curated_demo.status.done and {"id", "path", "x", "y", "cluster"} <= set(m)
    assert m["path"].map(lambda p: Path(p).exists()).all()
    # Cached in the project home: a second call reads the file and does not rewrite it.
    (cache,) = curated_demo.folder.glob("explore/*/map-pca.npz")
    stamp = lambda: (cache.stat().st_ino, cache.stat().st_mtime_ns, cache.read_bytes())  # noqa: E731
    before = stamp()
    again = curated_demo.map(method="pca", progress=False)
    assert stamp() == before
    assert np.allclose(again[["x", "y"]].to_numpy(), m[["x", "y"]].to_numpy())
    curated_demo.map(method="pca", refit=True, progress=False)  # the check sees a rewrite
    assert stamp()[:2] != before[:2]


def test_filter_above_auto_uses_the_suggested_threshold(curated: aw.Project) -> None:
    ids = sorted(curated.catalog.embedded_ids(curated.model_identity))
    dim = curated.store.dim
    q = unit(np.eye(dim)[0])
    rng = np.random.default_rng(1)
    head, tail = ids[:6], ids[6:]
    vecs = {i: unit(q + 0.05 * rng.normal(size=dim)) for i in head}
    vecs |= {i: unit(rng.normal(size=dim)) for i in tail}
    inject(curated, vecs)
    res = curated.similar(ids=[head[0]], include_references=True, limit=100)
    cut = res.suggest_threshold()
    assert cut is not None
    top = res.filter(above="auto")
    assert set(top.ids) == set(head) and top.query["filter"]["auto"]
    flat = curated.search("x", limit=100)  # random tiny model: no clear cut expected
    if flat.suggest_threshold() is None:
        with pytest.raises(aw.AISearchError, match="no clear cut"):
            flat.filter(above="auto")


# -- one physical file, one record; duplicates are copies of one picture -------------


def test_overlapping_sources_are_refused_and_a_file_is_never_its_own_duplicate(
    project_factory, tmp_path: Path
) -> None:
    d = tmp_path / "d"
    make_folder(d / "part-00", 4, sub=False)
    with pytest.raises(aw.SourceError, match="part-00 is inside"):
        project_factory("overlap", [str(d), str(d) + "/part-00"])
    proj = project_factory("overlap", [d / "part-00"])
    with pytest.raises(aw.SourceError, match="part-00 is inside"):
        proj.set_sources([d, d / "part-00"])
    proj.update()
    assert proj.status.done == 4
    assert len(proj.duplicates(progress=False)) == 0


def test_symlinks_to_one_original_are_never_its_copies_nor_best(
    project_factory, tmp_path: Path
) -> None:
    root = tmp_path / "links"
    original = draw(root / "original.png", "red", size=(96, 96), fmt="PNG")
    for i in range(6):
        os.symlink(original, root / f"link{i}.png")
    proj = project_factory("links", root)
    proj.update()
    assert proj.status.done == 1  # one file, one record
    assert len(proj.duplicates(progress=False)) == 0
    # A real byte copy beside the links: one group, the original best, no link in it.
    copy = root / "zz_copy.png"
    shutil.copy(original, copy)
    os.utime(copy, (original.stat().st_mtime + 60,) * 2)
    proj.update()
    df = proj.duplicates(progress=False).df
    assert sorted(Path(p).name for p in df["path"]) == ["original.png", "zz_copy.png"]
    assert Path(df.loc[df["best"], "path"].item()).name == "original.png"
    assert df["match"].tolist() == ["exact", "exact"]


def test_old_duplicates_calls_keep_working(curated: aw.Project) -> None:
    by_threshold = curated.duplicates(threshold=0.9, progress=False)
    assert set(by_threshold.ids) == set(curated.duplicates(progress=False).ids)
    with pytest.warns(DeprecationWarning, match="kind="):
        wide = curated.duplicates(confirm=False, progress=False)
    assert wide.query["kind"] == "similar"
    assert set(wide.ids) == set(curated.duplicates(kind="similar", progress=False).ids)
