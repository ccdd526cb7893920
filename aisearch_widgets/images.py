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
import stat
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif"}
)
_BASE_FORMATS = ["JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF"]

# Pillow raises DecompressionBombError above twice this; we refuse at the same size
# before decoding, without touching the process-global limit.
MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)

# Bytes read from one file at most. A symlink to /dev/zero or a sparse 30 GB ".jpg"
# would otherwise be read whole into memory. Indexer and Project may pass their own.
MAX_FILE_BYTES = 512 * 2**20

FAILURE_KINDS = {
    "missing": "the file disappeared before it could be read",
    "unreadable": "the file could not be read (permissions or I/O error)",
    "not_a_file": "not a regular file (a folder, FIFO, socket or device)",
    "empty": "the file is empty (0 bytes)",
    "not_an_image": "the file is not an image Pillow can identify",
    "unsupported": "the image format is not supported",
    "truncated": "the image data is truncated or corrupt",
    "too_large": "the file is above the size limit, or the image above the pixel limit",
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


def _too_large(path: Any, size: int, cap: int) -> DecodeFailure:
    return DecodeFailure(
        "too_large",
        f"{path}: {size:,} bytes is above the limit of {cap:,} bytes per file "
        "(raise max_file_bytes if such files are real images)",
    )


def _not_a_file(path: Any, mode: int) -> DecodeFailure:
    what = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a plain file"
    )
    return DecodeFailure("not_a_file", f"{path}: not a regular file ({what}); it is skipped")


def read_bytes(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """Read a whole regular file, turning OS errors into classified failures.

    Only regular files are opened (``stat`` first; a FIFO would block ``open`` and
    ``read`` forever), and the open is non-blocking so that a file replaced by a
    FIFO after the check cannot hang either. At most ``max_bytes`` (default
    :data:`MAX_FILE_BYTES`) are read: a larger file fails as ``too_large`` before its
    data is read, and a device that reports size 0 still stops at the cap.
    """
    cap = MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        st = os.stat(path)  # follows symlinks: a link to an image is fine
        if not stat.S_ISREG(st.st_mode):
            raise _not_a_file(path, st.st_mode)
        if st.st_size > cap:
            raise _too_large(path, st.st_size, cap)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            fst = os.fstat(fd)  # what was opened, not what was checked
            if not stat.S_ISREG(fst.st_mode):
                raise _not_a_file(path, fst.st_mode)
            if fst.st_size > cap:
                raise _too_large(path, fst.st_size, cap)
            chunks: list[bytes] = []
            got = 0
            while got <= cap:
                chunk = os.read(fd, min(cap + 1 - got, 16 * 2**20))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
            if got > cap:  # grew after fstat
                raise _too_large(path, got, cap)
            data = b"".join(chunks)
        finally:
            os.close(fd)
    except FileNotFoundError as exc:
        raise DecodeFailure("missing", f"{path}: {FAILURE_KINDS['missing']}") from exc
    except BlockingIOError as exc:
        raise DecodeFailure("not_a_file", f"{path}: {FAILURE_KINDS['not_a_file']}") from exc
    except OSError as exc:
        raise DecodeFailure("unreadable", f"{path}: {exc.strerror or exc}") from exc
    if not data:
        raise DecodeFailure("empty", f"{path}: {FAILURE_KINDS['empty']}")
    return data


def content_hash(data: bytes) -> str:
    """Content hash used to recognise a moved or renamed file."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def decode(
    data: bytes, name: str = "<bytes>", min_side: int = 224, header: dict[str, Any] | None = None
) -> Image.Image:
    """Decode image bytes into an RGB image whose shorter side is at least ``min_side``
    where the source allows (JPEGs are decoded at a reduced scale when they are much
    larger, which is several times faster). EXIF orientation is applied and the first
    frame of animations is used.

    ``header``: a dict that receives what the file's header said, read on the way
    (no second parse): ``format``, ``size`` as declared (before EXIF rotation and
    reduced decoding) and ``exif`` (Pillow's ``Exif``, parsed for the rotation anyway).
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
    if header is not None:
        header["format"], header["size"] = img.format, (w, h)
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
        shown = ImageOps.exif_transpose(img) or img
        if header is not None:
            header["exif"] = img.getexif()  # the one exif_transpose parsed
        return to_rgb(shown)
    except Image.DecompressionBombError as exc:
        raise DecodeFailure("too_large", f"{name}: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeFailure("truncated", f"{name}: {exc}") from exc


def declared_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` as the file declares it (EXIF rotation applied; no pixels
    decoded), or None when Pillow cannot read the header."""
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1)
    except Exception:
        return None
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


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


def load(
    path: str | os.PathLike[str], min_side: int = 224, max_bytes: int | None = None
) -> tuple[Image.Image, str]:
    """Read and decode one file: ``(rgb_image, content_hash)``. Refuses what is not a
    regular file or is above ``max_bytes`` (see :func:`read_bytes`)."""
    data = read_bytes(path, max_bytes)
    return decode(data, os.fspath(path), min_side), content_hash(data)


#: The longer side of the thumbnails indexing makes, in pixels.
THUMB_SIDE = 192


def thumbnail_image(img: Image.Image, size: int = THUMB_SIDE) -> Image.Image:
    """The whole image with its longer side at most ``size`` (aspect kept): the image
    itself when it is that small already, else a resized copy. What
    :func:`thumbnail_jpeg` encodes; indexing measures the quality signals on it too,
    so the one resize serves both."""
    if max(img.size) <= size:
        return img
    thumb = img.copy()
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return thumb


def thumbnail_jpeg(img: Image.Image, size: int = THUMB_SIDE, quality: int = 78) -> bytes:
    """A small JPEG of the whole image (aspect kept), typically 4-9 KB at 192 px.
    ``img`` may be :func:`thumbnail_image`'s copy already (it is not resized again)."""
    thumb = thumbnail_image(img, size)
    buf = io.BytesIO()
    thumb.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()
