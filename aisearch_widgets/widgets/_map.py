"""The Map view's scatter plot: a jupyter-scatter ``Scatter`` (WebGL, lasso) built
from the map DataFrame (``id, x, y, cluster``), coloured by the current query's
score when there is one and by cluster otherwise. Points travel to the browser as
binary buffers (jupyter-scatter's ndarray serialisation), never as JSON lists.

A lasso selection is read back as point ids (``selected_ids``, or a callback with
``on_select``); ``select_ids`` highlights ids chosen elsewhere (the gallery).

>>> view = MapView(proj.map())                          # doctest: +SKIP
>>> view.color_by_score(proj.search("a red circle", limit=None))  # doctest: +SKIP
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
        self.ids: list[str] = df["id"].astype(str).tolist()
        self._row = {i: r for r, i in enumerate(self.ids)}
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
            scores = dict(zip(scores.ids, scores.scores, strict=True))
        s = pd.Series(scores, dtype=float)
        values = np.full(len(self.ids), np.nan, np.float32)
        rows = [self._row.get(str(i), -1) for i in s.index]
        ok = np.array(rows) >= 0 if rows else np.zeros(0, bool)
        values[np.array(rows)[ok]] = s.to_numpy()[ok]
        lo = float(np.nanmin(values)) if np.isfinite(values).any() else 0.0
        self._data["score"] = np.nan_to_num(values, nan=lo)
        self.scatter.data(self._data)
        self.scatter.color(by="score", map="viridis")
        return self

    def selected_ids(self) -> list[str]:
        """The ids of the points selected on the map (lasso or click), in map order."""
        sel = self.scatter.widget.selection  # None until a first selection
        rows = np.asarray(sel if sel is not None else [], dtype=np.int64).ravel()
        return [self.ids[r] for r in np.sort(rows) if 0 <= r < len(self.ids)]

    def select_ids(self, ids: Iterable[str]) -> MapView:
        """Highlight ``ids`` on the map (unknown ids are ignored)."""
        rows = [self._row[i] for i in map(str, ids) if i in self._row]
        self.scatter.selection(np.asarray(rows, dtype=np.uint32) if rows else None)
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
