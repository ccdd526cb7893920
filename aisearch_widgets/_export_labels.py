"""``Collection.export``: manifests (CSV, JSONL, JSON) and the dataset formats of the
labelling and training tools, with the labels of a label set or the tags.

========================  =====================================================
``format=``               what ``path`` becomes
========================  =====================================================
``"csv"``/``"jsonl"``…    one manifest file (the collection's ``df``)
``"coco"``                a COCO JSON file: images, categories, annotations
                          (a box when the label has one, none for a
                          classification label); ``score`` for predictions
``"labelstudio"``         a Label Studio tasks JSON file; ``data.image`` is
                          ``/data/local-files/?d=<path relative to root>``
                          (``root``: Label Studio's LOCAL_FILES_DOCUMENT_ROOT);
                          the labels ride along as ``predictions``
``"cvat"``                a zip of ``annotations.xml`` (CVAT for images 1.1);
                          with ``copy=True`` the images too, under ``images/``
``"yolo"``                a folder: ``data.yaml``, ``images/`` (hard links
                          where the file system allows, else copies) and
                          ``labels/*.txt`` (class cx cy w h, normalised; two
                          images whose names differ only by extension are
                          refused); a set without boxes: one folder per
                          class under ``train/``
``"imagefolder"``         Hugging Face ``imagefolder``: ``metadata.csv``
                          (``file_name``, ``label``, ``tags``) or, with boxes,
                          ``metadata.jsonl`` with ``objects``; with ``copy=True``
                          a new folder with the images, else written into the
                          folder ``path`` that holds them all
``"fiftyone"``            FiftyOneImageClassificationDataset (or …Detection-
                          Dataset when boxes exist): ``data/`` + ``labels.json``
========================  =====================================================

File names are paths relative to ``root`` (default: the deepest folder holding
every image), or, for copies, to that folder inside the export. Nothing existing is
replaced unless ``overwrite=True`` (a folder only if an export of the same format
made it); each export appears whole or not at all (written under a temporary name,
then renamed into place).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import isnan
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from ._errors import AISearchError, InvalidArgument, show_value
from ._export_yolo import label_stems, link_or_copy, write_files, yolo_texts
from ._image_header import header_size

MANIFESTS = ("csv", "jsonl", "json")
FORMATS = (*MANIFESTS, "coco", "labelstudio", "cvat", "yolo", "imagefolder", "fiftyone")
_FOLDERS = {"yolo": "data.yaml", "fiftyone": "labels.json", "imagefolder": None}
LS_PREFIX = "/data/local-files/?d="


@dataclass
class Job:
    """What one export writes: the images (``ids``, absolute ``paths``, file
    ``names`` relative to the export's root), their ``sizes`` (w, h) and their
    ``labels`` (a frame of the label columns: id, label, x, y, w, h, confidence)."""

    ids: list[str]
    paths: list[str]
    names: list[str]
    sizes: list[tuple[int, int]]
    labels: pd.DataFrame
    tags: list[list[str]]
    set_name: str | None

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels["label"].tolist()))

    @property
    def has_boxes(self) -> bool:
        return bool(self.labels["x"].notna().any())

    def by_image(self) -> dict[str, list[tuple[str, float, float, float, float, float]]]:
        """id -> its labels as ``(label, x, y, w, h, confidence)`` (NaN: none)."""
        lab = self.labels
        out: dict[str, list[tuple[str, float, float, float, float, float]]] = {}
        cols = [lab[c].tolist() for c in ("id", "label", "x", "y", "w", "h", "confidence")]
        for pid, *rest in zip(*cols, strict=True):
            out.setdefault(pid, []).append(tuple(rest))  # type: ignore[arg-type]
        return out


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection meanwhile (a decorator too): building the dicts of
    100k tasks otherwise runs it hundreds of times over a growing heap, about half the
    CPU time of a Label Studio export. Nothing made here holds a cycle."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def image_sizes(
    catalog: Any, ids: Sequence[str], paths: Sequence[str], missing_ok: bool = False
) -> list[tuple[int, int]]:
    """(width, height) of each image as stored (before any EXIF rotation, as
    :func:`header_size` reads it): from the catalog's metadata where it has them (the
    index run recorded them), else read from the file's header. A file that cannot be
    read is an error naming it, or with ``missing_ok`` a size of None."""
    known: dict[str, tuple[int, int]] = {}
    meta = getattr(catalog, "metadata_frame", None)
    if callable(meta):
        with contextlib.suppress(Exception):
            m = meta(["width", "height", "orientation"]).dropna(subset=["width", "height"])
            # The catalog holds the size as shown: a quarter turn swapped it.
            turned = m["orientation"].isin([5, 6, 7, 8]).to_numpy()
            w, h = m["width"].to_numpy(dtype=np.int64), m["height"].to_numpy(dtype=np.int64)
            known = dict(
                zip(
                    m.index.tolist(),
                    zip(
                        np.where(turned, h, w).tolist(),
                        np.where(turned, w, h).tolist(),
                        strict=True,
                    ),
                    strict=True,
                )
            )

    got: list[tuple[int, int] | None] = [known.get(pid) for pid in ids]
    missing = [k for k, size in enumerate(got) if size is None]

    def read(lo: int, hi: int) -> list[tuple[int, int]]:
        out = []
        for k in missing[lo:hi]:
            try:
                out.append(header_size(paths[k]))
            except OSError as exc:
                if missing_ok:
                    out.append(None)
                    continue
                raise AISearchError(
                    f"Cannot read the size of {paths[k]}: {exc}. Is the file still there? "
                    "Run proj.update() to bring the project up to date."
                ) from exc
        return out

    if missing:
        for k, size in zip(missing, in_slices(read, len(missing)), strict=True):
            got[k] = size
    return got  # type: ignore[return-value]


def in_slices(fn: Callable[[int, int], list[Any]], n: int, threads: int = 8) -> list[Any]:
    """``fn(lo, hi)`` over slices of ``range(n)`` in ``threads`` threads, the results
    in order. Threads overlap the file system calls (the parsing holds the GIL); one
    task per slice, not per file, or the pool's bookkeeping costs more than the work."""
    if threads <= 1:
        return fn(0, n)
    step = max(1, -(-n // 32))
    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(lambda lo: fn(lo, min(lo + step, n)), range(0, n, step))
        return [s for part in parts for s in part]


def relative_names(
    paths: Sequence[str], root: str | os.PathLike[str] | None
) -> tuple[str, list[str]]:
    """``(root, names)``: each path relative to ``root`` (POSIX separators); without
    a root, the deepest folder that holds every path. A path outside ``root`` is an
    error naming it."""
    if root is None:
        dirs = {p.rpartition(os.sep)[0] or os.sep for p in paths}  # absolute paths
        base = os.path.commonpath(list(dirs)) if dirs else os.getcwd()
    else:
        base = os.path.abspath(os.path.expanduser(os.fspath(root)))
    names = []
    prefix = base.rstrip(os.sep) + os.sep
    for p in paths:
        # The catalog's paths are absolute and normal: a prefix test says it all.
        if not p.startswith(prefix):
            raise InvalidArgument(
                f"{p} is not under root={base!r}: name a root folder that holds every image "
                "of the collection, or export copies (copy=True)."
            )
        rel = p[len(prefix) :]
        names.append(rel if os.sep == "/" else rel.replace(os.sep, "/"))
    return base, names


def _check_target(p: Path, fmt: str, overwrite: bool) -> None:
    if not p.parent.is_dir():
        raise AISearchError(
            f"Cannot export to {p}: the folder {p.parent} does not exist. Create it first or "
            "choose another path."
        )
    if not (p.exists() or p.is_symlink()):
        return
    if not overwrite:
        raise AISearchError(f"{p} exists; pass overwrite=True to replace it.")
    marker = _FOLDERS.get(fmt, "")
    if fmt in _FOLDERS and not (
        p.is_dir()
        and not p.is_symlink()
        and any(
            (p / m).is_file() for m in ([marker] if marker else ["metadata.csv", "metadata.jsonl"])
        )
    ):
        raise AISearchError(
            f"{p} exists and is not a {fmt} export: overwrite=True replaces only a folder an "
            "earlier export of this format made. Choose another path."
        )
    if fmt not in _FOLDERS and p.is_dir():
        raise AISearchError(f"{p} is a folder; choose a file name.")


@contextlib.contextmanager
def _staged(p: Path, folder: bool):
    """A temporary sibling of ``p`` to write into, renamed onto ``p`` on success (an
    earlier export there moves aside first and goes once the new one is in place)."""
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    _remove(tmp)
    if folder:
        tmp.mkdir()
    try:
        yield tmp
        old = p.with_name(f".{p.name}.{os.getpid()}.old")
        if folder and p.exists():
            os.replace(p, old)
        os.replace(tmp, p)
        _remove(old)
    except OSError as exc:
        raise AISearchError(
            f"Cannot export to {p}: {exc.strerror or exc}. Choose a folder you can write to."
        ) from exc
    finally:
        _remove(tmp)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(p)


def _place_copy(src: str, dst: Path) -> None:
    """A copy of ``src`` at ``dst`` (its folder made first): see :func:`link_or_copy`."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    link_or_copy(src, os.fspath(dst))


_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas: cells that
    start with ``= + - @``, tab or carriage return get a leading single quote (OWASP
    CSV injection rule). Lists (tags) become ``;``-joined text first."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype != object:
            continue
        out[col] = [_csv_cell(v) for v in out[col]]
    return out


def _csv_cell(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        v = ";".join(map(str, v))
    if isinstance(v, str) and v.startswith(_CSV_TRIGGERS):
        return "'" + v
    return v


def write_csv(df: pd.DataFrame, dest: Any) -> None:
    """Write ``df`` as CSV (path or open text stream) with :func:`csv_safe` cells."""
    csv_safe(df).to_csv(dest, index=False)


def write_manifest(df: pd.DataFrame, p: Path, fmt: str) -> None:
    with _staged(p, folder=False) as tmp:
        if fmt == "csv":
            write_csv(df, tmp)
        elif fmt == "jsonl":
            df.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            df.to_json(tmp, orient="records", force_ascii=False, indent=1)


def guess_format(p: Path, fmt: str | None) -> str:
    if fmt is None:
        ext = p.suffix.lower().lstrip(".")
        if ext not in MANIFESTS:
            raise AISearchError(
                f"Unknown export format {p.suffix!r}: use .csv, .jsonl or .json, or name a "
                f"format: format= one of {', '.join(FORMATS)}."
            )
        return ext
    if fmt not in FORMATS:
        raise InvalidArgument(
            f"format must be one of {', '.join(FORMATS)} (got {show_value(fmt)})."
        )
    return fmt


def write(job: Job, p: Path, fmt: str, copy: bool, root: str) -> None:
    folder = fmt in _FOLDERS and (copy or fmt != "imagefolder")
    if fmt == "imagefolder" and not copy:
        _imagefolder(job, p, copy=False)
        return
    with _staged(p, folder=folder) as tmp:
        {
            "coco": lambda: _coco(job, tmp, root),
            "labelstudio": lambda: _labelstudio(job, tmp),
            "cvat": lambda: _cvat(job, tmp, copy),
            "yolo": lambda: _yolo(job, tmp),
            "imagefolder": lambda: _imagefolder(job, tmp, copy=True),
            "fiftyone": lambda: _fiftyone(job, tmp),
        }[fmt]()


def _r(v: float) -> float:
    return round(float(v), 3)


def _coco(job: Job, tmp: Path, root: str) -> None:
    cat_id = {c: k for k, c in enumerate(job.classes, start=1)}
    index = {pid: n for n, pid in enumerate(job.ids, start=1)}
    images = [
        {"id": index[pid], "file_name": name, "width": w, "height": h}
        for pid, name, (w, h) in zip(job.ids, job.names, job.sizes, strict=True)
    ]
    anns = []
    lab = job.labels
    xywh = lab[["x", "y", "w", "h"]].to_numpy(dtype=float)
    area = np.round(xywh[:, 2] * xywh[:, 3], 3).tolist()
    boxes = np.round(xywh, 3).tolist()
    has_box = (~np.isnan(xywh[:, 0])).tolist()
    confs = lab["confidence"].to_numpy(dtype=float)
    has_conf = (~np.isnan(confs)).tolist()
    confs = confs.tolist()
    for n, (pid, label) in enumerate(zip(lab["id"].tolist(), lab["label"].tolist(), strict=True)):
        a: dict[str, Any] = {"id": n + 1, "image_id": index[pid], "category_id": cat_id[label]}
        if has_box[n]:
            a |= {"bbox": boxes[n], "area": area[n], "iscrowd": 0}
        if has_conf[n]:
            a["score"] = confs[n]
        anns.append(a)
    cats = [{"id": k, "name": c, "supercategory": ""} for c, k in cat_id.items()]
    info = {"description": f"aisearch-widgets export ({job.set_name or 'tags'})", "root": root}
    doc = {"info": info, "images": images, "categories": cats, "annotations": anns}
    tmp.write_text(json.dumps(doc, ensure_ascii=False))


def _labelstudio(job: Job, tmp: Path) -> None:
    tasks = ls_tasks(job, [LS_PREFIX + quote(name) for name in job.names])
    # No indent: json's fast C encoder runs only without one (3x faster for 100k tasks).
    tmp.write_text(json.dumps(tasks, ensure_ascii=False))


def ls_tasks(job: Job, urls: Sequence[str]) -> list[dict[str, Any]]:
    """One Label Studio task per image (``data.image`` from ``urls``), its labels
    as ``predictions``: ``choice`` for a class, ``label`` for a box, on ``image``."""
    groups = job.by_image()
    tasks = []
    for pid, url, (iw, ih) in zip(job.ids, urls, job.sizes, strict=True):
        task: dict[str, Any] = {"data": {"image": url, "aisearch_id": pid}}
        g = groups.get(pid)
        if g is not None:
            result = []
            # Dict literals, not merges: this loop is most of an export of 100k tasks.
            for k, (label, x, y, w, h, conf) in enumerate(g):
                item: dict[str, Any]
                if isnan(x):
                    item = {
                        "id": f"{pid[:8]}-{k}",
                        "to_name": "image",
                        "from_name": "choice",
                        "type": "choices",
                        "value": {"choices": [label]},
                    }
                else:
                    item = {
                        "id": f"{pid[:8]}-{k}",
                        "to_name": "image",
                        "from_name": "label",
                        "type": "rectanglelabels",
                        "value": {
                            "x": 100 * x / iw,
                            "y": 100 * y / ih,
                            "width": 100 * w / iw,
                            "height": 100 * h / ih,
                            "rotation": 0,
                            "rectanglelabels": [label],
                        },
                        "original_width": iw,
                        "original_height": ih,
                        "image_rotation": 0,
                    }
                if not isnan(conf):
                    item["score"] = float(conf)
                result.append(item)
            task["predictions"] = [{"model_version": job.set_name or "tags", "result": result}]
        tasks.append(task)
    return tasks


def _cvat(job: Job, tmp: Path, copy: bool) -> None:
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "name").text = job.set_name or "tags"
    ET.SubElement(task, "size").text = str(len(job.ids))
    ET.SubElement(task, "mode").text = "annotation"
    labels = ET.SubElement(task, "labels")
    for c in job.classes:
        lab = ET.SubElement(labels, "label")
        ET.SubElement(lab, "name").text = c
        ET.SubElement(lab, "type").text = "any"
        ET.SubElement(lab, "attributes")
    # The images as text (ElementTree takes ~10x longer for 100k images); quoteattr
    # escapes every value.
    head = ET.tostring(root, encoding="unicode").removesuffix("</annotations>")
    parts = ["<?xml version='1.0' encoding='utf-8'?>\n", head]
    groups = job.by_image()
    quoted = {c: quoteattr(c) for c in job.classes}  # a few labels, 200k boxes
    for n, (pid, name, (w, h)) in enumerate(zip(job.ids, job.names, job.sizes, strict=True)):
        parts.append(f'<image id="{n}" name={quoteattr(name)} width="{w}" height="{h}">')
        for label, x, y, bw, bh, _ in groups.get(pid, ()):
            if x != x:  # NaN: a classification label
                parts.append(f'<tag label={quoted[label]} source="manual" />')
            else:
                parts.append(
                    f'<box label={quoted[label]} source="manual" occluded="0" z_order="0" '
                    f'xtl="{x:.2f}" ytl="{y:.2f}" xbr="{x + bw:.2f}" ybr="{y + bh:.2f}" />'
                )
        parts.append("</image>")
    parts.append("</annotations>")
    xml = "".join(parts).encode("utf-8")
    # Level 1: a third of level 6's time for 100k images' XML, a file ~1.3x larger.
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("annotations.xml", xml)
        if copy:
            for path, name in zip(job.paths, job.names, strict=True):
                z.write(path, f"images/{name}", compress_type=zipfile.ZIP_STORED)


def _yolo(job: Job, tmp: Path) -> None:
    classes = job.classes
    names = "".join(f"  {k}: {json.dumps(c, ensure_ascii=False)}\n" for k, c in enumerate(classes))
    if not job.has_boxes:  # classification: one folder per class
        groups = job.by_image()
        for pid, path, name in zip(job.ids, job.paths, job.names, strict=True):
            if pid in groups:
                _place_copy(path, tmp / "train" / groups[pid][0][0] / name)
        (tmp / "data.yaml").write_text(
            f"path: .\ntrain: train\nval: train\nnc: {len(classes)}\nnames:\n{names}"
        )
        return
    stems = label_stems(job.names)
    write_files(
        os.fspath(tmp / "images"),
        os.fspath(tmp / "labels"),
        job.paths,
        job.names,
        stems,
        lambda: yolo_texts(job.ids, job.sizes, job.labels, classes),
    )
    (tmp / "data.yaml").write_text(
        f"train: images\nval: images\nnc: {len(classes)}\nnames:\n{names}"
    )


def _imagefolder(job: Job, where: Path, copy: bool) -> None:
    groups, boxes = job.by_image(), job.has_boxes
    if copy:
        for path, name in zip(job.paths, job.names, strict=True):
            _place_copy(path, where / name)
    rows = []
    for pid, name, tags in zip(job.ids, job.names, job.tags, strict=True):
        g = groups.get(pid)
        row: dict[str, Any] = {"file_name": name}
        if boxes:
            got = [t for t in g or [] if not np.isnan(t[1])]
            row["objects"] = {
                "bbox": [[_r(v) for v in t[1:5]] for t in got],
                "categories": [t[0] for t in got],
            }
        else:
            row["label"] = g[0][0] if g else None
        row["tags"] = ";".join(tags)
        rows.append(row)
    df = pd.DataFrame(rows, columns=["file_name", "objects" if boxes else "label", "tags"])
    name = "metadata.jsonl" if boxes else "metadata.csv"
    if copy:
        _write_metadata(df, where / name, boxes)
        return
    target = where / name
    if not where.is_dir():
        raise AISearchError(
            f"Cannot export to {where}: imagefolder without copy=True writes {name} into the "
            "folder that holds the images; name that folder (it must exist)."
        )
    if target.exists() or target.is_symlink():
        raise AISearchError(f"{target} exists; remove it or export copies (copy=True) elsewhere.")
    with _staged(target, folder=False) as tmp:
        _write_metadata(df, tmp, boxes)


def _write_metadata(df: pd.DataFrame, p: Path, jsonl: bool) -> None:
    if jsonl:
        df.to_json(p, orient="records", lines=True, force_ascii=False)
    else:
        df.to_csv(p, index=False)


def _fiftyone(job: Job, tmp: Path) -> None:
    classes = job.classes
    k_of = {c: k for k, c in enumerate(classes)}
    groups = job.by_image()
    labels: dict[str, Any] = {}
    for pid, path, (w, h) in zip(job.ids, job.paths, job.sizes, strict=True):
        _place_copy(path, tmp / "data" / f"{pid}{Path(path).suffix.lower()}")
        g = groups.get(pid)
        if job.has_boxes:
            dets = []
            if g is not None:
                for label, x, y, bw, bh, conf in g:
                    if isnan(x):
                        continue
                    d: dict[str, Any] = {
                        "label": k_of[label],
                        "bounding_box": [x / w, y / h, bw / w, bh / h],
                    }
                    if not isnan(conf):
                        d["confidence"] = float(conf)
                    dets.append(d)
            labels[pid] = dets
        elif g is not None:
            label, conf = g[0][0], g[0][5]
            labels[pid] = (
                k_of[label] if isnan(conf) else {"label": k_of[label], "confidence": float(conf)}
            )
        else:
            labels[pid] = None
    (tmp / "labels.json").write_text(
        json.dumps({"classes": classes, "labels": labels}, ensure_ascii=False)
    )


@paused_gc()
def export(
    catalog: Any,
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    format: str | None,
    overwrite: bool,
    set_: str | None,
    tags: bool,
    root: str | os.PathLike[str] | None,
    copy: bool,
) -> Path:
    """Write ``df`` (a collection's) to ``path`` in ``format`` (see the module)."""
    p = Path(path).expanduser().absolute()
    fmt = guess_format(p, format)
    if fmt in MANIFESTS:
        _check_target(p, fmt, overwrite)
        write_manifest(df, p, fmt)
        return p
    if copy and fmt in ("coco", "labelstudio"):
        raise InvalidArgument(
            f"copy=True applies to the formats that hold files (cvat, yolo, imagefolder, "
            f"fiftyone); a {fmt} file names the images relative to root=."
        )
    imgs = df[df["kind"] == "image"]
    if imgs.empty:
        raise AISearchError(
            f"Nothing to export as {fmt}: this collection holds no images (video frames are "
            "written as images by export_frames(directory))."
        )
    ids, paths = imgs["id"].tolist(), imgs["path"].tolist()
    if tags or (set_ is None and catalog.default_label_set() is None):
        set_, labels = None, _tag_labels(ids, imgs["tags"].tolist())
    else:
        set_ = set_ or catalog.default_label_set()
        if set_ not in catalog.label_sets():
            raise InvalidArgument(
                f"The project has no label set {set_!r}; its sets: "
                f"{', '.join(map(repr, catalog.label_sets())) or 'none'} (or export tags=True)."
            )
        labels = catalog.labels_frame(set_, ids)
    in_place = fmt == "imagefolder" and not copy
    if in_place:
        root = p
    else:
        _check_target(p, fmt, overwrite)
    base, names = relative_names(paths, root)
    job = Job(
        ids, paths, names, image_sizes(catalog, ids, paths), labels, imgs["tags"].tolist(), set_
    )
    write(job, p, fmt, copy, base)
    return p / ("metadata.jsonl" if job.has_boxes else "metadata.csv") if in_place else p


def _tag_labels(ids: list[str], tags: list[list[str]]) -> pd.DataFrame:
    rows = [(pid, t) for pid, ts in zip(ids, tags, strict=True) for t in ts]
    df = pd.DataFrame(rows, columns=["id", "label"])
    for col in ("x", "y", "w", "h", "confidence"):
        df[col] = np.nan
    return df
