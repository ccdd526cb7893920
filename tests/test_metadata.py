"""Metadata in the catalog: read during indexing from the bytes the sync decoded
(size, format, EXIF capture time, camera, lens, GPS, orientation, quality signals),
one DataFrame for all embedded images and frames, and a catalog of the previous
schema filled by the next sync without embedding again."""

from __future__ import annotations

import io
import sqlite3
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import aisearch_widgets as aw
from aisearch_widgets import catalog as catalog_mod
from aisearch_widgets.embedder import Embedder

from _helpers import make_folder


def exif_jpeg(path: Path, size=(80, 60), seed: int = 0) -> Path:
    """A photo-like JPEG with camera EXIF, a capture time and GPS (west of Greenwich),
    stored rotated (orientation 6: shown 60 wide, 80 high)."""
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    ex = Image.Exif()
    ex[0x010F], ex[0x0110], ex[0x0112] = "NIKON CORPORATION", "NIKON D750", 6
    sub = ex.get_ifd(0x8769)
    sub[0x9003], sub[0xA434] = "2021:07:04 15:30:00", "50mm f/1.8"
    gps = ex.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.6), "W", (2.0, 17.0, 40.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", exif=ex)
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    make_folder(root, 4)
    exif_jpeg(root / "trip" / "day 1" / "IMG_0001.JPG")
    Image.new("RGB", (40, 30), (10, 200, 30)).save(root / "flat.png")
    return root


def test_metadata_of_a_photo_with_exif(project_factory, photos: Path) -> None:
    proj = project_factory("m", photos)
    proj.update()
    md = proj.metadata
    assert tuple(md.columns) == catalog_mod.METADATA_COLUMNS
    assert md.index.name == "id" and len(md) == proj.status.done == 6
    photo = photos / "trip" / "day 1" / "IMG_0001.JPG"
    row = md[md["path"] == str(photo)].iloc[0]
    assert (row["folder"], row["name"], row["ext"]) == ("trip/day 1/", "IMG_0001.JPG", ".jpg")
    assert row["size"] == photo.stat().st_size
    assert row["mtime"] == pd.Timestamp(photo.stat().st_mtime_ns, unit="ns", tz="UTC")
    assert (row["width"], row["height"], row["orientation"]) == (60, 80, 6)
    assert row["format"] == "JPEG"
    assert row["taken_at"] == pd.Timestamp("2021-07-04 15:30:00")
    assert (row["make"], row["camera"], row["lens"]) == (
        "NIKON CORPORATION",
        "NIKON D750",
        "50mm f/1.8",
    )
    assert row["gps_lat"] == pytest.approx(48 + 51 / 60 + 29.6 / 3600)
    assert row["gps_lon"] == pytest.approx(-(2 + 17 / 60 + 40.2 / 3600))
    assert row["video"] is None and np.isnan(row["t"])
    assert row["blur"] > 100 and row["entropy"] > 7  # noise: sharp and busy

    flat = md[md["name"] == "flat.png"].iloc[0]
    assert (flat["folder"], flat["ext"], flat["format"]) == ("", ".png", "PNG")
    assert (flat["width"], flat["height"]) == (40, 30)
    assert pd.isna(flat["taken_at"]) and pd.isna(flat["camera"]) and np.isnan(flat["gps_lat"])
    assert flat["blur"] == 0 and flat["entropy"] == 0 and flat["colorfulness"] > 0


def test_columns_are_selected_and_an_unknown_one_is_named(project_factory, photos: Path) -> None:
    proj = project_factory("m", photos)
    proj.update()
    got = proj.catalog.metadata_frame(["camera", "blur"])
    assert list(got.columns) == ["camera", "blur"] and len(got) == 6
    with pytest.raises(aw.AISearchError, match=r"'iso'.*path, folder, name"):
        proj.catalog.metadata_frame(["camera", "iso"])
    res = proj.search("a red square", limit=3)
    df = res.df_with("camera", "width")
    assert list(df.columns[-2:]) == ["camera", "width"] and len(df) == 3
    assert df["width"].notna().all()


def test_a_previous_schema_is_migrated_and_filled_without_embedding(
    project_factory, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("old", photos)
    proj.update()
    ids = sorted(proj.metadata.index)
    want = proj.metadata
    vectors = proj.store.retrieve(ids)
    path = proj.catalog.path
    proj.close()
    # What the previous version wrote: schema 3, no metadata table.
    db = sqlite3.connect(path)
    db.execute("DROP TABLE metadata")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()

    def no_model(*a, **k):
        raise AssertionError("the embedder was called")

    monkeypatch.setattr(Embedder, "encode_batch", no_model)
    proj = project_factory("old")
    assert proj.catalog.query("PRAGMA user_version")[0][0] == catalog_mod.SCHEMA_VERSION >= 4
    assert proj.metadata["width"].isna().all()  # migrated: rows wait for the next sync
    summary = proj.update()
    assert summary.embedded == 0
    got = proj.metadata
    pd.testing.assert_frame_equal(got.loc[ids], want.loc[ids])
    again = proj.store.retrieve(ids)
    assert all(again[i].tobytes() == vectors[i].tobytes() for i in ids)


def test_a_copy_borrows_its_lenders_metadata(project_factory, photos: Path) -> None:
    proj = project_factory("m", photos)
    proj.update()
    src = photos / "trip" / "day 1" / "IMG_0001.JPG"
    dst = photos / "copy.jpg"
    dst.write_bytes(src.read_bytes())
    s = proj.update()
    assert s.reused == 1 and s.embedded == 0
    md = proj.metadata.set_index("path")
    cols = ["width", "height", "camera", "gps_lat", "blur", "entropy"]
    assert md.loc[str(dst), cols].tolist() == md.loc[str(src), cols].tolist()


def test_frames_have_their_video_and_time(project_factory, tmp_path: Path) -> None:
    pytest.importorskip("av")
    from test_video import write_video

    root = tmp_path / "clips"
    root.mkdir()
    write_video(root / "line.mp4", seconds=3)
    proj = project_factory("v", root)
    proj.update()
    md = proj.metadata.sort_values("t")
    assert len(md) == 3 and list(md["t"]) == [0.0, 1.0, 2.0]
    assert set(md["video"]) == {str(root / "line.mp4")}
    assert (md["ext"] == ".mp4").all() and (md["folder"] == "").all()
    assert (md["width"] > 0).all() and md["blur"].notna().all()
    assert (md["size"] == (root / "line.mp4").stat().st_size).all()
    every_column_alone_is_the_full_frames(proj.catalog)


def every_column_alone_is_the_full_frames(catalog) -> None:
    """A selection reads only what its columns are made of, and gives the values the
    full frame gives, whatever the selection."""
    from aisearch_widgets._catalog_tables import METADATA_COLUMNS

    full = catalog.metadata_frame()
    for c in METADATA_COLUMNS:
        pd.testing.assert_frame_equal(catalog.metadata_frame([c]), full[[c]])
    pd.testing.assert_frame_equal(
        catalog.metadata_frame(["size", "mtime"]), full[["size", "mtime"]]
    )
    assert catalog.metadata_frame([]).index.equals(full.index)


def test_a_selection_of_columns_equals_the_full_frames(project_factory, photos: Path) -> None:
    proj = project_factory("m", photos)
    proj.update()
    every_column_alone_is_the_full_frames(proj.catalog)


def test_metadata_of_100k_rows_in_one_frame(tmp_path: Path) -> None:
    cat = catalog_mod.Catalog(str(tmp_path / "c.sqlite"))
    now = time.time()
    n = 100_000
    with cat.transaction() as db:
        db.executemany(
            "INSERT INTO files(key, id, path, source, size, mtime_ns, content, status, model,"
            " updated_at) VALUES (?, ?, ?, 'src', 1000, ?, 'c', 'embedded', 'm', ?)",
            [
                (f"src/d{i % 50}/f{i}.jpg", f"id{i}", f"/r/d{i % 50}/f{i}.jpg", i, now)
                for i in range(n)
            ],
        )
        cat.write_metadata(
            db,
            [
                (f"id{i}", 640, 480, "JPEG", "2020-01-01T00:00:00", "M", "C", None, 1.0, 2.0, 1,
                 5.0, 0.5, 0.2, 10.0, 7.0)
                for i in range(n)
            ],
        )  # fmt: skip
    md = cat.metadata_frame()
    assert len(md) == n and md.loc["id7", "folder"] == "d7/" and md.loc["id7", "name"] == "f7.jpg"
    assert (md["width"] == 640).all() and md["taken_at"].notna().all()
    cat.close()


def test_the_prepare_step_parses_a_header_once_and_resizes_once(
    tmp_path: Path, monkeypatch
) -> None:
    """Metadata come from what decoding read (no second parse of the bytes), and the
    quality signals are measured on the thumbnail's pixels: with metadata the decoded
    image is resized once, as without, and the thumbnail is the same to the byte; the
    values are those of the separate reads."""
    from PIL import Image as PILImage

    from aisearch_widgets import _prepare, images

    photo = exif_jpeg(tmp_path / "big.jpg", size=(1200, 900))
    data = photo.read_bytes()
    opens, resizes = [], []
    real_open, real_resize = PILImage.open, PILImage.Image.resize
    monkeypatch.setattr(PILImage, "open", lambda *a, **k: opens.append(1) or real_open(*a, **k))
    monkeypatch.setattr(
        PILImage.Image,
        "resize",
        lambda im, *a, **k: resizes.append(im.size) or real_resize(im, *a, **k),
    )

    def prep(metadata: bool) -> _prepare.Prep:
        opens.clear(), resizes.clear()
        return _prepare.prepare_file(
            str(photo), min_side=224, preprocess=lambda im: None, max_bytes=1 << 30,
            thumbs=True, metadata=metadata,
        )  # fmt: skip

    plain = prep(False)
    assert len(opens) == 1 and len(resizes) == 1  # decode; the thumbnail
    got = prep(True)
    assert len(opens) == 1 and len(resizes) == 1  # the same: signals read the thumbnail
    monkeypatch.undo()
    img = images.decode(data, str(photo), 224)
    assert got.meta == _prepare.file_metadata(data, img)  # the header parsed again: same
    assert (got.meta["width"], got.meta["height"], got.meta["camera"]) == (900, 1200, "NIKON D750")
    assert got.thumb == plain.thumb
    assert max(PILImage.open(io.BytesIO(got.thumb)).size) == 192


def test_a_frame_keeps_its_pixels_when_borrowing_and_a_misspelt_option_is_refused() -> None:
    """Frames and files share the reuse rule and the thumbnail/metadata step: a frame
    borrowing another id's vector keeps its pixels and gets a thumbnail, one keeping
    its own vector gets none; its signals are those of the decoded frame."""
    from aisearch_widgets import _prepare
    from aisearch_widgets.quality import SIGNALS, image_signals
    from aisearch_widgets.video import pixel_hash

    rng = np.random.default_rng(3)
    frame = Image.fromarray(rng.integers(0, 256, (360, 480, 3), dtype=np.uint8))
    content = pixel_hash(frame)

    def prep(**opts):
        return _prepare.prepare_frame(frame, preprocess=lambda im: im.size, **opts)

    lent = prep(pid="v#1", lend={content: "other"}.get, thumbs=True, metadata=True)
    assert lent.reuse == "other" and lent.pixels == (480, 360) and lent.thumb
    assert {k: lent.meta[k] for k in SIGNALS} == image_signals(frame)
    assert (lent.meta["width"], lent.meta["height"]) == (480, 360)
    own = prep(pid="v#1", prev=content, lend={content: "other"}.get, thumbs=True)
    assert own.reuse == "v#1" and own.thumb is None and own.meta is None
    fresh = prep(pid="v#2", prev="stale", thumbs=False)
    assert fresh.reuse is None and fresh.thumb is None and fresh.pixels == (480, 360)
    with pytest.raises(TypeError, match="thumb"):
        prep(thumb=True)
    with pytest.raises(TypeError, match="metdata"):
        _prepare.prepare_file("x.jpg", min_side=224, preprocess=len, max_bytes=1, metdata=True)
