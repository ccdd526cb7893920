"""The Map view's scatter plot: a jupyter-scatter ``Scatter`` (WebGL, lasso) built
from the map DataFrame (``id, x, y, cluster``), coloured by the current query's
score when there is one and by cluster otherwise. Points travel to the browser as
binary buffers (jupyter-scatter's ndarray serialisation), never as JSON lists.

A lasso selection is read back as point ids (``selected_ids``, or a callback with
``on_select``); ``select_ids`` highlights ids chosen elsewhere (the gallery).

jupyter-scatter's own tooltip shows columns of URLs only; our thumbnails live in the
kernel. So with ``thumbnail`` given, the point under the cursor (jupyter-scatter's
``hovering``, synced to Python) is answered, once the cursor has rested
:data:`HOVER_DELAY_S`, by a message to the frame's companion widget carrying the
thumbnail (a JPEG buffer) and the image's name; ``static/map.js`` shows them in a
tooltip of its own beside the cursor (the name as text).

The map lives inside JupyterLab, so it keeps to itself: jupyter-scatter's style sheet
(Tailwind's page-wide reset: ``*``, ``html``, ``img, svg``…) is sent scoped to the
plot's own element (``@scope``), and the mouse wheel over a map that has not been
clicked scrolls the notebook instead of zooming (``static/map.js``). No NaN or
infinity reaches the browser: coordinates that are not finite are drawn at the map's
lower-left edge (``unplaced`` counts them) and scores that are not finite count as
unscored.

>>> view = MapView(proj.map())                          # doctest: +SKIP
>>> view.color_by_score(proj.search("a red circle", limit=5000))  # doctest: +SKIP
>>> view.widget                                        # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as W
import numpy as np
import pandas as pd
import traitlets

from ..explore.knn import require
from ._parts import STATIC

#: The plot's height in pixels: low enough that the gallery's first row stays in view
#: under the panel's controls on a laptop screen.
DEFAULT_HEIGHT = 320
SCOPE = "aisw-scatter"  # the class of the plot's element, the root of its styles
#: How long the cursor rests on a point before its thumbnail is sent (a sweep across
#: the map sends nothing for the points it passes).
HOVER_DELAY_S = 0.12
log = logging.getLogger(__name__)
_LAYER = re.compile(r"^@layer [\w-]+ \{$", re.M)


def scoped_css(css: str, scope: str = f".{SCOPE}") -> str:
    """``css`` (jupyter-scatter's bundle) with the body of every ``@layer`` block
    wrapped in ``@scope (scope)``: Tailwind's reset then styles the plot only, not
    JupyterLab's file browser and toolbars. Rules outside layers (``@property``
    registrations of ``--tw-*`` variables) affect nothing else and stay as they are."""
    out: list[str] = []
    pos = 0
    for m in _LAYER.finditer(css):
        if m.start() < pos:
            continue  # inside a block already wrapped
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(css)):
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            if depth == 0:
                break
        out += [css[pos : m.end()], f"\n@scope ({scope}) {{", css[m.end() : end], "}\n"]
        pos = end
    out.append(css[pos:])
    return "".join(out)


@functools.cache
def _scatter_class() -> type:
    """jupyter-scatter's widget class with its style sheet scoped (a subclass: its
    anywidget id differs, so the page-wide original is never loaded by our maps)."""
    from jscatter import widget as js_widget

    base = js_widget.JupyterScatter
    css = scoped_css(Path(js_widget.__file__).with_name("bundle.css").read_text("utf-8"))
    return type("ScopedScatter", (base,), {"_css": css, "__module__": __name__})


class _WheelGuard(anywidget.AnyWidget):
    """Invisible: installs the page's wheel guard for maps, reports the height the
    map's frame is dragged to and shows the hover thumbnails (``static/map.js``)."""

    _esm = STATIC / "map.js"
    _css = STATIC / "map.css"
    height = traitlets.Int(0).tag(sync=True)


