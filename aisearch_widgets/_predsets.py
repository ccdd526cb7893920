"""Prediction sets stored by column: one catalog row per label set, not one per image.

A set of predictions (``classify``: the top class of every image, with its
probability) is a label set whose every image has exactly one classification label
with a ``confidence``, all written at once from one source. At a million images a
``labels`` row each costs seconds to write; the ``prediction_sets`` table keeps such a
set as arrays instead: the point ids (fixed-width ASCII, sorted), the class of each
image (an index into ``classes``) and its confidence (float32). Readers of the
``labels`` table (:class:`~._labels.LabelTables`) see these rows as if they were
``labels`` rows written at ``time``, right after the row ``after_seq``; any other
write to the set (a label added by hand, a deletion) goes to ``labels`` rows beside
them, and the arrays lose the images it clears. The functions here take the
connection inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

PREDICTION_SETS_TABLE = """
CREATE TABLE IF NOT EXISTS prediction_sets(
    label_set  TEXT PRIMARY KEY,
    n          INTEGER NOT NULL,
    classes    TEXT NOT NULL,
    id_width   INTEGER NOT NULL,
    ids        BLOB NOT NULL,
    label      BLOB NOT NULL,
    confidence BLOB NOT NULL,
    source     TEXT,
    time       REAL NOT NULL,
    after_seq  INTEGER NOT NULL
);
"""

_COLS = "label_set, n, classes, id_width, ids, label, confidence, source, time, after_seq"
_CODE = np.uint16  # a class index: up to 65,535 classes


@dataclass
class PredictionSet:
    """One stored set: ``ids`` sorted (``S<width>`` bytes), ``label`` the index of each
    image's class in ``classes``, ``confidence`` its probability."""

    name: str
    classes: list[str]
    ids: np.ndarray
    label: np.ndarray
    confidence: np.ndarray
    source: str | None
    time: float
    after_seq: int

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, ids: Sequence[str] | None) -> np.ndarray:
        """Indexes of the images of ``ids`` the set labels (all when None), in the
        set's order."""
        if ids is None:
            return np.arange(len(self.ids))
        want = encode(ids, strict=False)
        if want is None or not len(want) or not len(self.ids):
            return np.zeros(0, np.intp)
        if want.dtype.itemsize > self.ids.dtype.itemsize:  # longer ids are not here
            want = want[np.char.str_len(want) <= self.ids.dtype.itemsize]
        want = np.unique(want.astype(self.ids.dtype))
        at = np.searchsorted(self.ids, want)
        ok = at < len(self.ids)
        at = at[ok]
        return np.sort(at[self.ids[at] == want[ok]])

    def labels_of(self, pos: np.ndarray) -> np.ndarray:
        """The class names at ``pos`` (object array of str)."""
        return np.asarray(self.classes, dtype=object)[self.label[pos]]

    def id_list(self, pos: np.ndarray) -> list[str]:
        return decode(self.ids[pos])


def decode(ids: np.ndarray) -> list[str]:
    """The ``str`` ids of a fixed-width ASCII byte array: sliced from one decoded
    buffer when every id fills the width (point ids do), three times faster than
    numpy's own conversion at a million."""
    width = ids.dtype.itemsize
    buf = np.ascontiguousarray(ids).tobytes()
    if not len(ids) or b"\x00" in buf:
        return ids.astype(str).tolist()
    text = buf.decode("ascii")
    return [text[k : k + width] for k in range(0, len(text), width)]


def id_column(ids: np.ndarray) -> Any:
    """The ids of a fixed-width ASCII byte array as a DataFrame column: where pandas
    keeps strings in Arrow, an Arrow string array made from the bytes (no Python
    ``str`` per id); else :func:`decode`."""
    import pandas as pd

    dtype = pd.Series(["a"]).dtype
    buf = np.ascontiguousarray(ids).tobytes()
    if getattr(dtype, "storage", None) != "pyarrow" or not len(ids) or b"\x00" in buf:
        return decode(ids)
    import pyarrow as pa

    width = ids.dtype.itemsize
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(ids), [None, pa.py_buffer(buf)]
    )
    return pd.array(fixed.cast(pa.binary()).cast(pa.string()), dtype=dtype)


