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
from typing import Any, TypedDict, Unpack

from .images import (
    DecodeFailure,
    content_hash,
    decode,
    read_bytes,
    thumbnail_image,
    thumbnail_jpeg,
)
from .video import pixel_hash

log = logging.getLogger(__name__)

__all__ = [
    "Prep",
    "PrepOptions",
    "file_metadata",
    "frame_metadata",
    "prepare_file",
    "prepare_frame",
]

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


class PrepOptions(TypedDict, total=False):
    """What the caller knows of a file or frame and wants made of it, all optional.

    ``pid``: its id. ``prev``: the content hash ``pid`` had when last embedded (equal
    content keeps its own vector). ``lend``: content hash → the id of another item
    whose vector this content may borrow (a move, a rename, a copy). ``thumbs``: make
    its thumbnail. ``metadata``: read its metadata (:func:`file_metadata`,
    :func:`frame_metadata`), quality signals included."""

    pid: str | None
    prev: str | None
    lend: Callable[[str], str | None] | None
    thumbs: bool
    metadata: bool


def prepare_file(
    path: str,
    *,
    min_side: int,
    preprocess: Callable[[Any], Any],
    max_bytes: int,
    **opts: Unpack[PrepOptions],
) -> Prep:
    """Prepare one image file (``opts``: :class:`PrepOptions`). Content that may keep
    or borrow a vector is not decoded. Never raises for a file's fault: a failure comes
    back as ``fail``, with the kinds of :mod:`.images`."""
    _check(opts)
    try:
        data = read_bytes(path, max_bytes)
        content = content_hash(data)
        src = _lender(content, opts)
        if src is not None:
            return Prep(content, reuse=src)
        header: dict[str, Any] | None = {} if opts.get("metadata") else None
        img = decode(data, path, min_side, header=header)
        return _finish(
            Prep(content),
            img,
            preprocess,
            opts,
            thumb=bool(opts.get("thumbs")),
            describe=lambda small: file_metadata(data, img, header=header, small=small),
        )
    except DecodeFailure as f:
        return Prep(fail=(f.kind, f.message))
    except OSError as exc:
        log.exception("unexpected error preparing %s", path)
        return Prep(fail=("error", f"{path}: {exc}"))
    except Exception as exc:  # a bug or an exotic file must not stop the run
        log.exception("unexpected error preparing %s", path)
        return Prep(fail=("error", f"{path}: {type(exc).__name__}: {exc}"))


def prepare_frame(
    image: Any, *, preprocess: Callable[[Any], Any], **opts: Unpack[PrepOptions]
) -> Prep:
    """Prepare one decoded video frame (``opts``: :class:`PrepOptions`): its pixel
    hash is its content. Unlike a file, a frame keeps its pixels when it borrows a
    vector (the lender's vector may be gone when the batch is written, and the video
    is not decoded twice); its thumbnail is made unless it keeps its own id's vector."""
    _check(opts)
    content = pixel_hash(image)
    src = _lender(content, opts)
    own = src is not None and src == opts.get("pid")
    return _finish(
        Prep(content, reuse=src),
        image,
        preprocess,
        opts,
        thumb=bool(opts.get("thumbs")) and not own,
        describe=lambda small: frame_metadata(image, small=small),
    )


def _check(opts: PrepOptions) -> None:
    """A misspelt option fails as a misspelt keyword argument does, never ignored."""
    unknown = opts.keys() - PrepOptions.__annotations__.keys()
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")


def _lender(content: str, opts: PrepOptions) -> str | None:
    """The id whose vector ``content`` may use: its own when unchanged, else a
    lender's; None when it is to be embedded."""
    pid, prev, lend = opts.get("pid"), opts.get("prev"), opts.get("lend")
    src = pid if prev is not None and prev == content else None
    if src is None and lend is not None:
        src = lend(content)
    return src


def _finish(
    out: Prep,
    img: Any,
    preprocess: Callable[[Any], Any],
    opts: PrepOptions,
    *,
    thumb: bool,
    describe: Callable[[Any], dict[str, Any]],
) -> Prep:
    """The model input, the thumbnail and the metadata of a decoded image. One resize
    serves the thumbnail and the quality signals: they are measured on the
    thumbnail's pixels (:func:`.quality.working_image`)."""
    out.pixels = preprocess(img)
    metadata = bool(opts.get("metadata"))
    if thumb or metadata:
        small = thumbnail_image(img)
        if thumb:
            out.thumb = thumbnail_jpeg(small)
        if metadata:
            out.meta = describe(small)
    return out


# -- metadata -------------------------------------------------------------------------
def _signals(img: Any, small: Any = None) -> dict[str, float]:
    from .quality import image_signals, working_signals

    return image_signals(img) if small is None else working_signals(small)


def frame_metadata(image: Any, small: Any = None) -> dict[str, Any]:
    """Size and quality signals of a decoded frame (``small``: its thumbnail-sized copy,
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
    its thumbnail-sized copy, when already made). ``header``: what :func:`~.images.decode`
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
