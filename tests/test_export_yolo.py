"""The YOLO export's files: the label texts formatted in one pass, the files written
from a few threads, and a failure midway leaving what it left before (nothing new:
no export, no temporary folder, an earlier export untouched)."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets import _export_labels, _export_yolo
from aisearch_widgets._export_yolo import label_stems, yolo_texts

from _helpers import draw


def _reference(ids, sizes, labels, classes) -> list[bytes]:
    """The texts as one f-string per box gives them."""
    out = {pid: [] for pid in ids}
    size = dict(zip(ids, sizes, strict=True))
    for r in labels.itertuples():
        if np.isnan(r.x):
            continue
        iw, ih = size[r.id]
        out[r.id].append(
            f"{classes.index(r.label)} {(r.x + r.w / 2) / iw:.6f} {(r.y + r.h / 2) / ih:.6f} "
            f"{r.w / iw:.6f} {r.h / ih:.6f}\n"
        )
    return ["".join(v).encode() for v in out.values()]


def test_texts_are_one_line_per_box_in_order_and_empty_without_boxes() -> None:
    ids = ["a", "b", "c", "d", "e"]
    sizes = [(100, 50), (640, 480), (33, 77), (1, 1), (4000, 3000)]
    rng = np.random.default_rng(3)
    rows = []
    for pid in ["c", "a", "c", "e", "a", "c", "b", "e", "c"]:  # interleaved images
        x, y, w, h = rng.uniform(-5, 500, 4)
        rows.append((pid, str(rng.choice(["car", "tree", "a b"])), x, y, w, h))
    rows.insert(2, ("b", "tree", np.nan, np.nan, np.nan, np.nan))  # a class label: no line
    rows.append(("d", "car", np.nan, np.nan, np.nan, np.nan))
    labels = pd.DataFrame(rows, columns=["id", "label", "x", "y", "w", "h"])
    classes = ["a b", "car", "tree"]
    data, bounds = yolo_texts(ids, sizes, labels, classes)
    got = [data[bounds[k] : bounds[k + 1]] for k in range(len(ids))]
    assert got == _reference(ids, sizes, labels, classes)
    assert got[3] == b"" and got[2].count(b"\n") == 4  # d: a class only; c: four boxes
    assert len(bounds) == len(ids) + 1 and bounds[-1] == len(data)


def test_texts_of_nothing_and_of_a_label_outside_the_classes() -> None:
    empty = pd.DataFrame(columns=["id", "label", "x", "y", "w", "h"], dtype=float)
    data, bounds = yolo_texts(["a", "b"], [(10, 10), (10, 10)], empty, ["car"])
    assert data == b"" and bounds.tolist() == [0, 0, 0]
    one = pd.DataFrame([("a", "bus", 1.0, 1.0, 2.0, 2.0)], columns=empty.columns)
    with pytest.raises(ValueError, match="outside"):
        yolo_texts(["a"], [(10, 10)], one, ["car"])


def test_label_stems_refuse_a_shared_label_file() -> None:
    assert label_stems(["a.png", "sub/a.b.jpg", "c"]) == ["a", "sub/a.b", "c"]
    with pytest.raises(aw.AISearchError, match=r"sub/a\.png and sub/a\.JPG .*sub/a\.txt"):
        label_stems(["b.png", "sub/a.png", "sub/a.JPG"])


@pytest.fixture
def boxed(project_factory, tmp_path: Path) -> aw.Project:
    root = tmp_path / "imgs"
    for i in range(9):
        draw(root / ("sub" if i % 3 else "") / f"img_{i}.png", "red", size=(60, 40), seed=i)
    p = project_factory("yolo", root)
    p.update()
    paths = sorted(p.search("x", limit=20).df["path"])
    df = pd.DataFrame(
        {"path": paths, "label": "car", "x": 1.0, "y": 2.0, "w": 10.0, "h": 8.0},
    )
    assert p.import_labels(df).labels == 9
    return p


def _tree(p: Path) -> dict[str, bytes]:
    return {str(f.relative_to(p)): f.read_bytes() for f in sorted(p.rglob("*")) if f.is_file()}


def test_export_written_from_several_threads_is_whole(boxed, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(_export_yolo, "SLICE", 2)  # five tasks per step, four threads
    out = boxed.search("x", limit=20).export(tmp_path / "y", format="yolo")
    files = _tree(out)
    assert len([f for f in files if f.startswith("images/")]) == 9
    texts = {f: t for f, t in files.items() if f.startswith("labels/")}
    assert len(texts) == 9 and "labels/sub/img_1.txt" in texts
    assert set(texts.values()) == {b"0 0.100000 0.150000 0.166667 0.200000\n"}


@pytest.mark.parametrize("where", ["link", "texts"])
def test_a_failure_midway_leaves_the_earlier_export_and_no_temporary_folder(
    boxed, tmp_path, monkeypatch, where: str
) -> None:
    col = boxed.search("x", limit=20)
    target = col.export(tmp_path / "y", format="yolo")
    before = _tree(target)
    monkeypatch.setattr(_export_yolo, "SLICE", 2)
    real, calls = _export_yolo.link_or_copy, []

    def link(src: str, dst: str) -> None:
        calls.append(dst)
        if where == "link" and len(calls) == 5:
            raise OSError(errno.ENOSPC, "No space left on device", dst)
        real(src, dst)

    def texts(*args):
        deadline = time.monotonic() + 10
        while len(calls) < 9 and time.monotonic() < deadline:
            time.sleep(0.01)  # the links go on meanwhile: the texts fail after them
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_export_yolo, "link_or_copy", link)
    if where == "texts":
        monkeypatch.setattr(_export_labels, "yolo_texts", texts)
    with pytest.raises(aw.AISearchError, match="No space left on device"):
        col.export(target, format="yolo", overwrite=True)
    assert _tree(target) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".y")]
    # and with no earlier export: nothing at all
    calls.clear()
    with pytest.raises(aw.AISearchError, match="No space left on device"):
        col.export(tmp_path / "z", format="yolo")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".z", "z"))]


def test_import_gives_boxes_in_pixels_of_the_projects_image(boxed, tmp_path, monkeypatch) -> None:
    """YOLO boxes are fractions of the image: a training copy resized to half (as
    training sets often are) still gives the boxes in pixels of the project's image,
    whose size the catalog holds: no image header is read for it."""
    from PIL import Image

    out = boxed.search("x", limit=20).export(tmp_path / "y", format="yolo")
    for f in (out / "images").rglob("*.png"):
        small = Image.open(f).resize((30, 20))
        f.unlink()  # a hard link of the project's image: replace, never write through
        small.save(f)
    reads: list[str] = []
    real = _export_labels.header_size
    monkeypatch.setattr(_export_labels, "header_size", lambda p: reads.append(p) or real(p))
    rep = boxed.import_labels(out, set="back")
    assert rep.labels == 9 and rep.unmatched.empty
    back = boxed.labels("back")
    assert np.allclose(back[["x", "y", "w", "h"]].to_numpy(), [1.0, 2.0, 10.0, 8.0], atol=1e-3)
    assert reads == []


def test_import_reports_a_box_whose_image_size_cannot_be_read(boxed, tmp_path) -> None:
    """An image the catalog holds no size for and whose file is gone: its boxes cannot
    be placed in pixels; they are reported, the image keeps its labels, the rest come in."""
    out = boxed.search("x", limit=20).export(tmp_path / "y", format="yolo")
    back = boxed.import_labels(out, set="back")
    victim = boxed.labels("back").sort_values("id")["id"].iloc[0]
    path = boxed.catalog.records([victim])[victim].path
    with boxed.catalog.transaction() as db:
        db.execute("DELETE FROM metadata WHERE id = ?", (victim,))
    Path(path).unlink()
    rep = boxed.import_labels(out, set="back")
    assert rep.labels == 8 and rep.images == 8
    assert rep.unmatched["name"].tolist() == [path]
    assert "cannot read the image's size" in rep.unmatched["reason"].iloc[0]
    kept = boxed.labels("back")
    assert len(kept) == 9 and back.labels == 9  # the victim keeps its earlier box
