"""``proj.collections``: the saved collections of a project, by name (dict-like)."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping

import pandas as pd

from ._errors import AISearchError
from .collection import Collection, Host, collection_name


class SavedCollections(MutableMapping[str, Collection]):
    """``proj.collections``: saved collections by name (dict-like)."""

    def __init__(self, project: Host) -> None:
        self._project = project

    @staticmethod
    def _lookup(name: object) -> str | None:
        """The normal form of ``name``, or None if it cannot name a collection."""
        try:
            return collection_name(name)
        except AISearchError:
            return None

    def __getitem__(self, name: str) -> Collection:
        key = self._lookup(name)
        got = None if key is None else self._project.catalog.load_collection(key)
        if got is None:
            names = self._project.catalog.collection_names()
            raise KeyError(
                f"No saved collection {name!r}"
                + (f"; saved: {', '.join(map(repr, names))}" if names else "")
            )
        name = key  # type: ignore[assignment]
        info, created, rows = got
        items = pd.DataFrame(
            [{"id": i, "score": s, **(json.loads(e) if e else {})} for i, s, e in rows],
            columns=None,
        )
        if items.empty:
            items = pd.DataFrame({"id": pd.Series(dtype=str), "score": pd.Series(dtype=float)})
        return Collection(
            self._project,
            items,
            name=name,
            query=info.get("query"),
            created_at=created,
            info=info.get("info"),
        )

    def __setitem__(self, name: str, col: Collection) -> None:
        col.save(name, overwrite=True)

    def __delitem__(self, name: str) -> None:
        key = self._lookup(name)
        if key is None or not self._project.catalog.delete_collection(key):
            raise KeyError(f"No saved collection {name!r}")

    def __iter__(self) -> Iterator[str]:
        return iter(self._project.catalog.collection_names())

    def __len__(self) -> int:
        return len(self._project.catalog.collection_names())

    def __contains__(self, name: object) -> bool:
        key = self._lookup(name)
        return key is not None and key in self._project.catalog.collection_names()

    def rename(self, old: str, new: str) -> None:
        """Give a saved collection another name (both normalised like ``save``)."""
        new = collection_name(new)
        key = self._lookup(old)
        if key is None or key not in self:
            raise KeyError(f"No saved collection {old!r}")
        if new == key:
            return
        if new in self:
            raise AISearchError(f"A collection named {new!r} already exists.")
        self._project.catalog.rename_collection(key, new)

    @property
    def df(self) -> pd.DataFrame:
        """One row per saved collection: name, size, query, created_at."""
        sizes = self._project.catalog.collection_sizes()
        rows = []
        for n in self:
            got = self._project.catalog.load_collection(n)
            q = got[0].get("query", {}) if got else {}
            rows.append(
                {
                    "name": n,
                    "size": sizes.get(n, 0),
                    "query": q.get("text") or q.get("type"),
                    "created_at": pd.Timestamp(got[1], unit="s") if got else None,
                }
            )
        return pd.DataFrame(rows, columns=["name", "size", "query", "created_at"])

    def __repr__(self) -> str:
        return f"<SavedCollections {list(self)}>"
