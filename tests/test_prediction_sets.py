"""Prediction sets kept by column (``prediction_sets``, schema 6): one catalog row per
set instead of a ``labels`` row per image, read back through every label reader as
the rows it replaces; writes by hand, deletions, the trash and a repair work on it;
a catalog that holds a prediction set as ``labels`` rows (schema 5) still reads and
is replaced by column on the next run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets._labels import df_label_columns
from aisearch_widgets.catalog import SCHEMA_VERSION, Catalog
from aisearch_widgets.sources import FileEntry

from _helpers import damage_files_table, draw

CLASSES = ["cat", "dog", "bird"]


def _fill(cat: Catalog, names: list[str]) -> list[str]:
    entries = [
        FileEntry(key=f"src/{n}", path=f"/data/{n}", source="src", size=1, mtime_ns=1)
        for n in names
    ]
    ids = [f"id-{n}" for n in names]
    cat.mark_pending(entries, ids)
    return ids


def _rows(cat: Catalog, set_: str) -> int:
    return cat.query("SELECT COUNT(*) FROM labels WHERE label_set = ?", (set_,))[0][0]


def _predictions(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, len(CLASSES), n), rng.random(n).astype(np.float32)


def test_a_prediction_set_is_one_row_and_reads_as_its_labels(tmp_path: Path) -> None:
    cat = Catalog(str(tmp_path / "c.sqlite"))
    names = [f"{k:04d}.jpg" for k in range(300)]
    ids = _fill(cat, names)
    cat.put_labels("ground_truth", [(ids[0], "cat", None, None, None, None, None, "s", "ann")])
    code, conf = _predictions(len(ids))
    order = np.random.default_rng(1).permutation(len(ids))  # any order in, id order out
    given = [ids[k] for k in order]
    assert cat.replace_prediction_set("zs", given, CLASSES, code[order], conf[order], "zero-shot")
    assert _rows(cat, "zs") == 0
    assert cat.query("SELECT label_set, n FROM prediction_sets") == [("zs", len(ids))]
    assert cat.label_sets() == {"ground_truth": 1, "zs": len(ids)}
    df = cat.labels_frame("zs")
    assert df["id"].tolist() == ids
    assert df["label"].tolist() == [CLASSES[c] for c in code]
    assert df["path"].tolist() == [f"/data/{n}" for n in names]
    np.testing.assert_array_equal(df["confidence"].to_numpy(), conf.astype(float))
    assert df[["x", "y", "w", "h"]].isna().all().all() and set(df["source"]) == {"zero-shot"}
    assert df["author"].isna().all() and df["time"].nunique() == 1
    assert cat.ids_with_label(["dog", "bird"], "zs") == {
        i for i, c in zip(ids, code, strict=True) if c > 0
    }
    # All sets: the rows written before the set, the set, the rows written after it.
    cat.put_labels("later", [(ids[5], "tree", None, None, None, None, 0.5, "s", None)])
    every = cat.labels_frame()
    assert every["set"].tolist() == ["ground_truth", *["zs"] * len(ids), "later"]
    picked = cat.labels_frame("zs", [ids[7], ids[3], "id-unknown", "ü"])
    assert picked["id"].tolist() == [ids[3], ids[7]]
    rows = cat.classification_rows("zs")
    assert rows[:2] == [
        (ids[0], CLASSES[code[0]], float(conf[0])),
        (ids[1], CLASSES[code[1]], float(conf[1])),
    ]
    cat.close()


def test_writes_by_hand_and_deletions_work_on_a_prediction_set(tmp_path: Path) -> None:
    cat = Catalog(str(tmp_path / "c.sqlite"))
    ids = _fill(cat, [f"{k:03d}.jpg" for k in range(50)])
    code, conf = _predictions(len(ids))
    cat.replace_prediction_set("zs", ids, CLASSES, code, conf, "zero-shot")
    # A correction replaces the image's prediction and comes after the set.
    cat.put_labels(
        "zs", [(ids[0], "fish", None, None, None, None, 1.0, "me", "ann")], clear=[ids[0]]
    )
    df = cat.labels_frame("zs")
    assert len(df) == len(ids) and df["id"].iloc[-1] == ids[0]
    assert df.set_index("id").loc[ids[0], "label"] == "fish"
    assert cat.label_sets() == {"zs": len(ids)}
    assert cat.ids_with_label(["fish"], "zs") == {ids[0]}
    assert cat.remove_labels("zs", [ids[1], ids[0]]) == 2
    cat.forget_ids([ids[2]])  # a deleted file's labels go with it
    assert cat.label_sets() == {"zs": len(ids) - 3}
    assert set(cat.labels_frame("zs")["id"]) == set(ids[3:])
    # The trash keeps an image's prediction in its record and a restore gives it back.
    rec = cat.rows_of(ids[3])
    assert [(r["label_set"], r["label"]) for r in rec["labels"]] == [("zs", CLASSES[code[3]])]
    assert rec["labels"][0]["confidence"] == pytest.approx(float(conf[3]))
    # The default set's label column of Collection.df.
    got = df_label_columns(cat, [ids[4], ids[3], "id-none"])
    assert got == {"label": [CLASSES[code[4]], CLASSES[code[3]], None]}
    many = ids[3:] * 200  # more than the chunked query takes: the whole set is read
    assert df_label_columns(cat, many)["label"][: len(ids) - 3] == [CLASSES[c] for c in code[3:]]
    assert cat.remove_labels("zs") == len(ids) - 3
    assert cat.label_sets() == {} and cat.query("SELECT COUNT(*) FROM prediction_sets")[0][0] == 0
    # Rows and a set by column side by side; replacing the set drops both.
    cat.put_labels("zs", [(ids[9], "fish", None, None, None, None, None, None, None)])
    cat.replace_prediction_set("zs", ids[:10], CLASSES, code[:10], conf[:10], "zero-shot")
    assert _rows(cat, "zs") == 0 and cat.label_sets() == {"zs": 10}
    cat.replace_label_set("zs", ids[:2], ["cat", "dog"], [0.5, 0.6], "other")
    assert cat.label_sets() == {"zs": 2}
    assert cat.query("SELECT COUNT(*) FROM prediction_sets")[0][0] == 0
    cat.close()


def test_ids_that_are_not_ascii_are_written_as_label_rows(tmp_path: Path) -> None:
    cat = Catalog(str(tmp_path / "c.sqlite"))
    ids = _fill(cat, ["a.jpg", "é.jpg"])
    cat.replace_prediction_set("zs", ids, CLASSES, np.array([1, 2]), np.array([0.5, 0.75]), "z")
    assert _rows(cat, "zs") == 2
    assert cat.labels_frame("zs")[["id", "label"]].values.tolist() == [
        ["id-a.jpg", "dog"],
        ["id-é.jpg", "bird"],
    ]
    cat.close()


def test_a_catalog_with_prediction_rows_of_version_5_reads_and_is_replaced(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalog.sqlite"
    cat = Catalog(str(path))
    ids = _fill(cat, [f"{k:03d}.jpg" for k in range(40)])
    code, conf = _predictions(len(ids))
    names = [CLASSES[c] for c in code]
    cat.replace_label_set("zs", ids, names, conf.astype(float).tolist(), "zero-shot")
    before = cat.labels_frame("zs")
    cat.close()
    db = sqlite3.connect(path)  # as version 5 left it: no prediction_sets table
    db.executescript("DROP TABLE prediction_sets; PRAGMA user_version = 5;")
    db.close()
    ro = Catalog(str(path), readonly=True)  # a status reader does not migrate
    assert ro.label_sets() == {"zs": len(ids)}
    ro.close()
    cat = Catalog(str(path))
    assert cat.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION == 6
    assert cat.labels_frame("zs").equals(before)
    assert cat.ids_with_label(["cat"], "zs") == {
        i for i, n in zip(ids, names, strict=True) if n == "cat"
    }
    cat.replace_prediction_set("zs", ids, CLASSES, (code + 1) % 3, conf, "zero-shot")
    assert _rows(cat, "zs") == 0 and cat.label_sets() == {"zs": len(ids)}
    assert cat.labels_frame("zs")["label"].tolist() == [CLASSES[(c + 1) % 3] for c in code]
    cat.close()


@pytest.fixture
def classified(project_factory, tmp_path: Path) -> tuple[aw.Project, pd.DataFrame]:
    root = tmp_path / "imgs"
    for i, c in enumerate(["red", "green", "blue", "red", "green", "blue"]):
        draw(root / f"{c}_{i}.png", c, size=(60 + 5 * i, 50), seed=i)
    proj = project_factory("cls", root)
    proj.update()
    res = proj.classify(["a red picture", "a green picture", "a blue picture"], set="zs")
    return proj, res.df


def test_classify_keeps_one_row_and_the_project_reads_it_as_labels(classified) -> None:
    proj, res = classified
    assert _rows(proj.catalog, "zs") == 0
    assert proj.catalog.query("SELECT n FROM prediction_sets") == [(len(res),)]
    lab = proj.labels("zs").set_index("id").loc[res["id"]]
    assert lab["label"].tolist() == res["prediction"].tolist()
    np.testing.assert_allclose(lab["confidence"], res["score"], rtol=1e-6)
    assert proj.labelled(res["prediction"].iloc[0], set="zs").ids
    df = proj.search("a red picture", limit=6).df.set_index("id")
    assert (df.loc[res["id"], "label"].to_numpy() == res["prediction"].to_numpy()).all()
    assert len(proj.uncertain(2, set="zs", diverse=False)) == 2
    assert res["score"].is_monotonic_decreasing and res["id"].dtype == pd.Series(["x"]).dtype


def test_a_trashed_image_takes_its_prediction_along_and_back(classified) -> None:
    proj, res = classified
    gone = res["id"].iloc[0]
    proj.labelled(res["prediction"].iloc[0], set="zs").select([gone]).delete(confirm=True)
    assert gone not in set(proj.labels("zs")["id"])
    assert proj.catalog.label_sets() == {"zs": len(res) - 1}
    proj.trash.restore()
    back = proj.labels("zs").set_index("id")
    assert back.loc[gone, "label"] == res["prediction"].iloc[0]
    assert proj.catalog.label_sets() == {"zs": len(res)}


def test_ids_kept_as_bytes_come_back_as_the_same_strings() -> None:
    from aisearch_widgets._predsets import decode, encode, id_column

    same = encode(["0b9f", "77aa", "c3d1"])
    mixed = encode(["a", "bcd", ""])  # shorter ids are padded with NUL bytes
    assert decode(same) == ["0b9f", "77aa", "c3d1"] and decode(mixed) == ["a", "bcd", ""]
    for arr in (same, mixed):
        col = pd.Series(id_column(arr))
        assert col.tolist() == decode(arr) and col.dtype == pd.Series(["x"]).dtype
    assert encode(["é"]) is None and encode(["é", "a"], strict=False).tolist() == [b"a"]


def test_scores_by_torch_match_the_numpy_softmax_and_top_two() -> None:
    from aisearch_widgets.active import score_classes, softmax, top_two

    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((70_000, 64)).astype(np.float16)  # more than one chunk
    text = rng.standard_normal((5, 64)).astype(np.float32)
    probs, top, p1, margin = score_classes(vecs, text, 2.0)
    want = softmax(vecs.astype(np.float32) @ (text * 2.0).T)
    np.testing.assert_allclose(probs, want, rtol=1e-4, atol=1e-6)
    w_top, w_p1, w_margin = top_two(want)
    assert (top == w_top).mean() > 0.9999
    np.testing.assert_allclose(p1, w_p1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(margin, w_margin, rtol=1e-3, atol=1e-5)
    one = score_classes(vecs[:3], text[:1], 2.0)
    assert one[0].shape == (3, 1) and (one[1] == 0).all() and np.allclose(one[2], 1.0)


def test_the_state_of_the_embedded_files_is_read_from_an_index_alone(tmp_path: Path) -> None:
    from aisearch_widgets import _matrix

    cat = Catalog(str(tmp_path / "c.sqlite"))
    ids = _fill(cat, ["a.jpg", "b.jpg"])
    cat.query("UPDATE files SET status = 'embedded', updated_at = 5 WHERE id = ?", (ids[0],))
    sql = _matrix.STATE_SQL
    assert cat.query(sql) == [(1, 5.0, 5.0)]
    plan = " ".join(str(r[-1]) for r in cat.query("EXPLAIN QUERY PLAN " + sql))
    assert "COVERING INDEX files_embedded" in plan, plan
    cat.close()


def test_scoring_leaves_the_callers_thread_count_and_raises_its_errors() -> None:
    import torch

    from aisearch_widgets.active import score_classes

    before = torch.get_num_threads()
    vecs = np.ones((10, 8), np.float16)
    score_classes(vecs, np.ones((3, 8), np.float32), 1.0)
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):
        score_classes(vecs, np.ones((3, 5), np.float32), 1.0)  # 8-d vectors, 5-d classes
    assert torch.get_num_threads() == before


def test_a_set_read_again_comes_from_memory_until_it_changes(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite")
    cat = Catalog(path)
    ids = _fill(cat, [f"{k}.jpg" for k in range(5)])
    code, conf = _predictions(len(ids))
    cat.replace_prediction_set("zs", ids, CLASSES, code, conf, "zero-shot")
    first = cat.kept_sets("zs")[0]
    assert cat.kept_sets("zs")[0] is first  # not read again
    other = Catalog(path)  # another writer (another process) replaces the set
    other.replace_prediction_set("zs", ids, CLASSES, (code + 1) % 3, conf, "zero-shot")
    other.close()
    assert cat.labels_frame("zs")["label"].tolist() == [CLASSES[(c + 1) % 3] for c in code]
    cat.forget_ids([ids[0]])
    assert cat.labels_frame("zs")["id"].tolist() == ids[1:]
    cat.close()


def test_repairing_a_damaged_catalog_keeps_a_prediction_set(
    tiny_model: str, tmp_path: Path, home: Path
) -> None:
    root = tmp_path / "many"
    for i in range(6):
        draw(root / f"im_{i}.png", ["red", "blue"][i % 2], size=(40 + i, 30), seed=i)
    with aw.Project("p", sources=root, model=tiny_model, home=home) as p:
        p.update()
        p.classify(["a red picture", "a blue picture"], set="zs")
        before = p.labels("zs")
    db = home / "p" / "catalog.sqlite"
    damage_files_table(db)
    report = aw.Project.repair("p", home=home)
    assert "catalog: salvaged 1 prediction_sets rows" in report
    with aw.Project.open("p", home=home) as p:
        p.update()  # the rescan gives the files their ids again: the labels are theirs
        after = p.labels("zs")
        assert after.drop(columns=["time"]).equals(before.drop(columns=["time"]))


def test_a_classify_of_no_image_leaves_no_set(tmp_path: Path) -> None:
    """An empty prediction set (a scope that matched nothing) must not become the
    default label set and hide the labels the user has."""
    cat = Catalog(str(tmp_path / "c.sqlite"))
    ids = _fill(cat, ["a.jpg", "b.jpg"])
    cat.put_labels("truth", [(ids[0], "cat", None, None, None, None, None, "s", None)])
    code, conf = _predictions(2)
    cat.replace_prediction_set("a-zs", ids, CLASSES, code, conf, "zero-shot")
    assert cat.label_sets() == {"a-zs": 2, "truth": 1}
    empty = np.zeros(0, np.int64), np.zeros(0, np.float32)
    assert cat.replace_prediction_set("a-zs", [], CLASSES, *empty, "zero-shot") == 0
    assert cat.label_sets() == {"truth": 1} and cat.default_label_set() == "truth"
    cat.close()


def test_repair_keeps_the_order_labels_were_written_in(tmp_path: Path) -> None:
    from aisearch_widgets import _repair

    path = tmp_path / "c.sqlite"
    cat = Catalog(str(path))
    ids = _fill(cat, ["a.jpg", "b.jpg", "c.jpg"])
    row = [None, None, None, None, None, "s", None]
    cat.put_labels("old", [(i, "x", *row) for i in ids])
    cat.remove_labels("old")  # the label counter is past the rows that are left
    cat.replace_prediction_set("zs", ids, CLASSES, np.array([0, 1, 0]), np.ones(3), "zero-shot")
    cat.put_labels("zs", [(ids[0], "dog", None, None, None, None, None, "hand", "me")])
    before = cat.labels_frame("zs")["source"].tolist()
    assert before == ["zero-shot"] * 3 + ["hand"]
    cat.close()
    again, _ = _repair._rebuild_catalog(path, "p", [])
    assert again.labels_frame("zs")["source"].tolist() == before
    again.put_labels("zs", [(ids[1], "bird", None, None, None, None, None, "later", "me")])
    assert again.labels_frame("zs")["source"].tolist() == [*before, "later"]
    again.close()


def test_zero_shot_takes_a_numpy_scale() -> None:
    from aisearch_widgets import active

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((20, 8)).astype(np.float16)
    text = rng.standard_normal((3, 8)).astype(np.float32)
    a = active.zero_shot(vecs, text, np.float64(50.0))
    b = active.zero_shot(vecs, text, 50.0)
    np.testing.assert_allclose(a, b, rtol=1e-6)
