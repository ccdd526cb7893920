"""The one prepare step: a file's bytes (or a video frame) to what embedding needs.

Read, content hash, reuse check, decode, preprocess, thumbnail and metadata, in one
pass over bytes held in memory. The in-process engine, the Ray decode tasks and
re-embedding all call :func:`prepare_file` and :func:`prepare_frame`, so a rule about
decoding, a failure kind or a message has one place. Pure: paths and parameters in,
a :class:`Prep` out; no project objects, so it runs on a Ray worker as it runs here
(and imports neither torch nor the model unless ``preprocess`` does).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .images import DecodeFailure, content_hash, decode, read_bytes, thumbnail_jpeg
from .video import pixel_hash

log = logging.getLogger(__name__)

__all__ = ["Prep", "file_metadata", "frame_metadata", "prepare_file", "prepare_frame"]

# EXIF tags (IFD 0, the Exif IFD 0x8769 and the GPS IFD 0x8825).
_MAKE, _MODEL, _ORIENTATION, _DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _LENS_MODEL = 0x9003, 0xA434


@dataclass
class Prep:
    """What the prepare step made of one file or frame. Exactly one of ``reuse``
    (the id whose vector this content borrows), ``pixels`` (the model input) and
    ``fail`` (kind, message) says what happens next."""

    content: str | None = None
    reuse: str | None = None
    pixels: Any = None
    thumb: bytes | None = None
    meta: dict[str, Any] | None = None
    fail: tuple[str, str] | None = None


def prepare_file(
    path: str,
    *,
    min_side: int,
    preprocess: Callable[[Any], Any],
    max_bytes: int,
    pid: str | None = None,
    prev: str | None = None,
    lend: Callable[[str], str | None] | None = None,
    thumbs: bool = False,
    metadata: bool = False,
) -> Prep:
    """Prepare one image file. ``prev``: the content hash ``pid`` had when last
    embedded (equal content keeps its own vector); ``lend``: content hash → the id of
    another file whose vector this content may borrow (a move, a rename, a copy).
    ``metadata`` adds :func:`file_metadata`. Never raises for a file's fault: a
    failure comes back as ``fail``, with the kinds of :mod:`.images`."""
    try:
        data = read_bytes(path, max_bytes)
        content = content_hash(data)
        if prev is not None or lend is not None:
            src = pid if prev is not None and prev == content else None
            if src is None and lend is not None:
                src = lend(content)
            if src is not None:
                return Prep(content, reuse=src)
        header: dict[str, Any] | None = {} if metadata else None
        img = decode(data, path, min_side, header=header)
        out = Prep(content, pixels=preprocess(img))
        small = _working_image(img) if metadata else img
        if thumbs:
            out.thumb = thumbnail_jpeg(small)
        if metadata:
            out.meta = file_metadata(data, img, header=header, small=small)
        return out
    except DecodeFailure as f:
        return Prep(fail=(f.kind, f.message))
    except OSError as exc:
        log.exception("unexpected error preparing %s", path)
        return Prep(fail=("error", f"{path}: {exc}"))
    except Exception as exc:  # a bug or an exotic file must not stop the run
        log.exception("unexpected error preparing %s", path)
        return Prep(fail=("error", f"{path}: {type(exc).__name__}: {exc}"))


def prepare_frame(
    image: Any,
    *,
    preprocess: Callable[[Any], Any],
    pid: str | None = None,
    prev: str | None = None,
    lend: Callable[[str], str | None] | None = None,
    thumbs: bool = False,
    metadata: bool = False,
) -> Prep:
    """Prepare one decoded video frame: its pixel hash is its content. Unlike a file,
    a frame keeps its pixels when it borrows a vector (the lender's vector may be gone
    when the batch is written, and the video is not decoded twice); its thumbnail is
    made unless it keeps its own id's vector."""
    content = pixel_hash(image)
    src = pid if prev is not None and prev == content else None
    if src is None and lend is not None:
        src = lend(content)
    out = Prep(content, reuse=src, pixels=preprocess(image))
    small = _working_image(image) if metadata else image
    if thumbs and (src is None or src != pid):
        out.thumb = thumbnail_jpeg(small)
    if metadata:
        out.meta = frame_metadata(image, small=small)
    return out


