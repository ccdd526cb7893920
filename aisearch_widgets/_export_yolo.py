"""The files of a YOLO detection export: ``images/`` (hard links of the images, copies
where the file system refuses a link) and ``labels/`` (one ``.txt`` per image, a line
``class cx cy w h`` per box, normalised to the image's size).

One label file per image is the format (a trainer finds ``labels/a/b.txt`` beside
``images/a/b.png``), so an export of 100k images creates 100k files: the kernel's work
of creating them is most of its time. This module keeps everything else off that
path: the texts of every file come from one formatting pass into one buffer, the
files are written from a few threads (creating a file releases the GIL) with plain
``os`` calls from precomputed path strings, and the image links are made while the
texts are being formatted.

The caller writes into a fresh temporary folder and removes it when this raises
(see ``_export_labels._staged``): every thread has stopped before an error leaves
:func:`write_files`, so nothing is written into that folder after it is gone.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd

from ._errors import AISearchError

#: Threads that create the files: the kernel serialises much of a file creation in
#: one folder, and the machines this runs on often have 2-4 cores.
THREADS = 4
#: Files per task: small enough that a failure stops the others soon and the
#: threads share the work evenly, large enough that the pool's bookkeeping is noise.
SLICE = 2048

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def label_stems(names: Sequence[str]) -> list[str]:
    """Each image's label file name without ``.txt`` (its name less the extension);
    two images that would share one (``a.png``, ``a.jpg``) are refused: one would
    carry the other's boxes."""
    stems = [n[: len(n) - len(os.path.splitext(n)[1])] for n in names]
    if len(set(stems)) < len(stems):
        seen: dict[str, str] = {}
        for stem, name in zip(stems, names, strict=True):
            if stem in seen:
                raise AISearchError(
                    f"{seen[stem]} and {name} would share the YOLO label file {stem}.txt; "
                    "export them in two collections or rename one."
                )
            seen[stem] = name
    return stems


def yolo_texts(
    ids: Sequence[str],
    sizes: Sequence[tuple[int, int]],
    labels: pd.DataFrame,
    classes: Sequence[str],
) -> tuple[bytes, np.ndarray]:
    """Every image's label file in one buffer: ``(data, bounds)``, image ``k``'s text
    being ``data[bounds[k]:bounds[k + 1]]``: a line ``class cx cy w h`` (normalised, 6
    decimals) per box of ``labels`` (id, label, x, y, w, h), in the order the boxes
    come; empty for an image without one. ``class`` is the label's place in
    ``classes``."""
    n = len(ids)
    xywh = labels[["x", "y", "w", "h"]].to_numpy(dtype=float)
    keep = ~np.isnan(xywh[:, 0])
    at = pd.Index(ids).get_indexer(labels["id"])[keep]
    cls = pd.Index(classes).get_indexer(labels["label"])[keep]
    if (at < 0).any() or (cls < 0).any():
        raise ValueError("a label of an image or class outside the export")
    order = np.argsort(at, kind="stable")  # grouped by image, boxes in their order
    at, cls, xywh = at[order], cls[order], xywh[keep][order]
    wh = np.asarray(sizes, dtype=float).reshape(-1, 2)[at]
    x, y, w, h = xywh.T
    rows = np.column_stack(
        (cls, (x + w / 2) / wh[:, 0], (y + h / 2) / wh[:, 1], w / wh[:, 0], h / wh[:, 1])
    )
    # One % over all the lines: the per-value formatting is the same as an f-string's,
    # without 200k string objects and their join.
    data = (("%d %.6f %.6f %.6f %.6f\n" * len(rows)) % tuple(rows.ravel().tolist())).encode()
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10) + 1
    last = np.cumsum(np.bincount(at, minlength=n))  # lines up to and with image k
    bounds = np.zeros(n + 1, dtype=np.int64)
    bounds[1:] = np.concatenate(([0], ends))[last]
    return data, bounds


def write_files(
    images: str,
    labels: str,
    srcs: Sequence[str],
    names: Sequence[str],
    stems: Sequence[str],
    texts: Callable[[], tuple[bytes, np.ndarray]],
) -> None:
    """Link (or copy) each ``srcs[k]`` to ``images/names[k]`` and write its label file
    ``labels/stems[k].txt`` (never over an existing file), the texts from ``texts()``,
    called while the images are being linked. The first error stops the other threads
    and is raised once every thread has stopped."""
    for d in {n.rpartition("/")[0] for n in names}:
        os.makedirs(os.path.join(images, d), exist_ok=True)
        os.makedirs(os.path.join(labels, d), exist_ok=True)
    n = len(srcs)
    failed = threading.Event()

    def run(fn: Callable[[int, int], None]) -> Callable[[int], None]:
        def task(lo: int) -> None:
            if failed.is_set():
                return
            try:
                fn(lo, min(lo + SLICE, n))
            except BaseException:
                failed.set()
                raise

        return task

    def link(lo: int, hi: int) -> None:
        for k in range(lo, hi):
            if failed.is_set():
                return
            link_or_copy(srcs[k], f"{images}/{names[k]}")

    def write(lo: int, hi: int) -> None:
        view = memoryview(data)
        for k in range(lo, hi):
            if failed.is_set():
                return
            # Plain os calls, no file object: the kernel's work and little else.
            fd = os.open(f"{labels}/{stems[k]}.txt", _FLAGS, 0o666)
            try:
                a, b = int(bounds[k]), int(bounds[k + 1])
                if b > a:
                    os.write(fd, view[a:b])
            finally:
                os.close(fd)

    futures: list[Future[None]] = []
    with ThreadPoolExecutor(THREADS) as pool:
        try:
            futures += [pool.submit(run(link), lo) for lo in range(0, n, SLICE)]
            data, bounds = texts()
            futures += [pool.submit(run(write), lo) for lo in range(0, n, SLICE)]
        except BaseException:
            failed.set()
            raise
    for f in futures:  # every thread has stopped: the first error, if any
        f.result()


def link_or_copy(src: str, dst: str) -> None:
    """A hard link where the filesystem allows one (the bytes are shared, nothing is
    written), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
