"""``Project.import_labels``: labels from a labelling tool or a training set into a
label set of the project.

Sources: a Label Studio JSON export (choices and rectangle labels; percent
coordinates become pixels with the image's size), a COCO JSON file, a YOLO folder
(its ``data.yaml``; detection ``labels/*.txt`` or one folder per class), CVAT for
images 1.1 XML (the file, its zip or a folder holding it), or a DataFrame (``path``
or ``id``, ``label``, optional ``x, y, w, h`` in pixels, ``confidence``, ``author``).

Each image the source names is matched to the project's images: by its path (as
is, under ``root``, or relative to a source folder of the project, with leading
folders of the name dropped one by one), then by the content hash of the file
beside the source (a renamed or copied image still matches). The labels a set had
for a matched image are replaced by the source's. Rows that match no image are
returned in the report's ``unmatched``, never dropped silently.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, unquote_plus, urlparse
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd

from ._errors import AISearchError, InvalidArgument, show_value
from ._export_labels import LS_PREFIX, image_sizes, in_slices, paused_gc
from ._image_header import read_file
from ._labels import check_name
from .images import content_hash

IMPORT_FORMATS = ("labelstudio", "coco", "yolo", "cvat", "dataframe")
_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".heic"}
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
NAN = float("nan")


@dataclass
class Parsed:
    """What a source says, before matching: one row per label (``label`` None for an
    image named without labels), and where its image files are, if beside it."""

    rows: list[tuple[str, str | None, float, float, float, float, float, str | None]]
    # name -> the image file beside the source (for the content-hash fallback)
    local: Callable[[str], bytes | None]
    pct: set[int] = field(default_factory=set)  # rows whose box is in percent
    frac: set[int] = field(default_factory=set)  # rows whose box is in fractions (0-1)
    source: str = ""


@dataclass
class LabelImport:
    """The report of :meth:`Project.import_labels`."""

    set: str
    images: int  # images of the project that got the source's labels
    labels: int  # label rows written
    by_content: int  # images matched by content hash (their names did not match)
    unmatched: pd.DataFrame  # name, label and reason of each row not imported

    def __repr__(self) -> str:
        miss = (
            f", {len(self.unmatched)} rows unmatched (see .unmatched)"
            if len(self.unmatched)
            else ""
        )
        return (
            f"<LabelImport into {self.set!r}: {self.labels} labels on {self.images} images"
            f"{f' ({self.by_content} matched by content)' if self.by_content else ''}{miss}>"
        )


def detect(source: Any, fmt: str | None) -> str:
    if isinstance(source, pd.DataFrame):
        return "dataframe"
    if fmt is not None:
        if fmt not in IMPORT_FORMATS:
            raise InvalidArgument(
                f"format must be one of {', '.join(IMPORT_FORMATS)} (got {show_value(fmt)})."
            )
        return fmt
    p = Path(source).expanduser()
    if not p.exists():
        raise AISearchError(f"Cannot import labels from {p}: no such file or folder.")
    if p.is_dir():
        if (p / "data.yaml").is_file():
            return "yolo"
        if (p / "annotations.xml").is_file():
            return "cvat"
        raise AISearchError(
            f"{p} holds neither a data.yaml (YOLO) nor an annotations.xml (CVAT); name the "
            "file to import, or pass format=."
        )
    ext = p.suffix.lower()
    if ext in (".zip", ".xml"):
        return "cvat"
    if ext in (".yaml", ".yml"):
        return "yolo"
    if ext == ".json":
        with open(p, encoding="utf-8") as f:
            head = f.read(4096).lstrip()
        return "labelstudio" if head.startswith("[") else "coco"
    raise AISearchError(
        f"Cannot tell the format of {p}: pass format= ({', '.join(IMPORT_FORMATS)})."
    )


def _reader(*folders: Path | None) -> Callable[[str], bytes | None]:
    def read(name: str) -> bytes | None:
        for folder in folders:
            if folder is None:
                continue
            p = folder / name
            if p.is_file():
                return p.read_bytes()
        return None

    return read


def _coco(path: Path, root: Path | None) -> Parsed:
    doc = json.loads(path.read_text(encoding="utf-8"))
    cats = {c["id"]: c["name"] for c in doc.get("categories", [])}
    images = {im["id"]: im["file_name"] for im in doc.get("images", [])}
    rows: list[Any] = []
    named: set[Any] = set()
    for a in doc.get("annotations", []):
        name = images.get(a["image_id"])
        if name is None:
            continue
        named.add(a["image_id"])
        box = a.get("bbox") or (NAN,) * 4
        conf = a.get("score", NAN)
        rows.append(
            (
                name,
                cats.get(a["category_id"], str(a["category_id"])),
                *map(float, box),
                float(conf),
                None,
            )
        )
    rows += [(n, None, NAN, NAN, NAN, NAN, NAN, None) for i, n in images.items() if i not in named]
    info_root = (doc.get("info") or {}).get("root")
    return Parsed(rows, _reader(root, path.parent, Path(info_root) if info_root else None))


def _yolo(path: Path, root: Path | None) -> Parsed:
    try:
        import yaml
    except ImportError:
        raise AISearchError(
            "Importing a YOLO folder reads its data.yaml with PyYAML: "
            "pip install 'aisearch-widgets[labels]'."
        ) from None

    cfg_path = path / "data.yaml" if path.is_dir() else path
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    names = cfg.get("names") or {}
    names = (
        dict(enumerate(names)) if isinstance(names, list) else {int(k): v for k, v in names.items()}
    )
    base = cfg_path.parent / str(cfg.get("path", "."))
    dirs = list(dict.fromkeys(base / str(cfg[s]) for s in ("train", "val", "test") if cfg.get(s)))
    rows: list[Any] = []
    frac: set[int] = set()
    for d in dirs:
        rel = d.relative_to(base).as_posix()
        labels = base / rel.replace("images", "labels", 1) if "images" in rel else None
        if labels is not None and labels.is_dir():
            n0 = len(rows)
            rows += _yolo_boxes(os.fspath(d), os.fspath(labels), names)
            frac.update(range(n0, len(rows)))
        else:  # classification: one folder per class
            for cls in sorted(p for p in d.iterdir() if p.is_dir()):
                for img in _images_under(cls):
                    name = img.relative_to(cls).as_posix()
                    rows.append((name, cls.name, NAN, NAN, NAN, NAN, NAN, None))
    folders = [root, *dirs, *[c for d in dirs for c in d.iterdir() if c.is_dir()]]
    return Parsed(rows, _reader(*folders), frac=frac)


def _yolo_boxes(images: str, labels: str, names: dict[int, str]) -> list[Any]:
    """Rows of a YOLO detection folder: each image's ``labels/<name>.txt`` (class, then
    cx cy w h normalised, then an optional confidence), the box as x, y, w, h in
    fractions of the image's size: :func:`run` turns them into pixels once the image
    is matched (its size from the catalog, no file read where the index recorded it)."""
    images = os.path.normpath(images)
    found = []
    for dirpath, _, files in os.walk(images):
        rel = dirpath[len(images) + 1 :].replace(os.sep, "/")
        pre = rel + "/" if rel else ""
        found += [pre + f for f in sorted(files) if os.path.splitext(f)[1].lower() in _IMAGE_EXTS]
    labels = os.path.normpath(labels)

    def part(lo: int, hi: int) -> list[Any]:
        out: list[Any] = []
        for name in found[lo:hi]:
            txt = f"{labels}/{os.path.splitext(name)[0]}.txt"
            try:
                boxes = [b for ln in read_file(txt).splitlines() if (b := ln.split())]
            except FileNotFoundError:
                boxes = []
            if not boxes:
                out.append((name, None, NAN, NAN, NAN, NAN, NAN, None))
                continue
            for b in boxes:
                try:
                    k, cx, cy, bw, bh = int(b[0]), *map(float, b[1:5])
                    conf = float(b[5]) if len(b) > 5 else NAN
                except (ValueError, IndexError):
                    line = b" ".join(b).decode("utf-8", "replace")
                    raise AISearchError(
                        f"{txt}: the line {line!r} is not 'class cx cy w h [confidence]'."
                    ) from None
                box = (cx - bw / 2, cy - bh / 2, bw, bh)
                out.append((name, names.get(k, str(k)), *box, conf, None))
        return out

    return in_slices(part, len(found))


def _images_under(d: Path) -> Iterator[Path]:
    for dirpath, _, files in os.walk(d):
        for f in sorted(files):
            if os.path.splitext(f)[1].lower() in _IMAGE_EXTS:
                yield Path(dirpath) / f


def _cvat(path: Path, root: Path | None) -> Parsed:
    zf = None
    if path.is_dir():
        path = path / "annotations.xml"
    if path.suffix.lower() == ".zip":
        zf = zipfile.ZipFile(path)
        xml = zf.read("annotations.xml")
    else:
        xml = path.read_bytes()
    doc = ET.fromstring(xml)
    rows: list[Any] = []
    for im in doc.iter("image"):
        name = im.get("name", "")
        n0 = len(rows)
        for el in im:
            if el.tag == "box":
                x0, y0 = float(el.get("xtl", 0)), float(el.get("ytl", 0))
                x1, y1 = float(el.get("xbr", 0)), float(el.get("ybr", 0))
                rows.append((name, el.get("label"), x0, y0, x1 - x0, y1 - y0, NAN, None))
            elif el.tag == "tag":
                rows.append((name, el.get("label"), NAN, NAN, NAN, NAN, NAN, None))
        if len(rows) == n0:
            rows.append((name, None, NAN, NAN, NAN, NAN, NAN, None))
    disk = _reader(root, path.parent, path.parent / "images")

    def local(name: str) -> bytes | None:
        if zf is not None:
            for member in (f"images/{name}", name):
                try:
                    return zf.read(member)
                except KeyError:
                    pass
        return disk(name)

    return Parsed(rows, local)


def ls_name(url: str) -> str:
    """The file a Label Studio task's image URL names: ``d`` of a local-files URL,
    an upload's name without the prefix Label Studio adds, else the URL's path."""
    if url.startswith(LS_PREFIX) and "&" not in url:  # the common case, 5x faster
        return unquote_plus(url[len(LS_PREFIX) :])
    u = urlparse(url)
    if "d" in (q := parse_qs(u.query)):
        return q["d"][0]
    name = unquote(u.path)
    if "/data/upload/" in name:
        return _UPLOAD_PREFIX.sub("", PurePosixPath(name).name)
    return name


def _labelstudio(path: Path, root: Path | None) -> Parsed:
    rows, pct = ls_rows(json.loads(path.read_text(encoding="utf-8")))
    return Parsed(rows, _reader(root, path.parent), pct)


def ls_rows(tasks: list[dict[str, Any]], predictions: bool = True) -> tuple[list[Any], set[int]]:
    """The rows of Label Studio tasks (the latest finished annotation of each, else,
    with ``predictions``, its latest prediction), named by :func:`ls_name`, and the
    indexes of the rows whose box is still in percent (no image size given)."""
    rows: list[Any] = []
    pct: set[int] = set()
    for t in tasks:
        data = t.get("data") or {}
        url = data.get("image") or next((v for v in data.values() if isinstance(v, str)), "")
        name = ls_name(url)
        done = [a for a in t.get("annotations") or [] if not a.get("was_cancelled")]
        which = (done[-1:] or (t.get("predictions") or [])[-1:]) if predictions else done[-1:]
        n0 = len(rows)
        for ann in which:
            author = ann.get("completed_by")
            author = author.get("email") if isinstance(author, dict) else author
            author = None if author is None else str(author)
            for r in ann.get("result") or []:
                v = r.get("value") or {}
                score = r.get("score", ann.get("score"))
                conf = NAN if score is None else float(score)
                if "choices" in v:
                    rows += [(name, c, NAN, NAN, NAN, NAN, conf, author) for c in v["choices"]]
                    continue
                labels = v.get("rectanglelabels") or v.get("labels")
                if not labels or "x" not in v:
                    continue
                ow, oh = r.get("original_width"), r.get("original_height")
                for c in labels:
                    box = (v["x"], v["y"], v["width"], v["height"])
                    if ow and oh:
                        box = (
                            box[0] * ow / 100,
                            box[1] * oh / 100,
                            box[2] * ow / 100,
                            box[3] * oh / 100,
                        )
                    else:
                        pct.add(len(rows))
                    rows.append((name, c, *map(float, box), conf, author))
        if len(rows) == n0:
            rows.append((name, None, NAN, NAN, NAN, NAN, NAN, None))
    return rows, pct


def _dataframe(df: pd.DataFrame) -> tuple[Parsed, list[str | None]]:
    if "label" not in df:
        raise InvalidArgument("The DataFrame needs a 'label' column, and 'path' or 'id'.")
    if "path" not in df and "id" not in df:
        raise InvalidArgument("The DataFrame needs a 'path' or an 'id' column for its images.")
    n = len(df)

    def col(c: str) -> list[Any]:
        return df[c].tolist() if c in df else [NAN] * n

    if "bbox" in df and "x" not in df:
        b = [
            tuple(v) if isinstance(v, (list, tuple, np.ndarray)) else (NAN,) * 4 for v in df["bbox"]
        ]
        xs, ys, ws, hs = (list(c) for c in zip(*b, strict=True)) if b else ([], [], [], [])
    else:
        xs, ys, ws, hs = col("x"), col("y"), col("w"), col("h")
    names = [str(p) if isinstance(p, (str, os.PathLike)) else "" for p in col("path")]
    authors = (
        [a if isinstance(a, str) else None for a in col("author")] if "author" in df else [None] * n
    )
    rows = [
        (
            nm,
            None if not isinstance(lab, str) else lab,
            float(x),
            float(y),
            float(w),
            float(h),
            float(c),
            a,
        )
        for nm, lab, x, y, w, h, c, a in zip(
            names, col("label"), xs, ys, ws, hs, col("confidence"), authors, strict=True
        )
    ]
    ids = [i if isinstance(i, str) else None for i in col("id")] if "id" in df else [None] * n

    def local(name: str) -> bytes | None:
        return Path(name).read_bytes() if name and Path(name).is_file() else None

    return Parsed(rows, local, source="dataframe"), ids


class Matcher:
    """Names of a source -> ids of the project's images (see the module)."""

    def __init__(self, catalog: Any, root: Path | None) -> None:
        rows = catalog.query(
            "SELECT id, path, key, content, source FROM files WHERE video_key IS NULL"
        )
        self.by_path = {r[1]: r[0] for r in rows}
        # A path within a source folder that two folders share names no one image.
        self.by_rel: dict[str, str | None] = {}
        for r in rows:
            if r[4] != "files":
                rel = r[2].split("/", 1)[1]
                self.by_rel[rel] = None if rel in self.by_rel else r[0]
        self.by_content = {r[3]: r[0] for r in rows if r[3]}
        self.ids = {r[0] for r in rows}
        self.paths = {r[0]: r[1] for r in rows}
        self.root = root
        # root + "/" + a plain relative name: when the catalog holds that path it is
        # normal, so the join and normpath of the general case would give it too.
        self.prefix = None if root is None else os.path.join(os.path.normpath(root), "")

    def by_name(self, name: str) -> tuple[str | None, bool]:
        """``(id, exact)``: exact when the whole name matched; a match with leading
        folders of the name dropped is not (the caller checks its content when it can)."""
        if not name:
            return None, False
        if self.prefix is not None and (got := self.by_path.get(self.prefix + name)):
            return got, True
        if os.path.isabs(name):
            got = self.by_path.get(os.path.normpath(name))
            if got:
                return got, True
        if self.root is not None:
            got = self.by_path.get(os.path.normpath(os.path.join(self.root, name)))
            if got:
                return got, True
        parts = PurePosixPath(name.replace("\\", "/")).parts
        for k in range(len(parts)):
            got = self.by_rel.get("/".join(parts[k:]))
            if got:
                return got, k == 0
        return None, False


