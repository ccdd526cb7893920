"""Labels in the gallery, mixed into :class:`SearchPanel`: the labels of one label set
(``Project.labels(set=)``; default: ``ground_truth`` or the only set) as chips on the
cards, a label filter (the gallery shows only the results carrying one label; the
header says so), and the boxes of an image for the preview, in pixels of the
original image (the front end scales them to the size it draws).

A page's labels are read in one catalog query (never one per card); the filter's
counts in one query over the results shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ..collection import Collection

_LABEL_CHARS = 200


def label_names(frame: pd.DataFrame) -> dict[str, list[str]]:
    """Each id's distinct labels, in the order they were written (``labels_frame``)."""
    out: dict[str, list[str]] = {}
    for i, label in zip(frame["id"], frame["label"], strict=True):
        names = out.setdefault(i, [])
        if label not in names:
            names.append(label)
    return out


def boxes_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The boxes of ``frame`` (one image's labels): ``{label, x, y, w, h,
    confidence}`` in pixels of the original image; labels without a box are left
    out."""
    rows = frame.dropna(subset=["x", "y", "w", "h"])
    return [
        {
            "label": str(r.label),
            "x": float(r.x),
            "y": float(r.y),
            "w": float(r.w),
            "h": float(r.h),
            "confidence": None if pd.isna(r.confidence) else float(r.confidence),
        }
        for r in rows.itertuples(index=False)
    ]


class GalleryLabels:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``gallery``,
    ``_filter`` and ``_apply_filter``)."""

    def _label_set(self) -> str | None:
        """The label set the gallery shows (the one chosen, if it still exists, else
        the project's default); None when the project has no labels."""
        catalog = self.project.catalog  # type: ignore[attr-defined]
        sets = catalog.label_sets()
        gallery = self.gallery  # type: ignore[attr-defined]
        if list(gallery.label_sets) != list(sets):
            gallery.label_sets = list(sets)
        chosen = gallery.label_set
        return chosen if chosen in sets else catalog.default_label_set()

    def _labels_of(self, ids: list[str]) -> pd.DataFrame | None:
        set_ = self._label_set()
        if set_ is None or not ids:
            return None
        return self.project.catalog.labels_frame(set_, ids)  # type: ignore[attr-defined, no-any-return]

    def _page_labels(self, rows: pd.DataFrame) -> dict[str, list[str]]:
        """The labels of the images of a page: one query."""
        frame = self._labels_of(list(rows["id"])) if len(rows) else None
        return {} if frame is None else label_names(frame)

    def _narrow_to_label(self, view: Collection, df: pd.DataFrame) -> tuple[Any, Any]:
        """``view`` (and its rows ``df``) narrowed to the chosen label; the filter
        offers the labels of ``view``."""
        gallery = self.gallery  # type: ignore[attr-defined]
        frame = self._labels_of(list(df["id"]))
        names = {} if frame is None else label_names(frame)
        counts: dict[str, int] = {}
        for labels in names.values():
            for lab in labels:
                counts[lab] = counts.get(lab, 0) + 1
        gallery.labels = [
            {"label": k, "n": n} for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        label = gallery.label_filter
        if not label:
            return view, df
        kept = df[[label in names.get(i, ()) for i in df["id"]]]
        return view.select(list(kept["id"])), kept.reset_index(drop=True)

    def _on_label_filter(self, change: dict) -> None:
        """A label (or label set) chosen in the gallery: show the view again through it."""
        new = change["new"]
        if not isinstance(new, str) or len(new) > _LABEL_CHARS:
            setattr(self.gallery, change["name"], "")  # type: ignore[attr-defined]
            return
        if change["name"] == "label_set":
            self.gallery.label_filter = ""  # type: ignore[attr-defined]
        self._apply_filter(*self._filter)  # type: ignore[attr-defined]

    def _boxes(self, id: str) -> tuple[list[str], list[dict[str, Any]]]:
        """An image's labels and boxes (of the set shown), for the preview."""
        frame = self._labels_of([id])
        if frame is None or frame.empty:
            return [], []
        return label_names(frame).get(id, []), boxes_of(frame)
