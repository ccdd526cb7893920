"""Quality issues found per data set, ``proj.quality_issues()`` and ``proj.leaks()``."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from aisearch_widgets import quality
from aisearch_widgets._errors import InvalidArgument
from aisearch_widgets.collection import Collection
from aisearch_widgets.quality import ISSUES, find_issues, image_signals

from _quality_images import PLANTED, make_set, scene


def _frame(folder: Path) -> pd.DataFrame:
    rows = {}
    for p in sorted(folder.iterdir()):
        with Image.open(p) as im:
            rows[p.name] = {**image_signals(im), "width": im.width, "height": im.height}
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("planted")
    return folder, make_set(folder, 64, seed=3, kinds=PLANTED)


def test_planted_images_come_out_with_their_issue_on_top(planted) -> None:
    folder, truth = planted
    found = find_issues(_frame(folder))
    top = found.drop_duplicates("id").set_index("id")["issue"]
    for name, kind in truth.items():
        if kind == "normal":
            assert name not in top.index, (name, found[found["id"] == name])
        else:
            assert top.get(name) == kind, (name, kind, found[found["id"] == name])
    assert list(found.columns) == ["id", "issue", "severity", "value"]
    assert found["severity"].is_monotonic_decreasing
    # Each issue's planted images, and only they, carry it.
    for issue in ISSUES:
        got = set(found.loc[found["issue"] == issue, "id"])
        assert got == {n for n, k in truth.items() if k == issue}, issue


def test_a_data_set_of_good_or_all_grey_images_raises_nothing() -> None:
    rng = np.random.default_rng(7)
    good = [scene(rng, (int(rng.integers(200, 300)), 180)) for _ in range(40)]
    rows = {f"g{i}": {**image_signals(im), "width": im.width, "height": im.height}
            for i, im in enumerate(good)}  # fmt: skip
    assert find_issues(pd.DataFrame.from_dict(rows, orient="index")).empty
    grey = {f"x{i}": {**image_signals(im.convert("L")), "width": 256, "height": 256}
            for i, im in enumerate(good)}  # fmt: skip
    assert "grayscale" not in set(
        find_issues(pd.DataFrame.from_dict(grey, orient="index"))["issue"]
    )


def test_thresholds_are_settable_and_checked(planted) -> None:
    frame = _frame(planted[0])
    every = find_issues(frame, {"blurry": 1e12})
    assert set(every.loc[every["issue"] == "blurry", "id"]) == set(frame.index)
    # The z cutoff rules every issue but grayscale (grey in a colour set is enough).
    assert set(find_issues(frame, {"z": 1e9})["issue"]) == {"grayscale"}
    assert find_issues(frame, {"z": 1e9, "grayscale": -1}).empty
    dark = find_issues(frame, {"dark": 0.3})
    assert set(dark.loc[dark["issue"] == "dark", "id"]) == set(
        frame.index[frame["brightness"] < 0.3]
    )
    for bad in ({"sharp": 1.0}, {"dark": "low"}, {"z": float("nan")}):
        with pytest.raises(ValueError, match="thresholds"):
            find_issues(frame, bad)
    # Missing columns: those issues are not checked.
    only = find_issues(frame[["brightness"]])
    assert set(only["issue"]) <= {"dark", "bright"} and len(only)


@pytest.mark.skipif(
    importlib.util.find_spec("cleanvision") is None,
    reason="cleanvision is not installed (pip install 'aisearch-widgets[quality]')",
)
def test_agreement_with_cleanvision_per_issue(tmp_path: Path) -> None:
    from cleanvision import Imagelab

    truth = make_set(tmp_path, 120, seed=11)
    lab = Imagelab(data_path=str(tmp_path))
    cv_names = {"bright": "light"}
    lab.find_issues({cv_names.get(k, k): {} for k in PLANTED[:5]}, n_jobs=1, verbose=False)
    flags = lab.issues.set_axis([Path(p).name for p in lab.issues.index])
    found = find_issues(_frame(tmp_path))
    for issue in PLANTED[:5]:
        theirs = flags[f"is_{cv_names.get(issue, issue)}_issue"].astype(bool)
        ours = theirs.index.isin(found.loc[found["issue"] == issue, "id"])
        agreement = float((theirs.to_numpy() == ours).mean())
        assert agreement >= 0.9, (issue, agreement)
    assert len(truth) == 120


# -- the project ----------------------------------------------------------------------


@pytest.fixture
def split(tmp_path: Path) -> Path:
    """train/ and test/ folders of scenes; test/ holds a byte copy and a re-encoded,
    resized copy of two train images, and planted dark and blurry images."""
    root = tmp_path / "data"
    make_set(root / "train", 12, seed=5, kinds=("blurry", "dark"))
    make_set(root / "test", 6, seed=6, kinds=())
    test = root / "test"
    shutil.copy(root / "train" / "img_0000.png", test / "copy.png")
    with Image.open(root / "train" / "img_0003.png") as im:
        im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(test / "resized.jpg", quality=90)
    return root


def test_project_quality_issues_and_leaks(project_factory, split: Path, monkeypatch) -> None:
    proj = project_factory("q", sources=str(split))
    proj.update()
    col = proj.quality_issues()
    df = col.df
    assert {"issue", "issues", "severity", "value", "blur", "width"} <= set(df.columns)
    names = {Path(p).parent.name + "/" + Path(p).name: i for p, i in zip(df["path"], df["issue"], strict=True)}  # fmt: skip
    assert names == {f"train/img_{k:04d}.png": ("blurry", "dark")[(k % 3) - 1]
                     for k in range(12) if k % 3}  # fmt: skip
    assert col.scores.tolist() == sorted(col.scores.tolist(), reverse=True)
    assert set(proj.quality_issues("dark").df["issue"]) == {"dark"}
    assert proj.quality_issues(thresholds={"z": 1e9}).df.empty
    with pytest.raises(InvalidArgument, match="unknown 'fuzzy'"):
        proj.quality_issues("fuzzy")
    with pytest.raises(InvalidArgument, match="thresholds"):
        proj.quality_issues(thresholds={"dark": "low"})

    # The catalog's stored signals are used when it has them (fallback otherwise).
    from aisearch_widgets.explore.quality import frame_for

    measured = frame_for(proj)
    asked = []

    def stored(columns=None):
        asked.append(columns)
        return measured.assign(blur=1.0)

    monkeypatch.setattr(proj.catalog, "metadata_frame", stored, raising=False)
    assert (frame_for(proj)["blur"] == 1.0).all() and asked

    paths = {str(p): p for p in split.rglob("*") if p.is_file()}
    ids = proj.catalog.ids_by_path(list(paths))
    train = [i for p, i in ids.items() if "/train/" in p]
    test = [i for p, i in ids.items() if "/test/" in p]
    pairs = proj.leaks(train, test)
    assert list(pairs.columns) == ["a_id", "b_id", "similarity", "match", "a_path", "b_path"]
    got = {(Path(a).name, Path(b).name) for a, b in zip(pairs["a_path"], pairs["b_path"], strict=True)}  # fmt: skip
    assert got == {("img_0000.png", "copy.png"), ("img_0003.png", "resized.jpg")}
    assert set(pairs["match"]) == {"exact", "near"}
    # Collections work as the two sets (here: tagged splits).
    Collection(proj, pd.DataFrame({"id": train})).tag("train")
    Collection(proj, pd.DataFrame({"id": test})).tag("test")
    from_tags = proj.leaks(proj.tagged("train"), proj.tagged("test"))
    assert from_tags[["a_id", "b_id"]].values.tolist() == pairs[["a_id", "b_id"]].values.tolist()
    with pytest.raises(InvalidArgument, match="leaks"):
        proj.leaks("train", test)
    # Within one set nothing leaks; an image in both sets is its own pair.
    assert proj.leaks(train[:3], train[3:]).empty
    both = proj.leaks(train[:2], train[1:3])
    assert both[["a_id", "b_id"]].values.tolist() == [[train[1], train[1]]]
    assert quality.SIGNALS == ("blur", "brightness", "contrast", "colorfulness", "entropy")
