"""Crash-safe file actions on a project's images: copy, move and delete.

A file action never destroys a user's file by accident:

- The whole batch is **planned first** (:func:`plan`). Two rows of the batch that
  would land on the same name conflict with each other exactly as with a file already
  on disk, and a file that is the source of another row of the batch is never a
  target, whatever ``on_conflict`` says. With ``on_conflict="overwrite"`` the first
  row keeps a duplicated name and the others are *skipped* (give them names with
  ``names=`` or use ``on_conflict="rename"``).
- Bytes are written under a **temporary name in the target folder**, fsynced, then
  put in place atomically: a hard link (fails if the name exists, so nothing is
  clobbered even if another program created it meanwhile) or, for ``"overwrite"``,
  ``os.replace``. A same-filesystem move is a link + unlink (or a rename), so the
  file always exists under at least one of its two names and no bytes are copied.
- Every action is **journalled** in the catalog: an intent row (op, id, source,
  target, temporary name) is committed before the disk is touched, and removed once
  disk and inventory agree. :func:`recover` (run when a project opens) rolls each
  unfinished row forward if the file reached its target, back otherwise, and removes
  temporary leftovers, so that after a ``kill -9`` every original file's bytes exist
  exactly once and the catalog points at them.
- A move across filesystems copies to the temporary name, fsyncs, puts it in place,
  updates the inventory and only then deletes the source.
- A failure to update the inventory never "moves back": the file stays where it now
  is, the journal row stays, and the next file action or reopen completes it.

- Every destructive row is **re-verified on disk right before acting**
  (:class:`Guard`): the file still has the size and mtime (or, when they changed,
  the content hash) recorded at the last sync; for a ``keep_best()`` row, it is not
  the same file as the copy kept, which exists and still has the hash the grouping
  was based on. Otherwise the row is ``skipped`` and says why.
- ``delete`` moves files into the project's **trash** (:func:`trash`): a rename on
  the same filesystem, else copy + fsync + rename into the trash, then removal of the
  original, journalled like a move. The trash keeps the inventory rows, tags and
  vectors (:meth:`Catalog.trash_put`), so :func:`restore` puts the same bytes back
  without embedding them again; :func:`purge` empties it.

Outcomes are structured (:class:`Outcome`); reports are built from them, never by
reading messages.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from ._errors import AISearchError, UnsafePathError

PathLike = str | os.PathLike[str]
# New file names by image id, or a function of the old name (see Collection.copy_to).
Names = Mapping[str, str] | Callable[[str], str] | None

if TYPE_CHECKING:
    from .catalog import Catalog, FileRecord, TrashEntry

log = logging.getLogger(__name__)

CONFLICTS = ("skip", "rename", "overwrite")
_TMP_MARK = ".aisearch-"


class Records(Protocol):
    """What a file action tells the project's records, and asks of them: implemented by
    :class:`~._inventory.Inventory`, which also calls :func:`recover` here. Named as a
    Protocol so that the file actions depend on what they use, not on the inventory."""

    project: str
    catalog: Catalog
    trash_dir: Path

    def moved(self, pid: str, old: str, new: str) -> None: ...

    def deleted(self, pid: str, path: str) -> None: ...

    def trashed(self, pid: str, src: str, dst: str) -> None: ...

    def restored(self, entry: TrashEntry, path: str) -> None: ...

    def path_taken(self, path: str) -> bool: ...

    def identity(self) -> str | None: ...


@dataclass(frozen=True)
class Step:
    """One planned row of a batch. ``target`` is None when nothing will be done."""

    id: str
    source: str
    target: Path | None
    status: str = ""  # "" (to do), "skipped" or "error"
    message: str = ""
    replace: bool = False  # the target exists and the user asked to overwrite it


@dataclass(frozen=True)
class Outcome:
    id: str
    source: str
    target: str | None
    # "copied" | "moved" | "deleted" | "trashed" | "restored" | "renamed" | "skipped"
    # | "error"
    status: str
    message: str = ""


def report(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    rows = [(o.id, o.source, o.target, o.status, o.message) for o in outcomes]
    return pd.DataFrame(rows, columns=["id", "source", "target", "status", "message"])


# -- naming -------------------------------------------------------------------------
def safe_target(directory: PathLike, name: str) -> Path:
    """``directory/name`` if and only if it stays inside ``directory``.

    Refuses absolute names, ``..``, separators inside the name, NUL and names whose
    resolved location (symlinks followed) leaves the directory.
    """
    if not isinstance(name, str) or not name or "\x00" in name or name in (".", ".."):
        raise UnsafePathError(f"Refusing file name {name!r}: empty, '.', '..' or contains NUL.")
    if os.path.isabs(name) or "/" in name or "\\" in name or (os.altsep and os.altsep in name):
        raise UnsafePathError(
            f"Refusing file name {name!r}: it must be a plain name inside the target folder."
        )
    root = Path(directory).resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise UnsafePathError(f"Refusing {name!r}: it resolves to {target}, outside {root}.")
    return root / name


def free_name(directory: Path, name: str, taken: set[str]) -> str:
    stem, ext = os.path.splitext(name)
    n = 1
    while name in taken or os.path.lexists(directory / name):
        name = f"{stem} ({n}){ext}"
        n += 1
    return name


def tmp_name(target: Path) -> Path:
    """A temporary name next to ``target``; never any final name of a batch."""
    return target.with_name(f".{target.name}{_TMP_MARK}{secrets.token_hex(6)}.tmp")


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def target_folder(directory: PathLike) -> Path:
    """The folder files are written into, made if missing, as an absolute path; a
    folder that cannot be made, or a target that is no folder, is one clear error."""
    root = Path(directory).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AISearchError(
            f"Cannot create the target folder {root}: {exc.strerror or exc}. "
            "Choose a folder you can write to."
        ) from exc
    if not root.is_dir():
        raise AISearchError(f"The target {root} is not a folder.")
    return root.resolve()


def plan(
    records: Mapping[str, FileRecord],
    ids: Sequence[str],
    directory: PathLike,
    names: Names,
    on_conflict: str,
) -> list[Step]:
    """Decide every row of a copy/move batch before anything is touched.

    ``records``: id -> record of the images that still exist.
    """
    if on_conflict not in CONFLICTS:
        raise AISearchError(
            f"on_conflict={on_conflict!r} is not accepted: use 'skip', 'rename' or 'overwrite'."
        )
    root = target_folder(directory)
    sources = {os.path.realpath(records[i].path) for i in ids if i in records}
    taken: set[str] = set()
    steps: list[Step] = []
    for pid in ids:
        if pid not in records:
            steps.append(Step(pid, "", None, "skipped", "not in the project any more"))
            continue
        src = records[pid].path
        if names is None:
            name = os.path.basename(src)
        elif callable(names):
            name = names(pid)
        else:
            name = names.get(pid, os.path.basename(src))
        try:
            target = safe_target(root, name)
        except UnsafePathError as exc:
            steps.append(Step(pid, src, None, "error", str(exc)))
            continue
        if same_file(src, str(target)) or os.path.realpath(src) == str(target):
            steps.append(Step(pid, src, None, "skipped", f"{target} is this image itself"))
            taken.add(target.name)
            continue
        exists = os.path.lexists(target)
        in_batch = target.name in taken
        batch_source = exists and os.path.realpath(target) in sources
        replace = False
        if in_batch or exists:
            if on_conflict == "rename":
                target = root / free_name(root, target.name, taken)
            elif in_batch or batch_source:
                why = (
                    "another image of this batch goes to the same name"
                    if in_batch
                    else "it is another image of this batch"
                )
                steps.append(
                    Step(
                        pid,
                        src,
                        None,
                        "skipped",
                        f"{target} not written: {why}. Give it another name with names= or "
                        "use on_conflict='rename'.",
                    )
                )
                continue
            elif on_conflict == "skip":
                steps.append(
                    Step(pid, src, None, "skipped", f"{target} exists (on_conflict='skip')")
                )
                continue
            else:
                replace = True
        taken.add(target.name)
        steps.append(Step(pid, src, target, replace=replace))
    return steps


def write_new(directory: Path, name: str, data: bytes, taken: set[str]) -> Path:
    """Write ``data`` as a new file ``directory/name`` (or ``name (1)``… if that name is
    taken on disk or in ``taken``): temporary name, fsync, then a link that never
    overwrites. Returns the path written; its name is added to ``taken``."""
    safe_target(directory, name)  # refuses names that leave the folder
    for _ in range(100):
        target = directory / free_name(directory, name, taken)
        tmp = tmp_name(target)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            _place(tmp, target, replace=False)
        except Conflict:
            continue  # created by someone else meanwhile: take the next free name
        finally:
            remove_path(tmp)
        taken.add(target.name)
        return target
    raise AISearchError(f"No free name for {name!r} in {directory}.")


# -- low-level disk steps -----------------------------------------------------------
def fsync_dir(path: PathLike) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class Conflict(Exception):
    """The target appeared after planning; nothing was overwritten."""


def _place(tmp: Path, target: Path, replace: bool) -> None:
    """Give the complete file ``tmp`` its final name atomically, then drop ``tmp``."""
    if replace:
        os.replace(tmp, target)
    else:
        _rename_no_clobber(str(tmp), target)
    fsync_dir(target.parent)


def _copy_to_tmp(src: str, tmp: Path) -> None:
    """Bytes (or the symlink) of ``src`` under the new name ``tmp``, fsynced."""
    if os.path.islink(src):
        os.symlink(os.readlink(src), tmp)
        return
    with open(src, "rb") as fin:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fout:
            shutil.copyfileobj(fin, fout, 1 << 20)
            fout.flush()
            os.fsync(fout.fileno())
    shutil.copystat(src, tmp)


def remove_path(path: PathLike | None) -> None:
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def why_failed(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    return str(exc)


# -- re-verification right before acting --------------------------------------------
def file_digest(path: PathLike) -> str:
    """The content hash of a file as the indexer records it (read in chunks)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_RERUN = "run update() and look again"


