"""The project's trash: delete into it (journalled like a move), restore the same bytes
to their place, empty it by age. The disk steps are :mod:`._fileops`'s."""

from __future__ import annotations

import logging
import os
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from ._errors import AISearchError
from ._fileops import (
    Conflict,
    Guard,
    Outcome,
    Records,
    free_name,
    fsync_dir,
    move_on_disk,
    remove_original,
    remove_path,
    tmp_name,
    why_failed,
)

log = logging.getLogger("aisearch_widgets._fileops")  # one logger for file actions


# -- trash ----------------------------------------------------------------------------
def trash(inventory: Records, ids: Sequence[str], guard: Guard | None = None) -> list[Outcome]:
    """Move files into the project's trash folder (``delete()``); their records (rows,
    tags, vectors) move into the catalog's trash and leave searches.

    Per file: re-check (``guard``), journal, put the file in the trash (rename, or
    copy + fsync + rename across filesystems), record it in one transaction, drop
    its vectors from the store, and only then remove the original of a copy."""
    out: list[Outcome] = []
    catalog = inventory.catalog
    recs = catalog.records(list(ids))
    folder = inventory.trash_dir
    for pid in ids:
        rec = recs.get(pid)
        if rec is None:
            out.append(Outcome(pid, "", None, "skipped", "not in the project any more"))
            continue
        src = rec.path
        if guard is not None and (why := guard(pid, src)):
            out.append(Outcome(pid, src, None, "skipped", why))
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            out.append(
                Outcome(pid, src, None, "error", f"cannot create the trash: {why_failed(exc)}")
            )
            continue
        dst = folder / f"{secrets.token_hex(8)}-{os.path.basename(src)}"
        tmp = tmp_name(dst)
        jid = catalog.journal_begin("trash", pid, src, str(dst), str(tmp))
        try:
            crossed = move_on_disk(src, tmp, dst, replace=False)
        except (Conflict, OSError) as exc:
            remove_path(tmp)
            catalog.journal_end(jid)
            out.append(Outcome(pid, src, None, "error", why_failed(exc)))
            continue
        try:
            inventory.trashed(pid, src, str(dst))
        except Exception as exc:
            log.exception("recording %s in the trash failed", src)
            out.append(
                Outcome(
                    pid,
                    src,
                    str(dst),
                    "error",
                    f"the file is in the trash at {dst}, but the project could not record it "
                    f"({exc}); reopening the project completes it",
                )
            )
            continue
        msg = remove_original(src, "the trash") if crossed else ""
        catalog.journal_end(jid)
        out.append(Outcome(pid, src, str(dst), "error" if msg else "trashed", msg))
    return out


def _restore_target(inventory: Records, original: str) -> Path:
    """The original path if it is free on disk and in the inventory, else the first
    free ``name (1).ext`` beside it."""
    path = Path(original)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    name = path.name
    while True:
        name = free_name(folder, name, taken)
        if not inventory.path_taken(str(folder / name)):
            return folder / name
        taken.add(name)


def restore(inventory: Records, ids: Sequence[str]) -> list[Outcome]:
    """Put trashed files back where they were (``Collection.restore``): same bytes,
    inventory rows, tags and vectors; nothing is embedded again. A path taken since
    is not overwritten: the file comes back as ``name (1).ext`` (status ``renamed``).
    Vectors made by another model than the project's keep the file in the trash."""
    out: list[Outcome] = []
    catalog = inventory.catalog
    entries = {e.id: e for e in catalog.trash_entries(list(ids))}
    identity = inventory.identity()
    for tid in ids:
        e = entries.get(tid)
        if e is None:
            out.append(Outcome(tid, "", None, "skipped", "not in the trash"))
            continue
        if e.vector_ids and e.model != identity:
            why = (
                f"its vectors were made with {e.model} and the project now uses {identity}: "
                "kept in the trash (restoring it would need embedding it again)"
            )
            out.append(Outcome(tid, e.trash_path, None, "skipped", why))
            continue
        if not os.path.lexists(e.trash_path):
            why = f"its file is gone from the trash folder ({e.trash_path}); nothing to restore"
            out.append(Outcome(tid, e.trash_path, None, "error", why))
            continue
        try:
            target = _restore_target(inventory, e.path)
        except OSError as exc:
            out.append(Outcome(tid, e.trash_path, None, "error", why_failed(exc)))
            continue
        tmp = tmp_name(target)
        jid = catalog.journal_begin("restore", tid, e.trash_path, str(target), str(tmp))
        try:
            crossed = move_on_disk(e.trash_path, tmp, target, replace=False)
        except (Conflict, OSError) as exc:
            remove_path(tmp)
            catalog.journal_end(jid)
            out.append(Outcome(tid, e.trash_path, None, "error", why_failed(exc)))
            continue
        try:
            inventory.restored(e, str(target))
        except Exception as exc:
            log.exception("recording the restore of %s failed", e.path)
            why = (
                f"the file is back at {target}, but the project could not record it ({exc}); "
                "reopening the project completes it"
            )
            out.append(Outcome(tid, e.trash_path, str(target), "error", why))
            continue
        left = remove_original(e.trash_path, str(target)) if crossed else ""
        catalog.journal_end(jid)
        renamed = str(target) != e.path
        msg = f"{e.path} exists: restored as {target.name}" if renamed else ""
        status = "renamed" if renamed else "restored"
        out.append(
            Outcome(tid, e.trash_path, str(target), "error" if left else status, left or msg)
        )
    return out


def parse_age(older_than: str | float | int | None) -> float | None:
    """Seconds of ``"30d"``, ``"12h"``, ``"10m"``, ``"30s"`` or a number of seconds;
    None stays None (everything)."""
    if older_than is None:
        return None
    if isinstance(older_than, bool):
        raise AISearchError(f"older_than={older_than!r}: give an age like '30d' or None.")
    if isinstance(older_than, (int, float)):
        seconds = float(older_than)
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(older_than).lower())
        if not m:
            raise AISearchError(
                f"older_than={older_than!r}: give an age like '30d', '12h', '10m' or None "
                "(everything)."
            )
        units = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
        seconds = float(m.group(1)) * units[m.group(2)]
    if not seconds >= 0 or seconds == float("inf"):
        raise AISearchError(f"older_than={older_than!r}: give a finite age of 0 or more.")
    return seconds


def purge(inventory: Records, older_than: str | float | int | None) -> list[Outcome]:
    """Delete for good the trashed files older than ``older_than`` (all with None)."""
    age = parse_age(older_than)
    catalog = inventory.catalog
    now = time.time()
    out: list[Outcome] = []
    for e in catalog.trash_entries():
        if age is not None and now - e.deleted_at < age:
            continue
        jid = catalog.journal_begin("purge", e.id, e.trash_path, None, None)
        try:
            os.remove(e.trash_path)
            fsync_dir(os.path.dirname(e.trash_path))
        except FileNotFoundError:
            pass
        except OSError as exc:
            catalog.journal_end(jid)
            log.warning("could not empty %s from the trash: %s", e.trash_path, why_failed(exc))
            out.append(Outcome(e.id, e.trash_path, None, "error", why_failed(exc)))
            continue
        catalog.trash_drop(e.id)
        catalog.journal_end(jid)
        out.append(Outcome(e.id, e.trash_path, None, "deleted"))
    return out
