"""Robust image decoding for embedding and thumbnails.

Real datasets hold truncated JPEGs, CMYK scans, 16-bit PNGs, palette images with
transparency, animated GIFs, zero-byte files and files that are not images at all.
Each of those becomes a :class:`DecodeFailure` with a ``kind`` a person can act on,
never a crash and never a silently wrong picture.
"""

from __future__ import annotations

import hashlib
import io
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif"}
)
_BASE_FORMATS = ["JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"]

# Pillow raises DecompressionBombError above twice this; we refuse at the same size
# before decoding, without touching the process-global limit.
MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)

FAILURE_KINDS = {
    "missing": "the file disappeared before it could be read",
    "unreadable": "the file could not be read (permissions or I/O error)",
    "empty": "the file is empty (0 bytes)",
    "not_an_image": "the file is not an image Pillow can identify",
    "unsupported": "the image format is not supported",
    "truncated": "the image data is truncated or corrupt",
    "too_large": "the image has more pixels than the decompression-bomb limit",
}


class DecodeFailure(Exception):
    """An image could not be decoded. ``kind`` is one of :data:`FAILURE_KINDS`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _heif_available() -> bool:
    try:
        import pillow_heif  # type: ignore[import-not-found]
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def _formats() -> list[str]:
    # Image.init() registers every plugin; without it, formats= may name a plugin that
    # is not loaded yet and Pillow raises KeyError.
    heif = _heif_available()
    Image.init()
    wanted = _BASE_FORMATS + (["HEIF"] if heif else [])
    return [f for f in wanted if f in Image.OPEN]


_FORMATS = _formats()


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """Read a whole file, turning OS errors into classified failures."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError as exc:
        raise DecodeFailure("missing", f"{path}: {FAILURE_KINDS['missing']}") from exc
    except IsADirectoryError as exc:
        raise DecodeFailure("unreadable", f"{path}: is a directory") from exc
    except OSError as exc:
        raise DecodeFailure("unreadable", f"{path}: {exc.strerror or exc}") from exc
    if not data:
        raise DecodeFailure("empty", f"{path}: {FAILURE_KINDS['empty']}")
    return data


def content_hash(data: bytes) -> str:
    """Content hash used to recognise a moved or renamed file."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def decode(data: bytes, name: str = "<bytes>", min_side: int = 224) -> Image.Image:
    """Decode image bytes into an RGB image whose shorter side is at least ``min_side``
    where the source allows (JPEGs are decoded at a reduced scale when they are much
    larger, which is several times faster). EXIF orientation is applied and the first
    frame of animations is used.
    """
    ext = os.path.splitext(name)[1].lower()
    try:
        img = Image.open(io.BytesIO(data), formats=_FORMATS)
    except UnidentifiedImageError as exc:
        if ext in (".heic", ".heif") and "HEIF" not in _FORMATS:
            raise DecodeFailure(
                "unsupported",
                f"{name}: HEIC/HEIF needs the optional 'pillow-heif' package "
                "(pip install 'aisearch-widgets[heic]')",
            ) from exc
        raise DecodeFailure("not_an_image", f"{name}: {FAILURE_KINDS['not_an_image']}") from exc
    except Image.DecompressionBombError as exc:
        raise DecodeFailure("too_large", f"{name}: {exc}") from exc
    except OSError as exc:
        raise DecodeFailure("truncated", f"{name}: {exc}") from exc

    w, h = img.size
    if w * h > MAX_PIXELS:
        raise DecodeFailure(
            "too_large", f"{name}: {w}x{h} = {w * h:,} pixels is above the limit of {MAX_PIXELS:,}"
        )
    try:
        if img.format in ("JPEG", "MPO") and min(w, h) > 2 * min_side:
            # draft() picks the largest 1/2, 1/4, 1/8 scale that stays >= the request.
            scale = min_side / min(w, h)
            img.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
        img.load()
        img = ImageOps.exif_transpose(img) or img
        return to_rgb(img)
    except Image.DecompressionBombError as exc:
        raise DecodeFailure("too_large", f"{name}: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeFailure("truncated", f"{name}: {exc}") from exc


def to_rgb(img: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any Pillow mode to RGB the way a person would expect to see it.

    Transparency is composited on ``background`` (a black background would appear
    otherwise); 16-bit and float images are stretched to 8 bits by their own range.
    """
    mode = img.mode
    if mode == "RGB":
        return img
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
        if mode == "RGB":
            return img
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if hi <= lo:
            arr8 = np.zeros(arr.shape, dtype=np.uint8)
        else:
            arr8 = np.clip((arr - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    return img.convert("RGB")


def load(path: str | os.PathLike[str], min_side: int = 224) -> tuple[Image.Image, str]:
    """Read and decode one file: ``(rgb_image, content_hash)``."""
    data = read_bytes(path)
    return decode(data, os.fspath(path), min_side), content_hash(data)


def thumbnail_jpeg(img: Image.Image, size: int = 192, quality: int = 78) -> bytes:
    """A small JPEG of the whole image (aspect kept), typically 4-9 KB at 192 px."""
    thumb = img.copy()
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()
