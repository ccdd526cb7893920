"""Relevance feedback in the panel, mixed into :class:`SearchPanel`: 👍/👎 marks on
the cards (ids of the project only, checked against the catalog) and a Refine that
runs ``Collection.refine`` from the result shown with the panel's marks (the marks are
kept for the next round; a mark cleared in the panel is cleared in the next round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import AISearchError
from . import _guard
from ._protocol import Reply

if TYPE_CHECKING:
    from ..collection import Collection

#: The values of a mark the front end sends.
MARKS = ("up", "down", "none")
NEED_POSITIVE = "Mark at least one image 👍 to refine."


class Feedback:
    """The marks of the panel and the Refine request."""

    _positives: list[str]
    _negatives: list[str]

    def _marks_init(self) -> None:
        self._positives, self._negatives = [], []
        self._show_marks()

    def _show_marks(self) -> None:
        marks = {i: "up" for i in self._positives} | {i: "down" for i in self._negatives}
        self.gallery.marks = marks  # type: ignore[attr-defined]
        a = self.actions  # type: ignore[attr-defined]
        with a.hold_sync():
            a.n_up, a.n_down = len(self._positives), len(self._negatives)

    @property
    def marks(self) -> dict[str, list[str]]:
        """The 👍 and 👎 marks, in the order they were given."""
        return {"positives": list(self._positives), "negatives": list(self._negatives)}

    def clear_marks(self) -> None:
        self._marks_init()

    def _mark(self, id: Any, mark: Any) -> Reply:
        """Set (``up``, ``down``) or clear (``none``) the mark of one image."""
        if mark not in MARKS:
            raise AISearchError(f"mark must be one of {', '.join(MARKS)}")
        ids = self._project_ids([id])  # type: ignore[attr-defined]
        if len(ids) != 1:
            raise AISearchError(_guard.NOT_OURS)
        (i,) = ids
        self._positives = [p for p in self._positives if p != i]
        self._negatives = [n for n in self._negatives if n != i]
        if mark == "up":
            self._positives.append(i)
        elif mark == "down":
            self._negatives.append(i)
        self._show_marks()
        return Reply(self.marks)

    def refine(self) -> Collection | None:
        """Refine the result shown with the panel's marks, as the Refine button does."""
        return self._shown(self._refine)  # type: ignore[attr-defined]

    def _refine_call(self) -> Any:
        """The call Refine makes: ``Collection.refine`` from the result shown (its
        prompt, scope and limit kept) with exactly the panel's marks."""
        if not self._positives:
            raise AISearchError(NEED_POSITIVE)
        pos, neg = list(self._positives), list(self._negatives)
        res = self._result  # type: ignore[attr-defined]
        project = self.project  # type: ignore[attr-defined]
        if res is None:
            limit = self.controls.limit  # type: ignore[attr-defined]
            return lambda: project.refine(positives=pos, negatives=neg, limit=limit)
        from .._probes import continue_from

        kw = continue_from(res, [], []) | {"positives": pos, "negatives": neg}
        return lambda: project.refine(**kw)

    def _refine(self) -> Any:
        return self._run(self._refine_call())  # type: ignore[attr-defined]