def changed_since_sync(
    path: str, recorded: tuple[int, int, str | None] | None, *, hash_always: bool = False
) -> str | None:
    """Why the file at ``path`` no longer is what the last sync recorded
    (``recorded``: size, mtime_ns, content hash), or None when it still is.

    Same size and mtime is enough unless ``hash_always``; when they differ, the
    content hash decides (a file touched but not rewritten is still the same)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"the file is gone from disk: {_RERUN}"
    except OSError as exc:
        return f"cannot check the file ({why_failed(exc)}); nothing done"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file any more; nothing done"
    if recorded is None:
        return f"the project has no record of its size and date: {_RERUN}"
    size, mtime_ns, content = recorded
    same_stat = st.st_size == size and st.st_mtime_ns == mtime_ns
    if st.st_size != size:
        return f"changed on disk since the last sync (size {size} → {st.st_size}): {_RERUN}"
    if same_stat and not hash_always:
        return None
    if content is None:
        if same_stat:
            return None
        return f"changed on disk since the last sync (modified again, same size): {_RERUN}"
    try:
        digest = file_digest(path)
    except OSError as exc:
        return f"cannot read the file to check it ({why_failed(exc)}); nothing done"
    if digest != content:
        return f"changed on disk since the last sync (its content differs): {_RERUN}"
    return None


class Guard:
    """The check a destructive action makes on each file right before acting.

    ``kept``: for a ``keep_best()`` collection, id -> id of the copy its group keeps.
    Such a row is acted on only if its file still has the recorded hash, is not the
    same file (``samefile``, realpath) as the kept copy, and the kept copy exists and
    still has the hash the grouping was based on."""

    def __init__(self, catalog: Catalog, ids: Sequence[str], kept: Mapping[str, str] | None = None):
        self._kept = {k: v for k, v in (kept or {}).items() if isinstance(v, str) and v}
        self._stats = catalog.file_stats([*ids, *self._kept.values()])
        self._kept_recs = catalog.records(list(set(self._kept.values())))

    def __call__(self, pid: str, path: str) -> str | None:
        """Why ``pid`` (at ``path``) must be skipped, or None to go ahead."""
        kid = self._kept.get(pid)
        why = changed_since_sync(path, self._stats.get(pid), hash_always=kid is not None)
        if why or kid is None:
            return why
        kept = self._kept_recs.get(kid)
        if kid == pid or kept is None:
            return f"the copy its group keeps ({kid}) is not in the project any more: {_RERUN}"
        if same_file(path, kept.path) or os.path.realpath(path) == os.path.realpath(kept.path):
            return f"it is the same file as the copy kept ({kept.path}); nothing done"
        kept_why = changed_since_sync(kept.path, self._stats.get(kid), hash_always=True)
        if kept_why:
            return f"the copy kept ({kept.path}) is not what the grouping saw: {kept_why}"
        return None


# -- actions ------------------------------------------------------------------------
def copy(catalog: Catalog, steps: Sequence[Step]) -> list[Outcome]:
    """Copy planned rows. The project's inventory is not touched (the catalog only
    journals each copy)."""
    out: list[Outcome] = []
    for st in steps:
        if st.target is None:
            out.append(Outcome(st.id, st.source, None, st.status, st.message))
            continue
        target = st.target
        tmp = tmp_name(target)
        jid = catalog.journal_begin("copy", st.id, st.source, str(target), str(tmp), st.replace)
        try:
            _copy_to_tmp(st.source, tmp)
            _place(tmp, target, st.replace)
        except Conflict as exc:
            out.append(Outcome(st.id, st.source, None, "skipped", str(exc)))
        except OSError as exc:
            out.append(Outcome(st.id, st.source, str(target), "error", why_failed(exc)))
        else:
            out.append(Outcome(st.id, st.source, str(target), "copied"))
        finally:
            remove_path(tmp)
        catalog.journal_end(jid)
    return out


def move(inventory: Records, steps: Sequence[Step], guard: Guard | None = None) -> list[Outcome]:
    """Move planned rows; the inventory follows each file (same id, vector, tags).
    ``guard`` re-checks each file right before it moves."""
    out: list[Outcome] = []
    catalog = inventory.catalog
    for st in steps:
        if st.target is None:
            out.append(Outcome(st.id, st.source, None, st.status, st.message))
            continue
        src, target = st.source, st.target
        if guard is not None and (why := guard(st.id, src)):
            out.append(Outcome(st.id, src, None, "skipped", why))
            continue
        tmp = tmp_name(target)
        jid = catalog.journal_begin("move", st.id, src, str(target), str(tmp), st.replace)
        try:
            crossed = move_on_disk(src, tmp, target, st.replace)
        except Conflict as exc:
            remove_path(tmp)
            catalog.journal_end(jid)
            out.append(Outcome(st.id, src, None, "skipped", str(exc)))
            continue
        except OSError as exc:
            remove_path(tmp)
            catalog.journal_end(jid)
            out.append(Outcome(st.id, src, str(target), "error", why_failed(exc)))
            continue
        # The file is at its target now. Never move it back: record it, and if that
        # fails the journal row stays and the next action or reopen completes it.
        try:
            inventory.moved(st.id, src, str(target))
        except Exception as exc:
            log.exception("recording the move of %s failed", src)
            out.append(
                Outcome(
                    st.id,
                    src,
                    str(target),
                    "error",
                    f"the file is now at {target}, but the project could not record it "
                    f"({exc}); reopening the project completes it",
                )
            )
            continue
        msg = remove_original(src, str(target)) if crossed else ""
        catalog.journal_end(jid)
        out.append(Outcome(st.id, src, str(target), "error" if msg else "moved", msg))
    return out


def remove_original(src: str, where: str) -> str:
    """Remove the source of a copy across filesystems once it is recorded at its new
    place; what went wrong, or "" when it is gone."""
    try:
        os.unlink(src)
        fsync_dir(os.path.dirname(src))
    except FileNotFoundError:
        pass
    except OSError as exc:
        return f"copied to {where}, but the original could not be removed: {why_failed(exc)}"
    return ""


def move_on_disk(src: str, tmp: Path, target: Path, replace: bool) -> bool:
    """Put ``src`` at ``target``. Returns True when it was copied across filesystems
    (the source still exists and is deleted once the inventory follows)."""
    if not os.path.lexists(src):
        raise FileNotFoundError(errno.ENOENT, "the file is gone", src)
    try:
        if replace:
            os.rename(src, target)
        else:
            _rename_no_clobber(src, target)
        fsync_dir(target.parent)
        fsync_dir(os.path.dirname(src))
        return False
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    if not os.access(os.path.dirname(src) or ".", os.W_OK):
        raise PermissionError(errno.EACCES, "cannot remove the original from its folder", src)
    _copy_to_tmp(src, tmp)
    _place(tmp, target, replace)
    return True


def _rename_no_clobber(src: str, target: Path) -> None:
    """Rename that never overwrites (same filesystem): link, then unlink ``src``. The
    file always has at least one of its two names."""
    try:
        os.link(src, target, follow_symlinks=False)
    except FileExistsError as exc:
        raise Conflict(f"{target} appeared meanwhile; not overwritten") from exc
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP):
            raise
        # No hard links on this filesystem: check, then rename (a small window).
        if os.path.lexists(target):
            raise Conflict(f"{target} appeared meanwhile; not overwritten") from exc
        os.rename(src, target)
        return
    try:
        os.unlink(src)
    except OSError:
        os.unlink(target)  # the same inode: the bytes stay at src
        raise


def delete(inventory: Records, ids: Sequence[str], guard: Guard | None = None) -> list[Outcome]:
    """Delete files from disk and from the project for good (``delete(permanent=True)``;
    see :func:`trash` for the default). ``guard`` re-checks each file right before."""
    out: list[Outcome] = []
    catalog = inventory.catalog
    recs = catalog.records(list(ids))
    for pid in ids:
        if pid not in recs:
            out.append(Outcome(pid, "", None, "skipped", "not in the project any more"))
            continue
        src = recs[pid].path
        if guard is not None and (why := guard(pid, src)):
            out.append(Outcome(pid, src, None, "skipped", why))
            continue
        jid = catalog.journal_begin("delete", pid, src, None, None)
        msg = ""
        try:
            os.remove(src)
        except FileNotFoundError:
            msg = "the file was already gone; removed from the index"
        except OSError as exc:
            catalog.journal_end(jid)
            out.append(Outcome(pid, src, None, "error", why_failed(exc)))
            continue
        try:
            inventory.deleted(pid, src)
        except Exception as exc:
            log.exception("recording the deletion of %s failed", src)
            out.append(
                Outcome(
                    pid,
                    src,
                    None,
                    "error",
                    f"the file was deleted, but the project could not record it ({exc}); "
                    "reopening the project completes it",
                )
            )
            continue
        catalog.journal_end(jid)
        out.append(Outcome(pid, src, None, "deleted", msg))
    return out