@paused_gc()
def run(
    catalog: Any, source: Any, set_: str, fmt: str | None, root: Any, author: str | None
) -> LabelImport:
    set_ = check_name(set_, "label set")
    kind = detect(source, fmt)
    rootp = None if root is None else Path(root).expanduser().absolute()
    ids: list[str | None] = []
    if kind == "dataframe":
        parsed, ids = _dataframe(source)
    else:
        p = Path(source).expanduser().absolute()
        parsed = {"coco": _coco, "yolo": _yolo, "cvat": _cvat, "labelstudio": _labelstudio}[kind](
            p, rootp
        )
        parsed.source = f"{kind}:{p}"
    m = Matcher(catalog, rootp)
    got: dict[str, str | None] = {}  # name -> id
    hashed = 0
    for name in dict.fromkeys(r[0] for r in parsed.rows):
        pid, exact = m.by_name(name)
        if pid is None or not exact:
            # By content: a file beside the source that was renamed or copied, or the
            # check of a name matched only by its last parts (x/a.jpg is not a.jpg).
            data = parsed.local(name) if name else None
            if data is not None:
                by_hash = m.by_content.get(content_hash(data))
                hashed += pid is None and by_hash is not None
                pid = by_hash
        got[name] = pid
    out, clear, unmatched = [], [], []
    scaled: list[tuple[int, float]] = []  # (row of out, 100 for percent or 1 for fractions)
    checked: dict[str, str] = {}  # a label as given -> its checked form (or why not)
    for k, (name, label, x, y, w, h, conf, who) in enumerate(parsed.rows):
        pid = ids[k] if ids and ids[k] is not None else got.get(name)
        if ids and ids[k] is not None and pid not in m.ids:
            unmatched.append((ids[k], label, "no image of the project has this id"))
            continue
        if pid is None:
            unmatched.append((name, label, "no image of the project has this path or content"))
            continue
        clear.append(pid)
        if label is None:
            continue
        if label not in checked:
            try:
                checked[label] = check_name(label, "label")
            except InvalidArgument as exc:
                checked[label] = str(exc), None  # type: ignore[assignment]
        label = checked[label]
        if isinstance(label, tuple):
            unmatched.append((name, parsed.rows[k][1], label[0]))
            continue
        if k in parsed.pct or k in parsed.frac:
            scaled.append((len(out), 100.0 if k in parsed.pct else 1.0))
        out.append((pid, label, x, y, w, h, conf, parsed.source, who or author))
    gone: set[str] = set()  # images whose size cannot be read: their boxes are not placed
    if scaled:
        # Relative boxes in pixels of the matched image: its size from the catalog
        # (the index recorded it), its file's header otherwise.
        pids = list(dict.fromkeys(out[j][0] for j, _ in scaled))
        paths = [m.paths[p] for p in pids]
        size = dict(zip(pids, image_sizes(catalog, pids, paths, missing_ok=True), strict=True))
        gone = {p for p, got in size.items() if got is None}
        for j, per in scaled:
            pid, label, x, y, w, h, *rest = out[j]
            if pid in gone:  # no size to place the box with: said, not dropped
                reason = "cannot read the image's size: is the file still there? Run update()."
                unmatched.append((m.paths[pid], label, reason))
                continue
            iw, ih = size[pid]
            if per == 1.0:
                out[j] = (pid, label, x * iw, y * ih, w * iw, h * ih, *rest)
            else:
                out[j] = (pid, label, x * iw / per, y * ih / per, w * iw / per, h * ih / per, *rest)
        if gone:
            out = [r for r in out if r[0] not in gone or np.isnan(r[2])]
    clear = [c for c in dict.fromkeys(clear) if c not in gone]  # those keep their labels
    written = catalog.put_labels(set_, out, clear=clear)
    report = pd.DataFrame(unmatched, columns=["name", "label", "reason"])
    return LabelImport(set_, len(clear), written, hashed, report)
