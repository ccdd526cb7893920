"""The catalog's ``labels`` table: classification labels and object boxes per image,
in named sets side by side (``"ground_truth"``, ``"model-v3"``…).

A row is one label of one image: ``label``; a box ``x, y, w, h`` in pixels of the
original image (NULL for a classification label); ``confidence`` for a prediction;
``source`` (where it came from: a file, a format), ``author`` and ``time``. Rows hang
on the image's id, as tags do: a move keeps them, the trash keeps them with the file,
a deletion forgets them. :class:`~.catalog.Catalog` has these methods (it owns the
connection, its lock and its transactions).

A prediction set (``classify``) is kept by column in ``prediction_sets``
(:mod:`._predsets`): the readers here show its images as ``labels`` rows of the set,
in the order they were written, and a write to the set (rows added, images cleared
or deleted) works on both.
"""

from __future__ import annotations

import contextlib
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from . import _predsets
from ._errors import InvalidArgument, show_value

DEFAULT_SET = "ground_truth"

LABELS_TABLE = """
CREATE TABLE IF NOT EXISTS labels(
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL,
    label_set  TEXT NOT NULL,
    label      TEXT NOT NULL,
    x          REAL,
    y          REAL,
    w          REAL,
    h          REAL,
    confidence REAL,
    source     TEXT,
    author     TEXT,
    time       REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS labels_id ON labels(id, label_set);
CREATE INDEX IF NOT EXISTS labels_set ON labels(label_set, label);
"""

# The columns of :meth:`LabelTables.labels_frame` (``set`` is ``label_set`` in SQL,
# where SET is a keyword).
COLUMNS = [
    "id",
    "path",
    "set",
    "label",
    "x",
    "y",
    "w",
    "h",
    "confidence",
    "source",
    "author",
    "time",
]
_SQL_COLS = "l.id, f.path, l.label_set, l.label, l.x, l.y, l.w, l.h, l.confidence, l.source, l.author, l.time"
_ROW_COLS = "id, label_set, label, x, y, w, h, confidence, source, author, time"

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS labels_id ON labels(id, label_set)",
    "CREATE INDEX IF NOT EXISTS labels_set ON labels(label_set, label)",
)
# A set replaced with at least this many rows, and at least as many as the table
# keeps of other sets, is written with the indexes dropped and built again after:
# one sort beats a million random B-tree inserts.
_BULK = 20_000

# Above this many ids, a set is read whole and filtered here rather than in chunks.
_MANY = 5000


@contextlib.contextmanager
def _bulk(db: Any, set_: str, n: int) -> Iterator[None]:
    """Inside a transaction: writing ``n`` rows of ``set_`` with the indexes dropped and
    built again after, when ``n`` is at least :data:`_BULK` and the other sets hold no
    more rows than that (else as is)."""
    bulk = (
        n >= _BULK
        and db.execute("SELECT COUNT(*) FROM labels WHERE label_set <> ?", (set_,)).fetchone()[0]
        <= n
    )
    if bulk:
        db.execute("DROP INDEX IF EXISTS labels_id")
        db.execute("DROP INDEX IF EXISTS labels_set")
    yield
    if bulk:
        for sql in _INDEXES:
            db.execute(sql)


