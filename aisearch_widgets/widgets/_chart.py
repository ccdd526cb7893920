"""The score chart and its one threshold, mixed into :class:`SearchPanel`.

One number filters the gallery: the threshold. The chart (``ScoreChart``, drawn by
``chart.js``) shows it as a line to drag, the box next to it shows it to 3 decimals
(Enter applies), and the shaded part of the chart is what the gallery shows (the
side of the threshold, or a brushed range whose left end is the threshold). The
suggested cut (:meth:`Collection.suggest_threshold`) is drawn and labelled.

Only results whose scores are a query's (prompt, similar, refine) get a chart: a
diverse sample, outliers or a map selection has none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._protocol import MessageKind, ScoreFilter

if TYPE_CHECKING:
    from ..collection import Collection
    from ._parts import ScoreChart

#: Result types whose scores are a query's similarity: they get a score chart.
SCORED_TYPES = ("prompt", "similar", "refine")
NO_CLEAR_CUT = "no clear cut"


def has_query_scores(res: Collection | None) -> bool:
    """Whether ``res`` is a prompt/similar/refine result with finite scores."""
    if res is None or not len(res) or res.query.get("type") not in SCORED_TYPES:
        return False
    return bool(np.isfinite(res.scores).any())


class ScoreFilters:
    """Mixin of :class:`SearchPanel` (which provides ``chart``, ``_result``,
    ``_filter``, ``_apply_filter`` and ``_message``)."""

    chart: ScoreChart
    bins: int
    _result: Collection | None
    _suggested: float | None = None

    # -- public API -------------------------------------------------------------------
    @property
    def score_range(self) -> tuple[float, float] | None:
        """The score range the gallery is filtered to, or None for the full range."""
        kind, lo, hi = self._filter  # type: ignore[attr-defined]
        if kind == ScoreFilter.ALL or self._result is None:
            return None
        s = self._result.scores
        s = s[np.isfinite(s)]
        smin, smax = (float(s.min()), float(s.max())) if len(s) else (0.0, 0.0)
        return (lo if lo is not None else smin, hi if hi is not None else smax)

    @score_range.setter
    def score_range(self, value: tuple[float, float] | None) -> None:
        if value is None:
            self.full_range()
        else:
            lo, hi = sorted(float(v) for v in value)
            self._apply_filter(ScoreFilter.BETWEEN, lo, hi)  # type: ignore[attr-defined]

    @property
    def threshold(self) -> float:
        """The threshold: the line on the chart and the number in its box. Setting it
        re-filters the gallery when it shows one side of the threshold."""
        return float(self.chart.threshold)

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.chart.threshold = float(value)
        kind = self._filter[0]  # type: ignore[attr-defined]
        if kind == ScoreFilter.ABOVE:
            self.above()
        elif kind == ScoreFilter.BELOW:
            self.below()

    def above(self, threshold: float | None = None) -> None:
        """Show only results scoring at or above the threshold."""
        if threshold is not None:
            self.chart.threshold = float(threshold)
        self._apply_filter(ScoreFilter.ABOVE, self.threshold, None)  # type: ignore

    def below(self, threshold: float | None = None) -> None:
        """Show only results scoring below the threshold (the edge cases)."""
        if threshold is not None:
            self.chart.threshold = float(threshold)
        self._apply_filter(ScoreFilter.BELOW, None, self.threshold)  # type: ignore

    def full_range(self) -> None:
        """No score filter: the gallery shows the whole result."""
        self._apply_filter(ScoreFilter.ALL, None, None)  # type: ignore[attr-defined]

    @property
    def suggested_threshold(self) -> float | None:
        """The result's :meth:`Collection.suggest_threshold` (None: no clear cut)."""
        return self._suggested

    def above_suggested(self) -> None:
        """Show only results at or above the suggested threshold."""
        if self._suggested is None:
            self._message(  # type: ignore[attr-defined]
                "These scores show no clear cut: choose a threshold yourself.",
                MessageKind.INFO,
                where=self.chart,
            )
            return
        self.above(self._suggested)

    # -- requests from the chart ------------------------------------------------------
    def _set_threshold(self, side: str, value: float) -> None:
        (self.above if side == ScoreFilter.ABOVE else self.below)(value)

    def _set_range(self, lo: float, hi: float) -> None:
        self.score_range = (lo, hi)

    # -- drawing ----------------------------------------------------------------------
    def _chart_for(self, res: Collection | None, keep: float | None) -> None:
        """Draw ``res``'s histogram (or nothing: no query scores) and place the
        threshold: ``keep`` (the tab's own), else the suggested cut, else the one
        shown before when it lies within the scores, else the lowest score."""
        scored = has_query_scores(res)
        t = res.suggest_threshold() if scored and res is not None else None
        self._suggested = t
        c = self.chart
        with c.hold_sync():
            if not scored or res is None:
                c.counts, c.edges, c.suggested = [], [], None
                return
            counts, edges = res.histogram(bins=self.bins)
            s = res.scores[np.isfinite(res.scores)]
            lo, hi = float(s.min()), float(s.max())
            value = keep if keep is not None and np.isfinite(keep) else t
            if value is None:
                value = c.threshold if lo <= c.threshold <= hi else round(lo, 3)
            c.counts = [int(n) for n in counts]
            c.edges = [float(e) for e in edges]
            c.suggested = t
            c.threshold = float(value)

    def _show_filter(self, kind: str, rng: tuple[float, float] | None) -> None:
        """The chart shows the filter applied: its side or range, and the threshold
        at the range's edge (the box, the line and the shading are one value)."""
        c = self.chart
        with c.hold_sync():
            c.filter = str(kind)
            lo, hi = rng if rng is not None else (None, None)
            if lo is not None and not np.isfinite(lo):
                lo = None
            if hi is not None and not np.isfinite(hi):
                hi = None
            c.lo, c.hi = lo, hi
            edge: Any = hi if kind == ScoreFilter.BELOW else lo
            if kind != ScoreFilter.ALL and edge is not None:
                c.threshold = float(edge)
