"""Curation through the Project API: map, duplicates, outliers and the suggested
threshold, on images the test draws (the engine itself: tests/test_explore.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import aisearch_widgets as aw
from aisearch_widgets import _integrity

from _helpers import inject, make_folder, unit


@pytest.fixture
def curated(project_factory, tmp_path: Path) -> aw.Project:
    root = tmp_path / "cur"
    files = make_folder(root, 24, colors=("red", "green", "blue", "yellow"), sub=False)
    shutil.copy(files[0], root / f"copy_of_first{files[0].suffix}")
    big = Image.open(files[1]).convert("RGB")
    big.resize((big.width * 2, big.height * 2)).save(root / "bigger_second.png")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / "noise.png")
    proj = project_factory("cur", root)
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


def test_outliers_and_map_cover_the_project(curated: aw.Project) -> None:
    out = curated.outliers(n=3, progress=False)
    assert len(out) == 3 and list(out.scores) == sorted(out.scores, reverse=True)
    m = curated.map(method="pca", progress=False)
    assert len(m) == curated.status.done and {"id", "path", "x", "y", "cluster"} <= set(m)
    assert m["path"].map(lambda p: Path(p).exists()).all()
    again = curated.map(method="pca", progress=False)  # cached: same coordinates
    assert np.allclose(again[["x", "y"]].to_numpy(), m[["x", "y"]].to_numpy())


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