def _finite(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``a`` with every non-finite value at the finite minimum, and how many there were."""
    bad = ~np.isfinite(a)
    if not bad.any():
        return a, 0
    lo = a[~bad].min() if (~bad).any() else 0.0
    return np.where(bad, lo, a).astype(a.dtype), int(bad.sum())


def _padded(a: np.ndarray, margin: float = 0.05) -> tuple[float, float]:
    """The range of ``a`` with a margin, so that the outermost points are drawn whole."""
    lo, hi = (float(a.min()), float(a.max())) if len(a) else (0.0, 1.0)
    pad = (hi - lo) * margin or 1.0
    return lo - pad, hi + pad


class MapView:
    """A scatter plot of a map DataFrame with lasso selection as ids."""

    def __init__(
        self,
        map_df: pd.DataFrame,
        height: int = DEFAULT_HEIGHT,
        *,
        labels: Mapping[str, str | Iterable[str]] | None = None,
        thumbnail: Callable[[str], tuple[bytes | None, str]] | None = None,
        scores: Mapping[str, float] | Any | None = None,
    ) -> None:
        """``labels``: texts per id (its tags, say); each cluster is then labelled on
        the map with its most common text, and clusters without any are not.
        ``thumbnail(id)``: a JPEG and a name to show while the cursor is on a point.
        ``scores``: coloured by these from the start (as :meth:`color_by_score`; the
        points then reach the browser once, not once per colouring)."""
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
        #: The method that drew the map ("umap" or "pca"), when the DataFrame says.
        self.method: str | None = map_df.attrs.get("method")
        #: The state of the vectors the map was drawn from, when the DataFrame says
        #: (``Project.vectors_state()`` then tells whether it is still current).
        self.stamp: str | None = map_df.attrs.get("stamp")
        x, bad_x = _finite(df["x"].to_numpy(np.float32))
        y, bad_y = _finite(df["y"].to_numpy(np.float32))
        #: Points whose coordinates were not finite (drawn at the lower-left edge).
        self.unplaced = int((~np.isfinite(df["x"].to_numpy(float))
                             | ~np.isfinite(df["y"].to_numpy(float))).sum()) if bad_x or bad_y else 0  # fmt: skip
        cluster = (
            df["cluster"].to_numpy(np.int64) if "cluster" in df else np.zeros(len(df), np.int64)
        )
        self._cluster = cluster
        data = pd.DataFrame(
            {"x": x, "y": y, "cluster": _cluster_column(cluster), "score": np.zeros(len(df), np.float32)}
        )  # fmt: skip
        named = _cluster_names(cluster, ids, labels)
        if named is not None:
            data["label"] = named
        self._data = data
        self._scored_by: Any = None  # what the colours show: None (clusters) or scores
        self.scatter = jscatter.Scatter(
            x="x",
            y="y",
            x_scale=_padded(x),
            y_scale=_padded(y),
            data=data,
            data_use_index=False,
            height=height,
            axes=False,
        )
        if scores is None:
            self.scatter.color(by="cluster", labeling={"variable": "cluster"})
        else:
            self.color_by_score(scores)  # before the widget exists: no message sent
        # Points as large as their number allows: 8 px for a few dozen, 2 px at 100k.
        self.scatter.size(default=int(np.clip(12 - 2 * np.log10(max(len(df), 1)), 2, 8)))
        self.scatter.legend(True, position="top-right", size="small")
        # Our own tooltip (a thumbnail) replaces jupyter-scatter's when there is one.
        self.scatter.tooltip(thumbnail is None, properties=["color"])
        if named is not None:
            self.scatter.label(by="label", exclude=[""])
        from jscatter import jscatter as js_mod

        real, js_mod.JupyterScatter = js_mod.JupyterScatter, _scatter_class()
        try:
            plot = self.scatter.widget
        finally:
            js_mod.JupyterScatter = real
        plot.add_class(SCOPE)
        plot.layout.width = "100%"
        guard = _WheelGuard()
        guard.add_class("aisw-map-guard")
        # The frame's handle (bottom right) resizes the map: its height comes back here.
        guard.observe(lambda ch: self.resize(ch["new"]), names=["height"])
        self._guard = guard
        self._frame = W.VBox([plot, guard], layout=W.Layout(width="100%"))
        self._frame.add_class("aisw-mapframe")
        self._callbacks: list[Callable[[list[str]], None]] = []
        self._thumbnail = thumbnail
        self._hover_timer: threading.Timer | None = None
        if thumbnail is not None:
            plot.observe(lambda ch: self._hovered(ch["new"]), names=["hovering"])

    @property
    def widget(self) -> Any:
        """The ipywidget to display (the plot and its wheel guard)."""
        return self._frame

    @property
    def plot(self) -> Any:
        """jupyter-scatter's widget (selection, points)."""
        return self.scatter.widget

    def resize(self, height: int) -> MapView:
        """Set the plot's height in pixels (at least 120); the frame's handle calls this."""
        if height >= 120 and height != self.scatter.height():
            self.scatter.height(int(height))
        return self

    def close(self) -> None:
        """Close the plot and its guard."""
        if self._hover_timer is not None:
            self._hover_timer.cancel()
        for w in (*self._frame.children, self._frame):
            w.close()

    def _hovered(self, row: int | None, delay: float = HOVER_DELAY_S) -> None:
        """The cursor moved to point ``row`` (None: off every point)."""
        if self._hover_timer is not None:
            self._hover_timer.cancel()
            self._hover_timer = None
        if row is None or not 0 <= row < len(self.ids):
            self._guard.send({"type": "hover", "id": None})
            return
        self._hover_timer = threading.Timer(delay, self.send_hover, (self.ids[row],))
        self._hover_timer.daemon = True
        self._hover_timer.start()

    def send_hover(self, id: str) -> None:
        """Send the thumbnail of ``id`` to the tooltip (what a rest on its point does)."""
        try:
            jpeg, name = self._thumbnail(id)  # type: ignore[misc]
        except Exception:  # no tooltip is no reason to fail: the map goes on
            log.warning("thumbnail of image %s for the map failed", id, exc_info=True)
            jpeg, name = None, ""
        if self._guard.comm is None:
            return  # closed while the thumbnail was made
        self._guard.send({"type": "hover", "id": id, "name": name}, [jpeg] if jpeg else [])

    def color_by_score(self, scores: Mapping[str, float] | Any | None) -> MapView:
        """Colour by a query's score (``{id: score}``, a Series indexed by id, or a
        Collection); ids without a score are drawn at the lowest colour. None goes
        back to colouring by cluster. The scores shown already (the same object) are
        not sent again."""
        if scores is self._scored_by:
            return self
        self._scored_by = scores
        if scores is None:
            self.scatter.color(by="cluster", labeling={"variable": "cluster"})
            return self
        if hasattr(scores, "ids") and hasattr(scores, "scores"):
            keys, vals = pd.Index(scores.ids), np.asarray(scores.scores, dtype=float)
        else:
            s = pd.Series(scores, dtype=float)
            keys, vals = s.index, s.to_numpy()
        rows = self._index.get_indexer(keys if keys.inferred_type == "string" else keys.astype(str))
        values = np.full(len(self.ids), np.nan, np.float32)
        with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: unscored
            ok = (rows >= 0) & np.isfinite(vals) & np.isfinite(vals.astype(np.float32))
        values[rows[ok]] = vals[ok]
        scored = values[rows[ok]]  # float32, as drawn: the range must be theirs
        lo = float(scored.min()) if len(scored) else 0.0
        hi = float(scored.max()) if len(scored) else 1.0
        self._data["score"] = np.nan_to_num(values, nan=lo)
        self.scatter.data(self._data)
        # The range of this query's scores: jupyter-scatter's default norm keeps the
        # range it saw first, which would colour every later query on that scale.
        norm = (lo, hi if hi > lo else lo + 1e-6)
        self.scatter.color(by="score", map="viridis", norm=norm, labeling={"variable": "score"})
        return self

    def set_labels(self, labels: Mapping[str, str | Iterable[str]] | None) -> MapView:
        """Label the clusters anew from ``labels`` (as given to the constructor); the
        plot is only updated when a cluster's label changed."""
        named = _cluster_names(self._cluster, self._index.to_numpy(), labels)
        had = self._data["label"].tolist() if "label" in self._data else None
        if named == had:
            return self
        if named is None:
            self._data = self._data.drop(columns="label")
            self.scatter.data(self._data)
            self.scatter.label(False)
        else:
            self._data["label"] = named
            self.scatter.data(self._data)
            self.scatter.label(by="label", exclude=[""])
        return self

    def selected_ids(self) -> list[str]:
        """The ids of the points selected on the map (lasso or click), in map order."""
        sel = self.plot.selection  # None until a first selection
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
            self.plot.observe(lambda _change: self._fire(), names=["selection"])
        self._callbacks.append(callback)

    def _fire(self) -> None:
        ids = self.selected_ids()
        for cb in self._callbacks:
            cb(ids)


def _cluster_column(cluster: np.ndarray) -> pd.Categorical:
    """``"cluster <c>"`` per point, built per distinct cluster (not per point); the
    categories in the order of their names, as a column of the names would have."""
    codes, uniques = pd.factorize(cluster)
    names = np.array([f"cluster {c}" for c in uniques.tolist()], dtype=object)
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return pd.Categorical.from_codes(rank[codes], names[order].tolist())


def preload() -> None:
    """Import the plotting library (~1.5 s here: jupyter-scatter brings matplotlib and
    scipy), so that the first Map toggle of a panel does not wait for it; nothing when
    the ``explore`` extra is not installed."""
    with contextlib.suppress(ImportError):
        _scatter_class()


def _cluster_names(
    cluster: np.ndarray, ids: np.ndarray, labels: Mapping[str, str | Iterable[str]] | None
) -> list[str] | None:
    """Per point, its cluster's most common label ("" where the cluster has none), or
    None when no point has a label."""
    rows = [
        (c, t)
        for c, i in zip(cluster.tolist(), ids.tolist(), strict=True)
        for t in ([labels.get(i) or ""] if isinstance(labels.get(i), str) else labels.get(i) or [])
        if t
    ] if labels else []  # fmt: skip
    if not rows:
        return None
    pairs = pd.DataFrame(rows, columns=["cluster", "label"])
    counts = pairs.groupby(["cluster", "label"]).size().reset_index(name="n")
    # The most common label per cluster; ties go to the first in alphabetical order.
    top = counts.sort_values(["cluster", "n", "label"], ascending=[True, False, True])
    best = top.drop_duplicates("cluster").set_index("cluster")["label"]
    return [str(best.get(c, "")) for c in cluster.tolist()]
