"""Labels in the panel: a page's labels ride with its items (one catalog query for the
page, not one per card), the label filter narrows the gallery and the header says it,
the preview's details carry the boxes in pixels of the original image, and "Export
as" writes the dataset formats without replacing anything."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets._errors import AISearchError

from _helpers import make_folder


@pytest.fixture
def panel(project_factory, tmp_path: Path):
    root = tmp_path / "imgs"
    make_folder(root, 12, sub=False)
    proj = project_factory("p", root)
    proj.update()
    panel = aw.SearchPanel(proj, page_size=6, poll_interval=0, allowed_dirs=[tmp_path])
    yield panel
    panel.close()


def _label(proj, n_cars: int = 3) -> list[str]:
    ids = sorted(proj.search("red", limit=12).ids)
    rows = [
        {"id": i, "label": "car", "x": 2.0, "y": 3.0, "w": 10.0, "h": 6.0} for i in ids[:n_cars]
    ]
    rows.append({"id": ids[-1], "label": "<b>truck</b>"})
    proj.import_labels(pd.DataFrame(rows), set="ground_truth")
    return ids


def test_cards_carry_labels_read_in_one_query_per_page(panel) -> None:
    ids = _label(panel.project)
    catalog = panel.project.catalog
    calls: list[int] = []
    real = catalog.labels_frame

    def counting(set_=None, ids=None):
        calls.append(len(ids or []))
        return real(set_, ids)

    catalog.labels_frame = counting
    panel.search("red", limit=12)
    items = {it["id"]: it["labels"] for it in panel.gallery.items}
    assert len(items) == 6
    for i, labels in items.items():
        want = ["car"] if i in ids[:3] else ["<b>truck</b>"] if i == ids[-1] else []
        assert labels == want
    # One query for the page (6 ids) and one for the filter's counts (12 ids).
    assert sorted(calls) == [6, 12]
    assert {d["label"]: d["n"] for d in panel.gallery.labels} == {"car": 3, "<b>truck</b>": 1}
    assert panel.gallery.label_sets == ["ground_truth"]


def test_the_label_filter_and_the_boxes_of_the_preview(panel) -> None:
    ids = _label(panel.project)
    panel.search("red", limit=12)
    panel.gallery.label_filter = "car"
    assert sorted(panel.collection.ids) == ids[:3]
    assert panel.header == "Prompt 'red' · 3 of 12 · labelled 'car'"
    details = panel._details(ids[0]).fields["details"]
    assert details["labels"] == ["car"]
    assert details["boxes"] == [
        {"label": "car", "x": 2.0, "y": 3.0, "w": 10.0, "h": 6.0, "confidence": None}
    ]
    panel.gallery.label_filter = ""
    assert len(panel.collection) == 12


def test_export_as_writes_each_format_and_never_replaces(panel, tmp_path: Path) -> None:
    _label(panel.project)
    panel.search("red", limit=12)
    with pytest.raises(AISearchError, match="does not exist"):
        panel._export_as(str(tmp_path / "out" / "c.json"), "coco", 12)
    (tmp_path / "out").mkdir()
    panel._export_as(str(tmp_path / "out" / "c.json"), "coco", 12)
    coco = json.loads((tmp_path / "out" / "c.json").read_text())
    assert len(coco["images"]) == 12 and len(coco["annotations"]) == 4
    panel._export_as(str(tmp_path / "m"), "csv", 12)
    assert (tmp_path / "m.csv").exists()
    panel._export_as(str(tmp_path / "y"), "yolo", 12)
    assert (tmp_path / "y" / "data.yaml").exists()
    before = (tmp_path / "out" / "c.json").read_bytes()
    with pytest.raises(AISearchError, match="must not replace"):
        panel._export_as(str(tmp_path / "out" / "c.json"), "coco", 12)
    assert (tmp_path / "out" / "c.json").read_bytes() == before
    with pytest.raises(AISearchError, match="Export as: one of"):
        panel._export_as(str(tmp_path / "z"), "pickle", 12)
