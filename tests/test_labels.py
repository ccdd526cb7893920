"""Labels in the project: the catalog's ``labels`` table (schema 5, migrated from 3),
``proj.labels()``, ``proj.labelled()``, the ``label`` column of ``Collection.df``,
and labels that follow moves, the trash and a restore."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets.catalog import SCHEMA_VERSION, Catalog
from aisearch_widgets.sources import FileEntry

from _helpers import damage_files_table, draw


def _fill(cat: Catalog, *names: str) -> None:
    entries = [
        FileEntry(key=f"src/{n}", path=f"/data/{n}", source="src", size=1, mtime_ns=1)
        for n in names
    ]
    cat.mark_pending(entries, [f"id-{n}" for n in names])


def test_catalog_keeps_label_sets_side_by_side(tmp_path: Path) -> None:
    cat = Catalog(str(tmp_path / "c.sqlite"))
    _fill(cat, "a.jpg", "b.jpg")
    cat.put_labels("ground_truth", [("id-a.jpg", "cat", None, None, None, None, None, "s", "ann")])
    cat.put_labels(
        "model-v3",
        [
            ("id-a.jpg", "dog", 1, 2, 30, 40, 0.7, "m", None),
            ("id-b.jpg", "cat", 5, 6, 7, 8, 0.9, "m", None),
        ],
    )
    assert cat.label_sets() == {"ground_truth": 1, "model-v3": 2}
    df = cat.labels_frame("model-v3")
    assert df[["id", "path", "label"]].values.tolist() == [
        ["id-a.jpg", "/data/a.jpg", "dog"],
        ["id-b.jpg", "/data/b.jpg", "cat"],
    ]
    assert df[["x", "y", "w", "h", "confidence"]].iloc[0].tolist() == [1, 2, 30, 40, 0.7]
    gt = cat.labels_frame("ground_truth")
    assert np.isnan(gt["x"].iloc[0]) and gt["author"].iloc[0] == "ann"
    # A new import replaces what the set had for an image, and only that set.
    cat.put_labels(
        "model-v3", [("id-a.jpg", "bird", 0, 0, 1, 1, 0.5, "m", None)], clear=["id-a.jpg"]
    )
    assert sorted(cat.labels_frame("model-v3")["label"]) == ["bird", "cat"]
    assert cat.ids_with_label(["cat"], "model-v3") == {"id-b.jpg"}
    assert cat.ids_with_label(["cat"], "ground_truth") == {"id-a.jpg"}
    cat.forget_ids(["id-a.jpg"])  # a deleted file's labels go with it
    assert cat.label_sets() == {"model-v3": 1}
    cat.close()


def test_a_catalog_of_version_3_gains_labels(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    cat = Catalog(str(path))
    _fill(cat, "a.jpg")
    cat.add_tags(["id-a.jpg"], ["keep"])
    cat.close()
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE labels; PRAGMA user_version = 3;")
    db.close()
    cat = Catalog(str(path))
    assert cat.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION == 6
    assert cat.tags_of(["id-a.jpg"]) == {"id-a.jpg": ["keep"]}
    assert cat.label_sets() == {}
    cat.put_labels("ground_truth", [("id-a.jpg", "cat", None, None, None, None, None, None, None)])
    assert cat.labels_frame()["label"].tolist() == ["cat"]
    names = {r[0] for r in cat.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"labels_id", "labels_set"} <= names
    cat.close()


@pytest.fixture
def labelled(project_factory, tmp_path: Path) -> aw.Project:
    root = tmp_path / "imgs"
    for i, c in enumerate(["red", "green", "blue", "red"]):
        draw(root / f"{c}_{i}.png", c, size=(80 + 10 * i, 60), seed=i)
    proj = project_factory("lab", root)
    proj.update()
    df = pd.DataFrame(
        {
            "path": [str(root / "red_0.png"), str(root / "red_0.png"), str(root / "green_1.png")],
            "label": ["car", "person", "tree"],
            "x": [1.0, 10.0, 2.5],
            "y": [2.0, 20.0, 3.5],
            "w": [30.0, 12.0, 40.0],
            "h": [20.0, 15.0, 10.0],
        }
    )
    rep = proj.import_labels(df, set="ground_truth", author="me")
    assert rep.labels == 3 and rep.images == 2 and rep.unmatched.empty
    return proj


def test_project_labels_df_column_and_labelled(labelled: aw.Project) -> None:
    proj = labelled
    lab = proj.labels()
    assert list(lab.columns) == [
        "id", "path", "set", "label", "x", "y", "w", "h", "confidence", "source", "author", "time"
    ]  # fmt: skip
    assert sorted(lab["label"]) == ["car", "person", "tree"]
    assert set(lab["author"]) == {"me"} and set(lab["set"]) == {"ground_truth"}
    cars = proj.labelled("car")
    assert [Path(p).name for p in cars.df["path"]] == ["red_0.png"]
    assert len(proj.labelled("car", "tree")) == 2
    assert len(proj.labelled("car", set="model-v3")) == 0
    df = proj.labelled("car", "tree").df
    by = dict(zip(df["path"].map(lambda p: Path(p).name), df["label"], strict=True))
    assert by == {"red_0.png": "car", "green_1.png": "tree"}
    assert "labels" in df  # red_0 has two labels
    assert sorted(df.set_index(df["path"].map(lambda p: Path(p).name))["labels"]["red_0.png"]) == [
        "car",
        "person",
    ]


def test_df_has_no_label_column_without_labels(project_factory, images: Path) -> None:
    proj = project_factory("plain", images)
    proj.update()
    assert "label" not in proj.search("x", limit=3).df


def test_labels_follow_moves_trash_and_restore(labelled: aw.Project, tmp_path: Path) -> None:
    proj = labelled
    before = proj.labels().drop(columns=["path"])
    cars = proj.labelled("car")
    rep = cars.move_to(tmp_path / "moved")
    assert rep["status"].tolist() == ["moved"]
    after = proj.labels()
    assert after.drop(columns=["path"]).equals(before)
    assert Path(after.loc[after["label"] == "car", "path"].iloc[0]).parent == tmp_path / "moved"
    proj.labelled("tree").delete(confirm=True)
    assert sorted(proj.labels()["label"]) == ["car", "person"]
    assert "tree" not in proj.labels()["label"].tolist()
    proj.trash.restore()
    back = proj.labels()
    assert sorted(back["label"]) == ["car", "person", "tree"]
    tree = back[back["label"] == "tree"].iloc[0]
    assert (tree.x, tree.y, tree.w, tree.h, tree.author) == (2.5, 3.5, 40.0, 10.0, "me")
    proj.update()  # a sync keeps them
    assert len(proj.labels()) == 3


def test_repairing_a_damaged_catalog_keeps_the_labels(
    tiny_model: str, tmp_path: Path, home: Path
) -> None:
    root = tmp_path / "many"
    for i in range(6):
        draw(root / f"im_{i}.png", "red", size=(40 + i, 30), seed=i)
    with aw.Project("p", sources=root, model=tiny_model, home=home) as p:
        p.update()
        df = pd.DataFrame({"path": [str(root / "im_2.png")], "label": ["cat"], "x": [1.5]})
        df = df.assign(y=2.0, w=3.0, h=4.0, confidence=0.25)
        p.import_labels(df, set="model-v3")
        before = p.labels()
    db = home / "p" / "catalog.sqlite"
    damage_files_table(db)
    report = aw.Project.repair("p", home=home)
    assert "catalog: salvaged 1 labels rows" in report
    with aw.Project.open("p", home=home) as p:
        p.update()  # the rescan gives the files their ids again: the labels are theirs
        after = p.labels()
        assert after.drop(columns=["time"]).equals(before.drop(columns=["time"]))
        assert len(p.labelled("cat", set="model-v3")) == 1


def test_a_large_prediction_set_is_replaced_in_bulk_and_reads_back_equal(
    tmp_path: Path,
) -> None:
    cat = Catalog(str(tmp_path / "c.sqlite"))
    n = 25_000  # above the size written with the indexes dropped and rebuilt
    names = [f"{k:05d}.jpg" for k in range(n)]
    _fill(cat, *names)
    ids = [f"id-{m}" for m in names]
    cat.put_labels("ground_truth", [(ids[0], "cat", None, None, None, None, None, "s", "ann")])
    rng = np.random.default_rng(0)
    classes = np.array(["cat", "dog", "bird"], dtype=object)
    for _ in range(2):  # the second run replaces the first
        labels = classes[rng.integers(0, 3, n)].tolist()
        conf = rng.random(n).tolist()
        assert cat.replace_label_set("zero-shot", ids, labels, conf, "zero-shot") == n
    assert cat.label_sets() == {"ground_truth": 1, "zero-shot": n}
    df = cat.labels_frame("zero-shot")
    assert df["id"].tolist() == ids and df["label"].tolist() == labels
    assert df["path"].tolist() == [f"/data/{m}" for m in names]
    np.testing.assert_array_equal(df["confidence"].to_numpy(), np.asarray(conf))
    assert df[["x", "y", "w", "h"]].isna().all().all() and set(df["source"]) == {"zero-shot"}
    assert cat.labels_frame("ground_truth")["label"].tolist() == ["cat"]
    assert cat.ids_with_label(["dog"], "zero-shot") == {
        i for i, lab in zip(ids, labels, strict=True) if lab == "dog"
    }
    indexes = {r[0] for r in cat.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"labels_id", "labels_set"} <= indexes
    with pytest.raises(aw.InvalidArgument):
        cat.replace_label_set("zero-shot", ids, labels[:-1], conf, "zero-shot")
    cat.close()


def test_a_large_import_is_written_in_bulk_and_replaces_only_its_images(tmp_path: Path) -> None:
    cat = Catalog(str(tmp_path / "c.sqlite"))
    n = 12_000  # two boxes each: above the size written with the indexes rebuilt
    names = [f"{k:05d}.jpg" for k in range(n)]
    _fill(cat, *names)
    ids = [f"id-{m}" for m in names]
    cat.put_labels("ground_truth", [(ids[0], "cat", None, None, None, None, None, "s", "ann")])
    rows = [
        (i, lab, float(k), 2.0, 3.0, 4.0, None, "coco", None)
        for k, i in enumerate(ids)
        for lab in ("car", "person")
    ]
    assert cat.put_labels("boxes", rows, clear=ids) == 2 * n  # a new set: nothing to clear
    again = [(ids[1], "truck", 1.0, 1.0, 5.0, 5.0, 0.5, "yolo", None)]
    assert cat.put_labels("boxes", again, clear=ids[:2]) == 1  # replaces two images' labels
    df = cat.labels_frame("boxes")
    assert len(df) == 2 * n - 3 and ids[0] not in set(df["id"])
    assert df[df["id"] == ids[1]][["label", "x", "confidence"]].values.tolist() == [
        ["truck", 1.0, 0.5]
    ]
    assert df[df["id"] == ids[-1]]["x"].tolist() == [n - 1.0, n - 1.0]
    assert cat.label_sets() == {"boxes": 2 * n - 3, "ground_truth": 1}
    assert cat.ids_with_label(["person"], "boxes") == set(ids[2:])
    indexes = {r[0] for r in cat.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"labels_id", "labels_set"} <= indexes
    cat.close()
