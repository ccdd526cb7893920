"""The Map view's scatter plot: a jupyter-scatter ``Scatter`` (WebGL, lasso) built
from the map DataFrame (``id, x, y, cluster``), coloured by the current query's
score when there is one and by cluster otherwise. Points travel to the browser as
binary buffers (jupyter-scatter's ndarray serialisation), never as JSON lists.

A lasso selection is read back as point ids (``selected_ids``, or a callback with
``on_select``); ``select_ids`` highlights ids chosen elsewhere (the gallery).

>>> view = MapView(proj.map())                          # doctest: +SKIP
>>> view.color_by_score(proj.search("a red circle", limit=5000))  # doctest: +SKIP
>>> view.widget                                        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..explore.knn import require


class MapView:
    """A scatter plot of a map DataFrame with lasso selection as ids."""

    def __init__(self, map_df: pd.DataFrame, height: int = 420) -> None:
        jscatter = require("jscatter", "The map view")
        missing = {"id", "x", "y"} - set(map_df.columns)
        if missing:
            raise ValueError(f"map DataFrame lacks the column(s) {sorted(missing)}.")
        df = map_df.reset_index(drop=True)
        # Ids are looked up as an index (vectorised): a dict or a per-id loop costs
        # ~0.4 s per recolour at 100k points.
        col = df["id"] if pd.api.types.is_string_dtype(df["id"]) else df["id"].astype(str)
        ids = col.to_numpy(dtype=object)
        self._index = pd.Index(ids)
        if not self._index.is_unique:
            twice = self._index[self._index.duplicated()].unique()[:5].tolist()
            raise ValueError(f"map DataFrame repeats the id(s) {twice}: one point per id.")
        self.ids: list[str] = ids.tolist()
        data = pd.DataFrame(
            {
                "x": df["x"].to_numpy(np.float32),
                "y": df["y"].to_numpy(np.float32),
                "cluster": pd.Categorical(
                    df["cluster"].astype(int) if "cluster" in df else np.zeros(len(df), int)
                ),
                "score": np.zeros(len(df), np.float32),
            }
        )
        self._data = data
        self.scatter = jscatter.Scatter(
            x="x", y="y", data=data, data_use_index=False, height=height, axes=False
        )
        self.scatter.color(by="cluster")
        self.scatter.size(default=3)
        self._callbacks: list[Callable[[list[str]], None]] = []

    @property
    def widget(self) -> Any:
        """The ipywidget to display."""
        return self.scatter.widget

    def color_by_score(self, scores: Mapping[str, float] | Any | None) -> MapView:
        """Colour by a query's score (``{id: score}``, a Series indexed by id, or a
        Collection); ids without a score are drawn at the lowest colour. None goes
        back to colouring by cluster."""
        if scores is None:
            self.scatter.color(by="cluster")
            return self
        if hasattr(scores, "ids") and hasattr(scores, "scores"):
            keys, vals = pd.Index(scores.ids), np.asarray(scores.scores, dtype=float)
        else:
            s = pd.Series(scores, dtype=float)
            keys, vals = s.index, s.to_numpy()
        rows = self._index.get_indexer(keys if keys.inferred_type == "string" else keys.astype(str))
        ok = (rows >= 0) & np.isfinite(vals)
        values = np.full(len(self.ids), np.nan, np.float32)
        values[rows[ok]] = vals[ok]
        scored = values[rows[ok]]  # float32, as drawn: the range must be theirs
        lo = float(scored.min()) if len(scored) else 0.0
        hi = float(scored.max()) if len(scored) else 1.0
        self._data["score"] = np.nan_to_num(values, nan=lo)
        self.scatter.data(self._data)
        # The range of this query's scores: jupyter-scatter's default norm keeps the
        # range it saw first, which would colour every later query on that scale.
        self.scatter.color(by="score", map="viridis", norm=(lo, hi if hi > lo else lo + 1e-6))
        return self

    def selected_ids(self) -> list[str]:
        """The ids of the points selected on the map (lasso or click), in map order."""
        sel = self.scatter.widget.selection  # None until a first selection
        rows = np.asarray(sel if sel is not None else [], dtype=np.int64).ravel()
        return [self.ids[r] for r in np.sort(rows) if 0 <= r < len(self.ids)]

    def select_ids(self, ids: Iterable[str]) -> MapView:
        """Highlight ``ids`` on the map (unknown ids are ignored)."""
        rows = self._index.get_indexer(pd.Index([str(i) for i in ids], dtype=object))
        rows = rows[rows >= 0]
        self.scatter.selection(rows.astype(np.uint32) if len(rows) else None)
        return self

    def on_select(self, callback: Callable[[list[str]], None]) -> None:
        """Call ``callback(ids)`` whenever the selection changes in the browser."""
        if not self._callbacks:
            self.widget.observe(lambda _change: self._fire(), names=["selection"])
        self._callbacks.append(callback)

    def _fire(self) -> None:
        ids = self.selected_ids()
        for cb in self._callbacks:
            cb(ids)
