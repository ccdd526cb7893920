"""Recovery of file actions a crash cut short: each journalled move, trash or restore
is finished or undone on the next open, so no file is lost or left twice."""

from __future__ import annotations

import filecmp
import logging
import os

from ._fileops import (
    Records,
    fsync_dir,
    remove_path,
    same_file,
)

log = logging.getLogger("aisearch_widgets._fileops")  # one logger for file actions


# -- recovery -----------------------------------------------------------------------
def recover(inventory: Records) -> list[str]:
    """Finish or undo the file actions a crash interrupted (run when a project opens
    and before each file action). Returns what was done."""
    done: list[str] = []
    catalog = inventory.catalog
    for jid, op, pid, src, dst, tmp, overwrite in catalog.journal_pending():
        if op == "move":
            done.append(_recover_move(inventory, pid, src, dst, bool(overwrite)))
        elif op == "delete":
            if not os.path.lexists(src) and pid in catalog.records([pid]):
                inventory.deleted(pid, src)
                done.append(f"completed the deletion of {src}")
            else:
                done.append(f"kept {src} (its deletion had not started)")
        elif op == "trash":
            done.append(_recover_trash(inventory, pid, src, dst))
        elif op == "restore":
            done.append(_recover_restore(inventory, pid, src, dst))
        elif op == "purge":
            if not os.path.lexists(src):
                catalog.trash_drop(pid)
                done.append(f"completed the removal of {src} from the trash")
            else:
                done.append(f"kept {src} in the trash (its removal had not started)")
        else:
            done.append(f"dropped an unfinished copy of {src} to {dst}")
        remove_path(tmp)
        catalog.journal_end(jid)
    for line in done:
        log.warning("project %s: %s", inventory.project, line)
    return done


def _recover_move(inventory: Records, pid: str, src: str, dst: str, overwrite: bool) -> str:
    """Roll forward when the file reached ``dst``, back otherwise.

    ``dst`` only ever appears whole (link or rename of a complete file). Without
    ``overwrite`` it did not exist before, so its presence means the file got there.
    With ``overwrite`` a file was there already: ours only if the source is gone or
    holds the same file or the same bytes."""
    at_dst = os.path.lexists(dst)
    at_src = os.path.lexists(src)
    same = at_src and at_dst and (same_file(src, dst) or _same_bytes(src, dst))
    placed = at_dst and (not overwrite or not at_src or same)
    rec = inventory.catalog.records([pid]).get(pid)
    if placed:
        if rec is not None:
            inventory.moved(pid, src, dst)
        if same:
            os.unlink(src)  # the same file or the same bytes: they live on at dst
            fsync_dir(os.path.dirname(src))
        return f"completed the move of {src} to {dst}"
    if rec is not None and rec.path != src and at_src:
        inventory.moved(pid, rec.path, src)
    return f"undid the unfinished move of {src} to {dst}"


def _same_bytes(a: str, b: str) -> bool:
    try:
        return os.path.isfile(a) and os.path.isfile(b) and filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _placed(src: str, dst: str) -> bool:
    """``dst`` (a new name, only ever created whole) holds the file of ``src``: the
    source is gone, or is the same file or the same bytes (a copy not yet removed)."""
    if not os.path.lexists(dst):
        return False
    return not os.path.lexists(src) or same_file(src, dst) or _same_bytes(src, dst)


def _drop_source(src: str, dst: str) -> None:
    """Remove ``src`` once ``dst`` holds the same file or the same bytes."""
    if (
        os.path.lexists(src)
        and os.path.lexists(dst)
        and (same_file(src, dst) or _same_bytes(src, dst))
    ):
        os.unlink(src)
        fsync_dir(os.path.dirname(src))


def _recover_trash(inventory: Records, pid: str, src: str, dst: str) -> str:
    """Roll a move into the trash forward when the file reached the trash (recording
    it from the rows and vectors still in place), else leave the file where it is."""
    recorded = any(e.trash_path == dst for e in inventory.catalog.trash_entries([pid]))
    if recorded or _placed(src, dst):
        inventory.trashed(pid, src, dst)
        _drop_source(src, dst)
        return f"completed moving {src} to the trash"
    return f"undid the unfinished move of {src} to the trash"


def _recover_restore(inventory: Records, tid: str, src: str, dst: str) -> str:
    """Roll a restore forward when the file is back at ``dst``, else keep it in the
    trash (``src``)."""
    entry = next(iter(inventory.catalog.trash_entries([tid])), None)
    if entry is None or entry.trash_path != src:
        _drop_source(src, dst)  # recorded already: only a copy's original may remain
        return f"completed the restore of {dst}"
    if _placed(src, dst):
        inventory.restored(entry, dst)
        _drop_source(src, dst)
        return f"completed the restore of {dst}"
    return f"kept {entry.path} in the trash (its restore had not finished)"