def check_name(value: object, what: str) -> str:
    """A label or set name: a non-empty string of at most 200 characters without
    control characters, surrounding whitespace stripped."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidArgument(
            f"Invalid {what} {show_value(value)}: a non-empty string of at most 200 characters."
        )
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise InvalidArgument(f"Invalid {what} {show_value(value)}: no control characters.")
    return unicodedata.normalize("NFC", value.strip())


class LabelTables:
    """Label rows over the catalog's connection (Catalog gives ``transaction()``,
    ``query()`` and ``query_in()``)."""

    def kept_sets(self, set_: str | None = None) -> list[_predsets.PredictionSet]:
        """The prediction sets kept by column (the one named, when given)."""
        with self._lock:  # type: ignore[attr-defined]
            cache = self.__dict__.setdefault("_kept_cache", {})
            return _predsets.read(self._db, set_, cache)  # type: ignore[attr-defined]

    def put_labels(
        self, set_: str, rows: Iterable[Sequence[Any]], *, clear: Iterable[str] = ()
    ) -> int:
        """Add label rows ``(id, label, x, y, w, h, confidence, source, author)`` to the
        set ``set_``; the labels the set had for the images ``clear`` go first (in the
        same transaction). Returns the number of rows written."""
        now = time.time()
        clear = list(clear)
        # SQLite stores a NaN as NULL: no box, no confidence.
        out = [(r[0], set_, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], now) for r in rows]
        with self.transaction() as db:  # type: ignore[attr-defined]
            # A new set has nothing to clear: skip a lookup per image.
            if db.execute("SELECT 1 FROM labels WHERE label_set = ? LIMIT 1", (set_,)).fetchone():
                db.executemany(
                    "DELETE FROM labels WHERE id = ? AND label_set = ?", [(i, set_) for i in clear]
                )
            _predsets.drop_ids(db, clear, set_)
            with _bulk(db, set_, len(out)):
                db.executemany(
                    f"INSERT INTO labels({_ROW_COLS}) VALUES ({','.join('?' * 11)})", out
                )
        return len(out)

    def replace_label_set(
        self,
        set_: str,
        ids: Sequence[str],
        labels: Sequence[str],
        confidence: Sequence[float],
        source: str,
    ) -> int:
        """Replace every label of the set ``set_`` by one classification label per image
        (``ids[k]``, ``labels[k]``, ``confidence[k]``, from ``source``), in one
        transaction: what a prediction set is. Returns the number of rows written."""
        if not len(ids) == len(labels) == len(confidence):
            raise InvalidArgument("ids, labels and confidence must have the same length.")
        now = time.time()
        rows = zip(ids, repeat(set_), labels, confidence, repeat(source), repeat(now))
        insert = (
            "INSERT INTO labels(id, label_set, label, confidence, source, time) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        )
        with self.transaction() as db, _bulk(db, set_, len(ids)):  # type: ignore[attr-defined]
            db.execute("DELETE FROM labels WHERE label_set = ?", (set_,))
            _predsets.drop(db, set_)
            db.executemany(insert, rows)
        return len(ids)

    def replace_prediction_set(
        self,
        set_: str,
        ids: Sequence[str] | np.ndarray,
        classes: Sequence[str],
        label: np.ndarray,
        confidence: np.ndarray,
        source: str,
    ) -> int:
        """Replace every label of the set ``set_`` by one classification label per
        image: ``ids[k]`` is of class ``classes[label[k]]`` with ``confidence[k]``.
        Kept by column (:mod:`._predsets`), one row for the whole set; as
        :meth:`replace_label_set` does when an id is not ASCII. Returns the number of
        labels written."""
        if not len(ids) == len(label) == len(confidence):
            raise InvalidArgument("ids, label and confidence must have the same length.")
        enc = _predsets.encode(ids)
        if enc is None or len(classes) > np.iinfo(np.uint16).max:
            names = np.asarray(list(classes), dtype=object)[np.asarray(label, np.intp)]
            conf = np.asarray(confidence, float).tolist()
            return self.replace_label_set(set_, ids, names.tolist(), conf, source)
        with self.transaction() as db:  # type: ignore[attr-defined]
            db.execute("DELETE FROM labels WHERE label_set = ?", (set_,))
            if len(ids):
                _predsets.write(db, set_, enc, classes, label, confidence, source, time.time())
            else:  # no image: no set (as replace_label_set leaves none)
                _predsets.drop(db, set_)
        return len(ids)

    def remove_labels(self, set_: str, ids: Sequence[str] | None = None) -> int:
        """Drop the set's labels (of ``ids`` only, when given). Returns rows removed."""
        with self.transaction() as db:  # type: ignore[attr-defined]
            if ids is None:
                gone = db.execute("DELETE FROM labels WHERE label_set = ?", (set_,)).rowcount
                return int(gone) + _predsets.drop(db, set_)
            ids = list(ids)
            cur = db.executemany(
                "DELETE FROM labels WHERE id = ? AND label_set = ?", [(i, set_) for i in ids]
            )
            return int(cur.rowcount) + _predsets.drop_ids(db, ids, set_)

    def label_sets(self) -> dict[str, int]:
        """Every label set with its number of labels."""
        out = dict(
            self.query(  # type: ignore[attr-defined]
                "SELECT label_set, COUNT(*) FROM labels GROUP BY label_set ORDER BY label_set"
            )
        )
        with self._lock:  # type: ignore[attr-defined]
            kept = _predsets.counts(self._db)  # type: ignore[attr-defined]
        for name, n in kept.items():
            out[name] = out.get(name, 0) + n
        return dict(sorted(out.items()))

    def default_label_set(self) -> str | None:
        """``ground_truth`` if it has labels, else the only set, else the first by name."""
        sets = self.label_sets()
        if not sets:
            return None
        return DEFAULT_SET if DEFAULT_SET in sets else next(iter(sets))

    def ids_with_label(self, labels: Sequence[str], set_: str) -> set[str]:
        marks = ",".join("?" * len(labels))
        out = {
            r[0]
            for r in self.query(  # type: ignore[attr-defined]
                f"SELECT DISTINCT id FROM labels WHERE label_set = ? AND label IN ({marks})",
                [set_, *labels],
            )
        }
        for ps in self.kept_sets(set_):
            codes = [k for k, c in enumerate(ps.classes) if c in set(labels)]
            out.update(ps.id_list(np.flatnonzero(np.isin(ps.label, codes))))
        return out

    def _paths(self, ids: Sequence[str]) -> list[str | None]:
        if len(ids) > _MANY:
            known = dict(self.query("SELECT id, path FROM files"))  # type: ignore[attr-defined]
        else:
            known = dict(
                self.query_in("SELECT id, path FROM files WHERE id IN ({marks})", ids)  # type: ignore[attr-defined]
            )
        return [known.get(i) for i in ids]

    def _kept_frame(self, ps: _predsets.PredictionSet, pos: np.ndarray) -> pd.DataFrame:
        """The images ``pos`` of a set kept by column, as :meth:`labels_frame` rows."""
        pid = ps.id_list(pos)
        nan = np.full(len(pos), np.nan)
        return pd.DataFrame(
            {
                "id": pid,
                "path": self._paths(pid),
                "set": ps.name,
                "label": ps.labels_of(pos),
                "x": nan,
                "y": nan,
                "w": nan,
                "h": nan,
                "confidence": ps.confidence[pos].astype(float),
                "source": ps.source,
                "author": None,
                "time": ps.time,
            },
            columns=COLUMNS,
        )

    def classification_rows(self, set_: str) -> list[tuple[str, str, float | None]]:
        """``(id, label, confidence)`` of the set's classification labels (no boxes),
        in the order they were written."""
        rows = self.query(  # type: ignore[attr-defined]
            "SELECT id, label, confidence, seq FROM labels "
            "WHERE label_set = ? AND x IS NULL ORDER BY seq",
            (set_,),
        )
        kept = self.kept_sets(set_)
        if not kept:
            return [r[:3] for r in rows]
        keyed: list[tuple[float, list[tuple[str, str, float | None]]]] = [
            (float(r[3]), [r[:3]]) for r in rows
        ]
        for ps in kept:
            pos = np.arange(len(ps))
            got = zip(
                ps.id_list(pos), ps.labels_of(pos).tolist(), ps.confidence.tolist(), strict=True
            )
            keyed.append((ps.after_seq + 0.5, list(got)))
        keyed.sort(key=lambda t: t[0])
        return [r for _, part in keyed for r in part]

    def labels_frame(
        self, set_: str | None = None, ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Labels as a DataFrame of :data:`COLUMNS` (of one set, of some images), in
        the order they were written. ``path`` is where the image is now (``None`` for
        an image no longer in the inventory)."""
        sql = f"SELECT {_SQL_COLS}, l.seq FROM labels l LEFT JOIN files f ON f.id = l.id"
        where = [] if set_ is None else [set_]
        cond = "" if set_ is None else " l.label_set = ?"
        if ids is None or len(ids) > _MANY:
            rows = self.query(  # type: ignore[attr-defined]
                sql + (f" WHERE{cond}" if cond else "") + " ORDER BY l.seq", where
            )
            if ids is not None:
                keep = set(ids)
                rows = [r for r in rows if r[0] in keep]
        else:
            rows = list(
                self.query_in(  # type: ignore[attr-defined]
                    sql + " WHERE l.id IN ({marks})" + (f" AND{cond}" if cond else ""), ids, where
                )
            )
            rows.sort(key=lambda r: r[-1])
        df = pd.DataFrame([r[:-1] for r in rows], columns=COLUMNS)
        kept = [(ps, ps.positions(ids)) for ps in self.kept_sets(set_)]
        kept = [(ps, pos) for ps, pos in kept if len(pos)]
        if kept:  # each set kept by column comes after the rows written before it
            keys = [np.array([r[-1] for r in rows], float)] if rows else []
            keys += [np.full(len(pos), ps.after_seq + 0.5) for ps, pos in kept]
            frames = [self._kept_frame(ps, pos) for ps, pos in kept]
            df = pd.concat([df, *frames] if rows else frames, ignore_index=True)
            if rows or len(kept) > 1:
                df = df.iloc[np.argsort(np.concatenate(keys), kind="stable")]
                df = df.reset_index(drop=True)
        for col in ("x", "y", "w", "h", "confidence"):
            df[col] = df[col].astype(float)
        df["time"] = pd.to_datetime(df["time"].astype(float), unit="s")
        return df

    def label_rows(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The label rows of these ids as they are (column -> value, without ``seq``):
        what the trash keeps of a file."""
        out = []
        for r in self.query_in(  # type: ignore[attr-defined]
            f"SELECT {_ROW_COLS} FROM labels WHERE id IN ({{marks}}) ORDER BY seq", ids
        ):
            out.append(dict(zip(_ROW_COLS.split(", "), r, strict=True)))
        for ps in self.kept_sets():
            pos = ps.positions(ids)
            for pid, label, conf in zip(
                ps.id_list(pos), ps.labels_of(pos), ps.confidence[pos].tolist(), strict=True
            ):
                box = dict.fromkeys("xywh")
                out.append(
                    {"id": pid, "label_set": ps.name, "label": label, **box, "confidence": conf}
                    | {"source": ps.source, "author": None, "time": ps.time}
                )
        return out


def put_label_rows(db: Any, rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows as :meth:`LabelTables.label_rows` gives them (a restore from the
    trash), inside the caller's transaction."""
    cols = _ROW_COLS.split(", ")
    db.executemany(
        f"INSERT INTO labels({_ROW_COLS}) VALUES ({','.join('?' * len(cols))})",
        [[r.get(c) for c in cols] for r in rows],
    )


def df_label_columns(catalog: Any, ids: Sequence[str]) -> dict[str, list[Any]]:
    """``label`` (and ``labels``, when an image has several) of these images in the
    default set (:meth:`LabelTables.default_label_set`), for ``Collection.df``: {}
    when the project has no labels. ``label`` is an image's classification label
    (the most confident, else the first), else the label of its first box."""
    set_ = catalog.default_label_set()
    if set_ is None:
        return {}
    got: dict[str, list[tuple[bool, float, str]]] = {}
    if len(ids) > _MANY:  # one pass over the set beats thousands of IN (...) chunks
        keep = set(ids)
        rows: Iterable[tuple] = (
            r
            for r in catalog.query(
                "SELECT id, label, x, confidence FROM labels WHERE label_set = ? ORDER BY seq",
                (set_,),
            )
            if r[0] in keep
        )
    else:
        rows = catalog.query_in(
            "SELECT id, label, x, confidence FROM labels WHERE id IN ({marks}) "
            "AND label_set = ? ORDER BY seq",
            ids,
            [set_],
        )
    for pid, label, x, conf in rows:
        got.setdefault(pid, []).append((x is not None, -(conf if conf is not None else 1.0), label))
    for ps in catalog.kept_sets(set_):  # a prediction set kept by column
        pos = ps.positions(None if len(ids) > _MANY else ids)
        for pid, label, conf in zip(
            ps.id_list(pos), ps.labels_of(pos).tolist(), ps.confidence[pos].tolist(), strict=True
        ):
            if len(ids) <= _MANY or pid in keep:
                got.setdefault(pid, []).append((False, -conf, label))
    label = [min(got[i], key=lambda t: t[:2])[2] if i in got else None for i in ids]
    out: dict[str, list[Any]] = {"label": label}
    several = [sorted({t[2] for t in got.get(i, [])}) for i in ids]
    if any(len(s) > 1 for s in several):
        out["labels"] = several
    return out