def encode(ids: Iterable[str] | np.ndarray, strict: bool = True) -> np.ndarray | None:
    """Point ids as a fixed-width ASCII byte array (such an array is taken as it is);
    None when one is not ASCII (such a set is written as ``labels`` rows).
    ``strict=False`` leaves those ids out."""
    if isinstance(ids, np.ndarray) and ids.dtype.kind == "S":
        return ids
    ids = list(ids)
    try:
        return np.array(ids, dtype="S") if ids else np.zeros(0, "S1")
    except UnicodeEncodeError:
        if strict:
            return None
        ascii_ = [i for i in ids if i.isascii()]
        return np.array(ascii_, dtype="S") if ascii_ else np.zeros(0, "S1")


def write(
    db: Any,
    name: str,
    ids: np.ndarray,
    classes: Sequence[str],
    label: np.ndarray,
    confidence: np.ndarray,
    source: str | None,
    now: float,
) -> None:
    """Store (or replace) the set ``name``: ``ids`` from :func:`encode`, one class
    index and confidence per id (an id given twice keeps its first row)."""
    label = np.asarray(label, _CODE)
    confidence = np.asarray(confidence, np.float32)
    if len(ids) and not (ids[1:] > ids[:-1]).all():  # the store hands them out sorted
        ids, first = np.unique(ids, return_index=True)
        label, confidence = label[first], confidence[first]
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'labels'").fetchone()
    db.execute(
        f"INSERT OR REPLACE INTO prediction_sets({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            name,
            len(ids),
            json.dumps(list(classes)),
            ids.dtype.itemsize,
            ids.tobytes(),
            label.tobytes(),
            confidence.tobytes(),
            source,
            now,
            row[0] if row else 0,
        ),
    )


def _decode(r: Sequence[Any]) -> PredictionSet:
    return PredictionSet(
        r[0],
        json.loads(r[2]),
        np.frombuffer(r[4], dtype=f"S{r[3]}"),
        np.frombuffer(r[5], dtype=_CODE),
        np.frombuffer(r[6], dtype=np.float32),
        r[7],
        r[8],
        r[9],
    )


def _exists(db: Any) -> bool:
    """False for a catalog of an older version opened read-only (not migrated)."""
    return bool(
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'prediction_sets'"
        ).fetchone()
    )


def read(
    db: Any, name: str | None = None, cache: dict[str, Any] | None = None
) -> list[PredictionSet]:
    """The stored sets (the one named, when given), in the order they were written.
    ``cache`` (set name -> what was read) spares reading the arrays again while a
    set's ``time`` and size are the same (any write changes one of them)."""
    if not _exists(db):
        return []
    heads = db.execute(
        "SELECT label_set, time, n FROM prediction_sets"
        + (" WHERE label_set = ?" if name is not None else "")
        + " ORDER BY after_seq, time",
        () if name is None else (name,),
    ).fetchall()
    out = []
    for set_name, at, n in heads:
        hit = None if cache is None else cache.get(set_name)
        if hit is None or hit[0] != (at, n):
            row = db.execute(
                f"SELECT {_COLS} FROM prediction_sets WHERE label_set = ?", (set_name,)
            ).fetchone()
            if row is None:  # dropped by another connection since the list was read
                continue
            hit = ((at, n), _decode(row))
            if cache is not None:
                cache[set_name] = hit
        out.append(hit[1])
    return out


def counts(db: Any) -> dict[str, int]:
    if not _exists(db):
        return {}
    return dict(db.execute("SELECT label_set, n FROM prediction_sets").fetchall())


def drop(db: Any, name: str) -> int:
    """Forget the set; returns the number of images it labelled."""
    row = db.execute("SELECT n FROM prediction_sets WHERE label_set = ?", (name,)).fetchone()
    if row is None:
        return 0
    db.execute("DELETE FROM prediction_sets WHERE label_set = ?", (name,))
    return int(row[0])


def drop_ids(db: Any, ids: Sequence[str], name: str | None = None) -> int:
    """Take the images ``ids`` out of the stored sets (of ``name`` only, when given);
    returns how many labels went."""
    if not ids:
        return 0
    removed = 0
    for ps in read(db, name):
        pos = ps.positions(ids)
        if not len(pos):
            continue
        removed += len(pos)
        keep = np.ones(len(ps), bool)
        keep[pos] = False
        if not keep.any():
            db.execute("DELETE FROM prediction_sets WHERE label_set = ?", (ps.name,))
            continue
        db.execute(
            "UPDATE prediction_sets SET n = ?, ids = ?, label = ?, confidence = ? "
            "WHERE label_set = ?",
            (
                int(keep.sum()),
                ps.ids[keep].tobytes(),
                ps.label[keep].tobytes(),
                ps.confidence[keep].tobytes(),
                ps.name,
            ),
        )
    return removed
