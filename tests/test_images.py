from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aisearch_widgets import images
from aisearch_widgets.images import DecodeFailure, decode, load, read_bytes, thumbnail_jpeg


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


def _kind(data: bytes, name: str = "x.jpg") -> str:
    with pytest.raises(DecodeFailure) as ei:
        decode(data, name)
    return ei.value.kind


def test_truncated_jpeg_is_classified() -> None:
    data = _jpeg(Image.new("RGB", (300, 300), (200, 10, 10)))
    assert _kind(data[: len(data) // 2]) == "truncated"


def test_not_an_image_with_image_extension() -> None:
    assert _kind(b"hello, I am text", "notes.png") == "not_an_image"


def test_zero_bytes_and_missing_and_directory(tmp_path: Path) -> None:
    empty = tmp_path / "e.jpg"
    empty.write_bytes(b"")
    for path, kind in [
        (empty, "empty"),
        (tmp_path / "gone.jpg", "missing"),
        (tmp_path, "not_a_file"),
    ]:
        with pytest.raises(DecodeFailure) as ei:
            read_bytes(path)
        assert ei.value.kind == kind
        assert str(path) in ei.value.message


def test_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_PIXELS", 100 * 100)
    buf = io.BytesIO()
    Image.new("L", (200, 200)).save(buf, format="PNG")
    with pytest.raises(DecodeFailure) as ei:
        decode(buf.getvalue(), "big.png")
    assert ei.value.kind == "too_large"
    assert "200x200" in ei.value.message


def test_exif_orientation_is_applied() -> None:
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    out = decode(_jpeg(img, exif=exif), "rot.jpg")
    assert out.size == (20, 40)


def test_palette_with_transparency_gets_white_background() -> None:
    img = Image.new("P", (10, 10), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.info["transparency"] = 0
    buf = io.BytesIO()
    img.save(buf, format="PNG", transparency=0)
    out = decode(buf.getvalue(), "p.png")
    assert out.mode == "RGB"
    assert out.getpixel((5, 5)) == (255, 255, 255)


def test_rgba_alpha_composited_not_black() -> None:
    img = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    assert decode(buf.getvalue(), "a.png").getpixel((0, 0)) == (255, 255, 255)


def test_cmyk_jpeg_converts_to_rgb() -> None:
    img = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red in CMYK
    out = decode(_jpeg(img), "cmyk.jpg")
    r, g, b = out.getpixel((8, 8))
    assert out.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_16bit_png_is_stretched() -> None:
    arr = np.zeros((8, 8), dtype=np.uint16)
    arr[:, 4:] = 4095  # 12-bit data in a 16-bit container
    img = Image.fromarray(arr)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    out = decode(buf.getvalue(), "deep.png")
    assert out.getpixel((6, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (0, 0, 0)


def test_animated_gif_uses_first_frame() -> None:
    frames = [Image.new("RGB", (10, 10), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    r, _g, b = decode(buf.getvalue(), "anim.gif").getpixel((5, 5))
    assert r > 200 and b < 50


def test_large_jpeg_uses_draft_but_keeps_enough_pixels() -> None:
    data = _jpeg(Image.new("RGB", (1920, 1080), (10, 200, 10)))
    out = decode(data, "big.jpg", min_side=224)
    assert 224 <= min(out.size) < 1080
    assert out.size[0] / out.size[1] == pytest.approx(1920 / 1080, rel=0.02)


def test_heic_without_plugin_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "_FORMATS", [f for f in images._FORMATS if f != "HEIF"])
    with pytest.raises(DecodeFailure) as ei:
        decode(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "phone.heic")
    assert ei.value.kind == "unsupported"
    assert "pillow-heif" in ei.value.message


def test_load_returns_content_hash_of_bytes(tmp_path: Path) -> None:
    p = tmp_path / "a.png"
    Image.new("RGB", (5, 5), (1, 2, 3)).save(p)
    img, h = load(p)
    assert img.size == (5, 5)
    assert h == images.content_hash(p.read_bytes())
    (tmp_path / "b.png").write_bytes(p.read_bytes())
    assert load(tmp_path / "b.png")[1] == h


def test_thumbnail_is_small_jpeg() -> None:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8))
    data = thumbnail_jpeg(img, size=192)
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "JPEG" and max(thumb.size) == 192
    assert len(data) < 30_000  # pure noise is the worst case; photos are far smaller


def test_fifo_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.png"
    os.mkfifo(fifo)  # no writer: a blocking open would wait forever
    link = tmp_path / "zero.jpg"
    os.symlink("/dev/zero", link)
    for path in (fifo, link, Path("/dev/zero"), Path("/dev/null")):
        with pytest.raises(DecodeFailure) as ei:
            read_bytes(path)
        assert ei.value.kind == "not_a_file", path
        assert "not a regular file" in ei.value.message


def test_reads_are_capped_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.jpg"
    with open(huge, "wb") as fh:
        fh.truncate(3 * 2**30)  # sparse: nothing is written
    with pytest.raises(DecodeFailure) as ei:
        read_bytes(huge)
    assert ei.value.kind == "too_large" and "3,221,225,472 bytes" in ei.value.message
    small = tmp_path / "small.png"
    Image.new("RGB", (5, 5)).save(small)
    size = small.stat().st_size
    assert read_bytes(small, max_bytes=size) == small.read_bytes()
    with pytest.raises(DecodeFailure, match="above the limit") as ei:
        load(small, max_bytes=size - 1)
    assert ei.value.kind == "too_large"
