"""Label exports read back by the libraries people use (pycocotools, labelformat,
Hugging Face datasets), and each round trip export → import giving back the same
labels and boxes (to 0.5 px); imports match renamed files by content and report what
matched nothing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw

from _helpers import draw

SIZES = [(120, 80), (64, 96), (100, 100), (90, 70)]


@pytest.fixture
def proj(project_factory, tmp_path: Path) -> aw.Project:
    root = tmp_path / "imgs"
    for i, (c, size) in enumerate(zip(["red", "green", "blue", "red"], SIZES, strict=True)):
        draw(root / ("sub" if i == 3 else "") / f"{c}_{i}.png", c, size=size, seed=i)
    p = project_factory("fmt", root)
    p.update()
    paths = {Path(x).name: x for x in p.search("x", limit=10).df["path"]}
    df = pd.DataFrame(
        [
            (paths["red_0.png"], "car", 10.25, 5.5, 40.0, 30.75, np.nan),
            (paths["red_0.png"], "person", 70.0, 10.0, 20.5, 60.0, np.nan),
            (paths["green_1.png"], "tree", 3.0, 4.0, 50.0, 80.0, np.nan),
            (paths["red_3.png"], "car", 0.0, 0.0, 90.0, 70.0, np.nan),
        ],
        columns=["path", "label", "x", "y", "w", "h", "confidence"],
    )
    assert p.import_labels(df).labels == 4
    preds = df.assign(confidence=[0.9, 0.4, 0.75, 0.6], x=df["x"] + 1)
    assert p.import_labels(preds, set="model-v3").labels == 4
    return p


def _boxes(df: pd.DataFrame) -> list[tuple]:
    """Labels as comparable rows: (file name, label, x, y, w, h) rounded to 0.5 px."""
    return sorted(
        (Path(r.path).name, r.label, *(round(2 * v) / 2 for v in (r.x, r.y, r.w, r.h)))
        for r in df.itertuples()
    )


def _reimport(proj: aw.Project, source, fmt=None, **kw) -> pd.DataFrame:
    rep = proj.import_labels(source, set="back", format=fmt, **kw)
    assert rep.unmatched.empty, rep.unmatched
    return proj.labels("back")


def _close(a: list[tuple], b: list[tuple]) -> None:
    assert [r[:2] for r in a] == [r[:2] for r in b]
    assert np.allclose([r[2:] for r in a], [r[2:] for r in b], atol=0.5)


def test_coco_read_by_pycocotools_and_round_trip(proj: aw.Project, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    out = proj.search("x", limit=10).export(tmp_path / "coco.json", format="coco")
    coco = COCO(str(out))
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"car", "person", "tree"}
    assert len(coco.getImgIds()) == 4
    (car,) = coco.getCatIds(catNms=["car"])
    imgs = coco.loadImgs(coco.getImgIds(catIds=[car]))
    assert sorted((i["width"], i["height"]) for i in imgs) == sorted([SIZES[0], SIZES[3]])
    anns = coco.loadAnns(coco.getAnnIds(catIds=[car]))
    assert sorted(a["bbox"] for a in anns)[1] == [10.25, 5.5, 40.0, 30.75]
    _close(_boxes(_reimport(proj, out)), _boxes(proj.labels("ground_truth")))
    with pytest.raises(aw.AISearchError, match="exists"):
        proj.search("x", limit=10).export(out, format="coco")


def test_coco_predictions_carry_scores(proj: aw.Project, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    out = proj.search("x", limit=10).export(tmp_path / "p.json", format="coco", set="model-v3")
    coco = COCO(str(out))
    assert sorted(a["score"] for a in coco.dataset["annotations"]) == [0.4, 0.6, 0.75, 0.9]
    back = _reimport(proj, out)
    assert sorted(back["confidence"]) == [0.4, 0.6, 0.75, 0.9]
    _close(_boxes(back), _boxes(proj.labels("model-v3")))


def test_yolo_read_by_labelformat_and_round_trip(proj: aw.Project, tmp_path: Path) -> None:
    from labelformat.formats import YOLOv8ObjectDetectionInput

    out = proj.search("x", limit=10).export(tmp_path / "yolo", format="yolo")
    assert (out / "data.yaml").is_file() and (out / "labels" / "red_0.txt").is_file()
    got = YOLOv8ObjectDetectionInput(out / "data.yaml", "train")
    read = sorted(
        (Path(lab.image.filename).name, o.category.name, *(round(2 * v) / 2 for v in
         (o.box.xmin, o.box.ymin, o.box.xmax - o.box.xmin, o.box.ymax - o.box.ymin)))
        for lab in got.get_labels()
        for o in lab.objects
    )  # fmt: skip
    want = _boxes(proj.labels("ground_truth"))
    _close(read, want)
    _close(_boxes(_reimport(proj, out)), want)


def test_yolo_classification_is_folders(proj: aw.Project, tmp_path: Path) -> None:
    res = proj.search("x", limit=10)
    res.tag("shape")
    out = res.export(tmp_path / "cls", format="yolo", tags=True)
    assert (
        sorted(p.relative_to(out / "train").parts[0] for p in (out / "train").rglob("*.png"))
        == ["shape"] * 4
    )
    back = _reimport(proj, out)
    assert sorted(back["label"]) == ["shape"] * 4 and back["x"].isna().all()


def test_cvat_read_by_labelformat_and_round_trip(proj: aw.Project, tmp_path: Path) -> None:
    from labelformat.formats import CVATObjectDetectionInput

    out = proj.search("x", limit=10).export(tmp_path / "cvat.zip", format="cvat", copy=True)
    with zipfile.ZipFile(out) as z:
        assert "images/red_0.png" in z.namelist() and "images/sub/red_3.png" in z.namelist()
        xml = tmp_path / "annotations.xml"
        xml.write_bytes(z.read("annotations.xml"))
    got = CVATObjectDetectionInput(xml)
    read = sorted(
        (Path(lab.image.filename).name, o.category.name, *(round(2 * v) / 2 for v in
         (o.box.xmin, o.box.ymin, o.box.xmax - o.box.xmin, o.box.ymax - o.box.ymin)))
        for lab in got.get_labels()
        for o in lab.objects
    )  # fmt: skip
    want = _boxes(proj.labels("ground_truth"))
    _close(read, want)
    _close(_boxes(_reimport(proj, out)), want)


def test_labelstudio_tasks_and_round_trip(proj: aw.Project, tmp_path: Path) -> None:
    root = Path(proj.search("x", limit=10).df["path"].iloc[0]).parent.parent
    res = proj.search("x", limit=10)
    out = res.export(tmp_path / "ls.json", format="labelstudio", set="model-v3", root=root)
    tasks = json.loads(out.read_text())
    urls = sorted(t["data"]["image"] for t in tasks)
    assert "/data/local-files/?d=imgs/sub/red_3.png" in urls
    one = next(t for t in tasks if t["data"]["image"].endswith("red_0.png"))
    (pred,) = one["predictions"]
    assert pred["model_version"] == "model-v3"
    box = next(r for r in pred["result"] if r["value"]["rectanglelabels"] == ["car"])
    assert box["value"]["x"] == pytest.approx(100 * 11.25 / 120) and box["score"] == 0.9
    back = _reimport(proj, out, root=root)
    _close(_boxes(back), _boxes(proj.labels("model-v3")))
    # A Label Studio export: annotations win over predictions; percent boxes without
    # original sizes use the image's own size; classification choices.
    tasks[0]["annotations"] = [
        {
            "completed_by": {"email": "a@b.c"},
            "result": [
                {"type": "choices", "value": {"choices": ["night"]}},
                {"type": "rectanglelabels", "value": {"x": 50, "y": 50, "width": 25,
                 "height": 10, "rectanglelabels": ["sign"]}},
            ],
        }
    ]  # fmt: skip
    exp = tmp_path / "ls-export.json"
    exp.write_text(json.dumps(tasks))
    back = _reimport(proj, exp, root=root)
    name = tasks[0]["data"]["image"].split("=", 1)[1]
    w, h = SIZES[int(Path(name).stem.split("_")[1])]
    mine = back[back["path"].str.endswith(name)]
    assert sorted(mine["label"]) == ["night", "sign"] and set(mine["author"]) == {"a@b.c"}
    sign = mine[mine["label"] == "sign"].iloc[0]
    assert (sign.x, sign.y, sign.w, sign.h) == pytest.approx((w / 2, h / 2, w / 4, h / 10))


def test_imagefolder_loads_with_datasets(proj: aw.Project, tmp_path: Path) -> None:
    import datasets

    res = proj.search("x", limit=10)
    res.tag("shape")
    out = res.export(tmp_path / "hf", format="imagefolder", copy=True, tags=True)
    ds = datasets.load_dataset("imagefolder", data_dir=str(out), split="train")
    assert len(ds) == 4 and set(ds["label"]) == {"shape"} and set(ds["tags"]) == {"shape"}
    assert sorted(im.size for im in ds["image"]) == sorted(SIZES)
    boxes = res.export(tmp_path / "hf-boxes", format="imagefolder", copy=True)
    ds = datasets.load_dataset("imagefolder", data_dir=str(boxes), split="train")
    cats = sorted(c for o in ds["objects"] for c in o["categories"])
    assert cats == ["car", "car", "person", "tree"]


def test_imagefolder_in_place_and_fiftyone(proj: aw.Project, tmp_path: Path) -> None:
    res = proj.search("x", limit=10)
    root = Path(res.df["path"].iloc[0]).parent
    if root.name == "sub":
        root = root.parent
    meta = res.export(root, format="imagefolder")
    assert meta == root / "metadata.jsonl"
    rows = [json.loads(x) for x in meta.read_text().splitlines()]
    assert sorted(r["file_name"] for r in rows)[-1] == "sub/red_3.png"
    with pytest.raises(aw.AISearchError, match="exists"):
        res.export(root, format="imagefolder")
    fo = res.export(tmp_path / "fo", format="fiftyone", set="model-v3")
    doc = json.loads((fo / "labels.json").read_text())
    assert doc["classes"] == ["car", "person", "tree"]
    assert len(list((fo / "data").iterdir())) == 4
    dets = [d for ds in doc["labels"].values() for d in ds]
    assert sorted(d["confidence"] for d in dets) == [0.4, 0.6, 0.75, 0.9]
    assert all(0 <= v <= 1 for d in dets for v in d["bounding_box"])
    with pytest.raises(aw.AISearchError, match="exists"):
        res.export(fo, format="fiftyone")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(aw.AISearchError, match="not a fiftyone export"):
        res.export(tmp_path / "other", format="fiftyone", overwrite=True)
    assert (tmp_path / "other" / "keep.txt").read_text() == "x"
    again = res.export(fo, format="fiftyone", overwrite=True)  # an export of its own: replaced
    assert len(list((again / "data").iterdir())) == 4


def test_import_matches_renamed_copies_by_content_and_reports_the_rest(
    proj: aw.Project, tmp_path: Path
) -> None:
    out = proj.search("x", limit=10).export(tmp_path / "y", format="yolo")
    # The images beside the labels get new names: matched by their bytes.
    for img in (out / "images").rglob("*.png"):
        img.rename(img.with_name("renamed_" + img.name))
        txt = (out / "labels" / img.relative_to(out / "images")).with_suffix(".txt")
        txt.rename(txt.with_name("renamed_" + txt.name))
    stranger = draw(out / "images" / "stranger.png", "yellow", size=(50, 50), seed=99)
    (out / "labels" / "stranger.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    rep = proj.import_labels(out, set="back")
    assert rep.by_content == 4 and rep.images == 4
    assert rep.unmatched[["name", "label"]].values.tolist() == [[stranger.name, "car"]]
    _close(_boxes(proj.labels("back")), _boxes(proj.labels("ground_truth")))
    df = pd.DataFrame({"id": ["nope"], "label": ["x"]})
    assert proj.import_labels(df, set="back").unmatched["reason"].str.contains("id").all()


def test_export_refuses_paths_outside_root_and_unknown_sets(proj: aw.Project, tmp_path: Path):
    res = proj.search("x", limit=10)
    with pytest.raises(aw.AISearchError, match="not under root"):
        res.export(tmp_path / "c.json", format="coco", root=tmp_path / "elsewhere")
    with pytest.raises(aw.AISearchError, match="no label set 'v9'"):
        res.export(tmp_path / "c.json", format="coco", set="v9")
    with pytest.raises(aw.AISearchError, match="format must be one of"):
        res.export(tmp_path / "c.json", format="voc")
    assert not list(tmp_path.glob("c.json*")) and not list(tmp_path.glob(".c.json*"))


def test_coco_classification_from_tags(proj: aw.Project, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    res = proj.search("x", limit=10)
    res.head(3).tag("day")
    res.tag("outdoor")
    out = res.export(tmp_path / "tags.json", format="coco", tags=True)
    coco = COCO(str(out))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["day", "outdoor"]
    assert all("bbox" not in a for a in coco.dataset["annotations"])
    assert len(coco.getImgIds(catIds=coco.getCatIds(catNms=["day"]))) == 3
    back = _reimport(proj, out)
    assert sorted(back["label"]) == ["day"] * 3 + ["outdoor"] * 4 and back["x"].isna().all()
    assert len(proj.labelled("day", set="back")) == 3


@pytest.mark.parametrize(
    "fmt,kw",
    [
        ("PNG", {}),
        ("JPEG", {}),
        ("JPEG", {"progressive": True}),
        ("JPEG", {"exif": b"Exif\x00\x00" + b"\x00" * 2000}),
        ("GIF", {}),
        ("BMP", {}),
        ("WEBP", {}),
    ],
)
def test_header_size_is_what_pillow_reads(tmp_path: Path, fmt: str, kw: dict) -> None:
    from PIL import Image

    from aisearch_widgets._export_labels import header_size

    p = tmp_path / f"a.{fmt.lower()}"
    Image.new("RGB", (317, 211), (10, 20, 30)).save(p, format=fmt, **kw)
    with Image.open(p) as im:
        assert header_size(str(p)) == im.size == (317, 211)


def test_yolo_refuses_two_images_that_would_share_a_label_file(
    project_factory, tmp_path: Path
) -> None:
    # a.png and a.jpg both map to labels/a.txt: one image would carry the other's boxes.
    root = tmp_path / "imgs"
    draw(root / "a.png", "red", size=(60, 40), seed=1)
    draw(root / "a.jpg", "blue", size=(80, 50), seed=2)
    draw(root / "b.png", "green", size=(70, 30), seed=3)
    p = project_factory("stems", root)
    p.update()
    paths = sorted(p.search("x", limit=10).df["path"])
    df = pd.DataFrame({"path": paths, "label": "car", "x": 1.0, "y": 2.0, "w": 10.0, "h": 8.0})
    assert p.import_labels(df).labels == 3
    with pytest.raises(aw.AISearchError, match=r"a\.(png|jpg) and a\.(png|jpg) .*a\.txt"):
        p.search("x", limit=10).export(tmp_path / "y", format="yolo")
    assert not (tmp_path / "y").exists() and not list(tmp_path.glob(".y.*"))


def test_export_takes_image_sizes_from_the_catalog(
    project_factory, tmp_path: Path, monkeypatch
) -> None:
    from PIL import Image

    from aisearch_widgets import _export_labels

    root = tmp_path / "imgs"
    draw(root / "a.png", "red", size=(60, 40), seed=1)
    # Stored 80 x 50, shown 50 x 80 (EXIF orientation 6): the catalog holds the size as
    # shown, the boxes and the export the stored one.
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (80, 50), (0, 0, 200)).save(root / "b.jpg", exif=exif)
    p = project_factory("sizes", root)
    p.update()
    meta = p.metadata.set_index("name")
    assert (meta.at["b.jpg", "width"], meta.at["b.jpg", "height"]) == (50, 80)
    paths = sorted(p.search("x", limit=10).df["path"])
    df = pd.DataFrame({"path": paths, "label": "car", "x": 1.0, "y": 2.0, "w": 10.0, "h": 8.0})
    assert p.import_labels(df).labels == 2
    read, real = [], _export_labels.header_size
    monkeypatch.setattr(
        _export_labels, "header_size", lambda path: read.append(Path(path).name) or real(path)
    )
    want = {"a.png": (60, 40), "b.jpg": (80, 50)}

    def sizes(name: str) -> dict[str, tuple[int, int]]:
        doc = json.loads(p.search("x", limit=10).export(tmp_path / name, format="coco").read_text())
        return {Path(i["file_name"]).name: (i["width"], i["height"]) for i in doc["images"]}

    assert sizes("c.json") == want and read == []  # no file opened for its size
    with p.catalog.transaction() as db:  # a catalog that lacks one image's size
        db.execute("DELETE FROM metadata WHERE id IN (SELECT id FROM files WHERE path = ?)",
                   (paths[1],))  # fmt: skip
    assert sizes("d.json") == want and read == ["b.jpg"]