# -- metadata -------------------------------------------------------------------------
def _working_image(img: Any) -> Any:
    """The copy the quality signals are measured on (longer side ≤ 256 px). The
    thumbnail (192 px) is made from it too: one resize of the decoded image, not two
    (the signals cost ~40 % less; see benchmarks/bench_metadata.py)."""
    from .quality import working_image

    return working_image(img)


def _signals(img: Any, small: Any = None) -> dict[str, float]:
    from .quality import image_signals, working_signals

    return image_signals(img) if small is None else working_signals(small)


def frame_metadata(image: Any, small: Any = None) -> dict[str, Any]:
    """Size and quality signals of a decoded frame (``small``: its working copy,
    when already made)."""
    w, h = image.size
    return {"width": w, "height": h, "format": None, **_signals(image, small)}


def _text(v: Any) -> str | None:
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if v is None:
        return None
    s = str(v).replace("\x00", "").strip()
    return s or None


def _iso(v: Any) -> str | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' as ISO 8601 'YYYY-MM-DDTHH:MM:SS' (None if not one)."""
    s = _text(v)
    if not s or len(s) < 19 or s[4] != ":" or s[7] != ":":
        return None
    iso = f"{s[0:4]}-{s[5:7]}-{s[8:10]}T{s[11:19]}"
    digits = iso.replace("-", "").replace("T", "").replace(":", "")
    return iso if digits.isdigit() and not digits.startswith("0000") else None


def _degrees(dms: Any, ref: Any) -> float | None:
    try:
        d, m, s = (float(x) for x in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    val = d + m / 60 + s / 3600
    if _text(ref) in ("S", "W"):
        val = -val
    return round(val, 7) if val == val else None


def _exif(im: Any) -> dict[str, Any]:
    try:
        ex = im.getexif()
    except Exception:
        return {}
    return _exif_tags(ex)


def _exif_tags(ex: Any) -> dict[str, Any]:
    """Camera, lens, capture time, GPS and orientation from a Pillow ``Exif``."""
    out: dict[str, Any] = {}
    if not ex:
        return out
    out["make"], out["camera"] = _text(ex.get(_MAKE)), _text(ex.get(_MODEL))
    orient = ex.get(_ORIENTATION)
    out["orientation"] = int(orient) if isinstance(orient, int) else None
    try:
        sub = ex.get_ifd(_EXIF_IFD)
    except Exception:
        sub = {}
    out["taken_at"] = _iso(sub.get(_DATETIME_ORIGINAL)) or _iso(ex.get(_DATETIME))
    out["lens"] = _text(sub.get(_LENS_MODEL))
    try:
        gps = ex.get_ifd(_GPS_IFD)
    except Exception:
        gps = {}
    if gps:
        lat, lon = _degrees(gps.get(2), gps.get(1)), _degrees(gps.get(4), gps.get(3))
        if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
            out["gps_lat"], out["gps_lon"] = lat, lon
    return out


def file_metadata(
    data: bytes, img: Any, header: dict[str, Any] | None = None, small: Any = None
) -> dict[str, Any]:
    """What an image file says of itself, from its bytes already in memory: size as
    shown (EXIF rotation applied), format, EXIF capture time, camera, lens, GPS,
    orientation; and the quality signals of ``img``, the decoded image (``small``:
    its working copy, when already made). ``header``: what :func:`~.images.decode`
    read of the header on the way; without it the header is parsed again (no pixels
    decoded)."""
    from PIL import Image

    meta: dict[str, Any] = {"width": None, "height": None, "format": None}
    try:
        if header and "exif" in header:
            w, h = header["size"]
            meta["format"] = header["format"]
            with contextlib.suppress(Exception):  # odd EXIF: the rest still holds
                meta.update(_exif_tags(header["exif"]))
        else:
            with Image.open(io.BytesIO(data)) as im:
                w, h = im.size
                meta["format"] = im.format
                meta.update(_exif(im))
    except Exception:  # decodable but the header reader disagrees: the decoded size
        w, h = img.size
    if meta.get("orientation") in (5, 6, 7, 8):
        w, h = h, w
    meta["width"], meta["height"] = w, h
    meta.update(_signals(img, small))
    return meta


def metadata_of_path(path: str, *, min_side: int, max_bytes: int) -> Prep:
    """Metadata of an image file already embedded (the catalog lacks it): read and
    decode, no model."""
    return prepare_file(
        path, min_side=min_side, preprocess=lambda img: None, max_bytes=max_bytes, metadata=True
    )
