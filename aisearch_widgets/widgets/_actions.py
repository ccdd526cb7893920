"""The "With N selected ▾" menu, mixed into :class:`SearchPanel`: every action acts
on the selection, or on every image shown when nothing is selected, and on exactly
the number the menu showed (the request carries it; a different number now means
the view changed, and nothing is done). Selected images a score filter hides are
counted openly ("60 selected (44 hidden)"), acted on as part of the selection, or
dropped from it with one click.

Each action is one call of the public API on a Collection (``save``, ``tag``,
``untag``, ``copy_to``, ``move_to``, ``delete`` into the project's trash,
``export``); a delete can be undone from the panel (``project.trash...restore()``).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from .._errors import AISearchError
from ..collection import Collection
from ._results import describe_report

log = logging.getLogger(__name__)

#: "Export as ▾": format -> what the menu calls it.
EXPORT_FORMATS = {
    "coco": "COCO",
    "yolo": "YOLO",
    "cvat": "CVAT",
    "labelstudio": "Label Studio",
    "imagefolder": "Hugging Face imagefolder",
    "fiftyone": "FiftyOne",
    "csv": "CSV",
    "jsonl": "JSONL",
}
_COPYING = ("yolo", "imagefolder", "fiftyone")  # these formats hold the image files
_TRASH_VERBS = {"trashed": "Moved {n} to trash", "deleted": "Deleted {n} permanently"}
_RESTORE_VERBS = {"restored": "Restored {n}", "renamed": "{n} restored under a new name"}


class SelectionActions:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``gallery``,
    ``actions``, ``_result``, ``_view_df``, ``_message`` …)."""

    _result: Collection | None
    _view_df: pd.DataFrame
    _undo: tuple[list[str], Any] | None

    # -- what is acted on --------------------------------------------------------------
    def _acted_on(self, count: int) -> Collection:
        """The selection (shown or hidden by the filter), or every image shown when
        nothing is selected; refused unless it is ``count`` images, the number the
        menu showed."""
        res = self._result
        if res is None:
            raise AISearchError("Nothing is shown yet: run a search or open a collection first.")
        sel = list(self.gallery.selected)  # type: ignore[attr-defined]
        target = res.select(sel if sel else list(self._view_df["id"]))
        if len(target) != count:
            what = f"the {len(sel)} selected" if sel else f"the {len(target)} shown"
            raise AISearchError(
                f"Nothing was done: the menu said {count} images, but it would act on {what} "
                "now (the selection or the filter changed meanwhile). Check the menu and "
                "choose the action again."
            )
        if not len(target):
            raise AISearchError("No images to act on: nothing is shown or selected.")
        return target

    def _done(self, text: str) -> None:
        self._message(text, where=self.actions)  # type: ignore[attr-defined]

    # -- the menu's actions ------------------------------------------------------------
    def _save(self, name: str, count: int) -> None:
        target = self._acted_on(count)
        target.save(name)
        self._refresh_collections()  # type: ignore[attr-defined]
        self._done(f"Saved {len(target)} images as {name!r}.")

    def _tag(self, tag: str, count: int, remove: bool = False) -> None:
        target = self._acted_on(count)
        (target.untag if remove else target.tag)(tag)
        self._tags_changed()  # type: ignore[attr-defined]
        n = len(target)
        self._done(
            f"Removed the tag {tag!r} from {n} images." if remove else f"Tagged {n} images {tag!r}."
        )

    def _untag(self, tag: str, count: int) -> None:
        self._tag(tag, count, remove=True)

    def _copy(self, dir: str, count: int) -> None:
        target = self._acted_on(count)
        folder = self._allowed_target(dir, folder=True)  # type: ignore[attr-defined]
        rep = target.copy_to(folder, on_conflict="skip")
        self._file_report(rep, {"copied": f"Copied {{n}} to {folder}"})

    def _move(self, dir: str, count: int) -> None:
        target = self._acted_on(count)
        folder = self._allowed_target(dir, folder=True)  # type: ignore[attr-defined]
        rep = target.move_to(folder, on_conflict="skip")
        self._refresh_shown()  # the paths changed
        self._file_report(rep, {"moved": f"Moved {{n}} to {folder}"})

    def _export(self, path: str, count: int) -> None:
        target = self._acted_on(count)
        p = target.export(self._allowed_target(path, folder=False))  # type: ignore[attr-defined]
        self._done(f"Exported {len(target)} rows to {p}.")

    def _export_as(self, path: str, format: str, count: int) -> None:
        """ "Export as ▾": a dataset or a manifest at a new path (never overwritten);
        the formats that hold files (yolo, imagefolder, fiftyone) copy the images in."""
        if format not in EXPORT_FORMATS:
            raise AISearchError(f"Export as: one of {', '.join(EXPORT_FORMATS)}.")
        target = self._acted_on(count)
        raw = path.strip()
        if format in ("csv", "jsonl") and not raw.lower().endswith(f".{format}"):
            raw += f".{format}"
        dest = self._allowed_target(raw, folder=False)  # type: ignore[attr-defined]
        copy = format in _COPYING
        p = target.export(dest, format=format, copy=copy)
        what = f"{len(target)} {'image' if len(target) == 1 else 'images'}"
        self._done(f"Exported {what} as {EXPORT_FORMATS[format]} to {p}.")

    def _similar_selected(self, count: int) -> Collection:
        if not self.gallery.selected:  # type: ignore[attr-defined]
            raise AISearchError("Select the example images in the gallery first.")
        ids = self._acted_on(count).ids
        return self._similar_ids(ids)  # type: ignore[attr-defined]

    def _drop_hidden(self) -> None:
        shown = set(self._view_df["id"])
        sel = list(self.gallery.selected)  # type: ignore[attr-defined]
        keep = [i for i in sel if i in shown]
        self.gallery.selected = keep  # type: ignore[attr-defined]
        self._done(f"Dropped {len(sel) - len(keep)} hidden images from the selection.")

    # -- delete into the trash, and undo -----------------------------------------------
    def _delete(self, count: int) -> None:
        self._trash(self._acted_on(count))

    def _trash(self, target: Collection) -> None:
        """Move ``target``'s files to the project's trash (``Collection.delete``), take
        them out of the result, and offer Undo. Rows the backend skipped (a file that
        changed since the sync, …) are reported with their reason."""
        report = target.delete(confirm=True)
        before = self._tab_state()  # type: ignore[attr-defined]
        gone = report.loc[report["status"].isin(["trashed", "deleted"]), "id"].tolist()
        self._drop_from_result(gone)  # type: ignore[attr-defined]
        text, first_error = describe_report(report, _TRASH_VERBS)
        trashed = report.loc[report["status"] == "trashed", "id"].tolist()
        if trashed:
            self._undo = (trashed, before)
            self.actions.undo = "Undo"  # type: ignore[attr-defined]
        if first_error is not None:
            raise AISearchError(f"{text}. First error: {first_error}")
        self._done(text)

    def _undo_delete(self) -> None:
        if self._undo is None:
            raise AISearchError(
                "Nothing to undo here: restore from Python with "
                "project.trash.select(ids).restore()."
            )
        ids, before = self._undo
        self._undo = None
        self.actions.undo = ""  # type: ignore[attr-defined]
        report = self.project.trash.select(ids).restore()  # type: ignore[attr-defined]
        self._restore_tab(before)  # type: ignore[attr-defined]
        text, first_error = describe_report(report, _RESTORE_VERBS)
        if first_error is not None:
            raise AISearchError(f"{text}. First error: {first_error}")
        self._done(text + ".")

    def _file_report(self, rep: pd.DataFrame, verbs: dict[str, str]) -> None:
        text, first_error = describe_report(rep, verbs)
        if first_error is not None:
            raise AISearchError(f"{text}. First error: {first_error}")
        self._done(text + ".")

    def _refresh_shown(self) -> None:
        """Re-read the rows shown (paths and tags change with file actions)."""
        self._apply_filter(*self._filter)  # type: ignore[attr-defined]
