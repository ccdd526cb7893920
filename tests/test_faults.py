"""Fault injection: kill -9 at random moments of indexing, move_to (same and across
filesystems), copy_to, save, delete (for good), delete to the trash, restore from it
and emptying it, then reopen and check that nothing was lost.

Run alone with ``pytest -m faults``. A fork server (``_fault_worker.py``) imports
the package once; each trial forks a child that opens a fresh copy of a small indexed
project and runs one operation slowed down per file or batch, and the test SIGKILLs it
after a random (seeded) delay. After reopening (and ``update()`` for indexing) every
trial checks: every original file's bytes exist exactly once (moved or not), no
temporary or truncated file is left, the catalog points at files holding the bytes
each id had, catalog and store agree (``_integrity.problems``), no orphan or duplicate
ids, tags kept, saved collections whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

import aisearch_widgets as aw

from _helpers import draw
from _integrity import problems

pytestmark = pytest.mark.faults

WORKER = str(Path(__file__).with_name("_fault_worker.py"))
MIN_KILLS = 10
MAX_TRIALS = 20
NAME = "faults"
SUMMARY: dict[str, dict[str, int]] = {}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(*roots: Path) -> list[Path]:
    found = {p for r in roots if r.exists() for p in r.rglob("*") if p.is_file() or p.is_symlink()}
    return sorted(found)


class _Server:
    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
        }
        self.proc = subprocess.Popen(
            [sys.executable, WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            assert line, "the fault worker died"
            if line.startswith("{"):
                return json.loads(line)

    def trial(self, cmd: dict[str, Any], delay: float) -> bool:
        """Run ``cmd`` in a child, SIGKILL it ``delay`` s after it starts the
        operation. True if the kill landed (the child had not finished)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        pid = None
        started = False
        while pid is None or not started:
            msg = self._read()
            if "pid" in msg:
                pid = msg["pid"]
            elif "go" in msg:
                started = True
            elif "exit" in msg:
                raise AssertionError(f"the operation failed before starting: {msg}")
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        msg = self._read()
        while "exit" not in msg:
            msg = self._read()
        if msg["signal"] != signal.SIGKILL:
            assert msg["code"] == 0, f"the operation failed: {msg}"
        return msg["signal"] == signal.SIGKILL

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, tiny_model: str):
    """An indexed, tagged project built at ``base/live`` and kept at ``base/tpl``;
    each trial copies it back to ``base/live`` (so stored absolute paths hold)."""
    base = tmp_path_factory.mktemp("faults")
    live = base / "live"
    images = live / "images"
    for i in range(16):
        # a/ and b/ share names: file actions meet conflicts inside their batch.
        draw(images / ("a" if i % 2 else "b") / f"{i // 2:03d}.png", "red", (40, 32), seed=i)
    proj = aw.Project(NAME, sources=images, model=tiny_model, home=live / "home")
    proj.update()
    ids = proj.search("x", limit=100).ids
    proj.search("x", limit=100).select(ids[::2]).tag("keep")
    proj.search("x", limit=100).select(ids[::3]).tag("label:cat")
    proj.close()
    os.rename(live, base / "tpl")
    return base


def _fresh(base: Path, tpl: str = "tpl") -> Path:
    live = base / "live"
    if live.exists():
        shutil.rmtree(live)
    shutil.copytree(base / tpl, live, symlinks=True)
    return live


def _snapshot(live: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    with aw.Project.open(NAME, home=live / "home") as proj:
        rows = proj.catalog.query("SELECT id, path FROM files")
        id_hash = {i: _digest(Path(p)) for i, p in rows}
        tags = proj.catalog.tags_of(list(id_hash))
    return id_hash, tags


def _check(live: Path, targets: list[Path], op: str, before: tuple, n_saves: int = 0) -> None:
    id_hash, tags_before = before
    images = live / "images"
    proj = aw.Project.open(NAME, home=live / "home")
    try:
        if op == "index":
            proj.update()
        assert proj.catalog.journal_pending() == []
        found = problems(proj, check_files=True)
        assert not found, found
        files = _files(images, *targets)
        leftovers = [p for p in files if ".aisearch-" in p.name or p.name.endswith(".tmp")]
        assert not leftovers, f"temporary files left: {leftovers}"
        originals = set(id_hash.values())
        on_disk = [_digest(p) for p in files]
        assert set(on_disk) <= originals, "a file on disk is not a whole original"
        in_sources = [_digest(p) for p in _files(images)]
        for h in originals:
            if op == "copy":
                assert in_sources.count(h) == 1 and on_disk.count(h) <= 2
            elif op == "delete":
                assert on_disk.count(h) <= 1
            else:
                where = [str(p) for p, d in zip(files, on_disk, strict=True) if d == h]
                assert len(where) == 1, f"{len(where)} copies of an original: {where}"
        rows = proj.catalog.query("SELECT id, path FROM files")
        by_hash: dict[str, str] = {}
        for pid, path in rows:
            h = _digest(Path(path))
            if pid in id_hash:
                assert h == id_hash[pid], f"{pid} points at other bytes ({path})"
            assert h not in by_hash, f"two rows for one file: {pid}, {by_hash.get(h)}"
            by_hash[h] = pid
        if op == "delete":
            assert set(by_hash) == set(on_disk)
        elif op == "copy":
            assert set(by_hash) == set(in_sources) == originals
        else:
            assert set(by_hash) == originals
        tags_now = proj.catalog.tags_of([r[0] for r in rows])
        for pid, tags in tags_before.items():
            if pid in tags_now or op != "delete":
                assert tags_now.get(pid) == tags, f"tags of {pid} changed"
        for name in proj.collections:
            col = proj.collections[name]
            assert len(col.df) == len(col), f"collection {name!r} lists unknown ids"
            if name.startswith("c"):
                assert len(col) == len(id_hash), f"collection {name!r} is partial"
            else:
                assert 1 <= len(col) <= len(id_hash)
        assert len(proj.collections) <= n_saves + 1
    finally:
        proj.close()


def _shm_target() -> Path | None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(Path.cwd()).st_dev:
        return None
    return shm / f"aisearch-faults-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("op", ["index", "move", "move_cross_fs", "copy", "save", "delete"])
def test_kill_at_random_moments_loses_nothing(op: str, server: _Server, template: Path) -> None:
    rng = random.Random(f"faults-{op}")
    kills = trials = 0
    shm = _shm_target() if op == "move_cross_fs" else None
    if op == "move_cross_fs" and shm is None:
        pytest.skip("/dev/shm is not a separate filesystem here")
    while kills < MIN_KILLS and trials < MAX_TRIALS:
        trials += 1
        live = _fresh(template)
        home = live / "home"
        before = _snapshot(live)
        targets: list[Path] = []
        cmd: dict[str, Any] = {"op": op, "name": NAME, "home": str(home), "pause": 0.01}
        window = 1.2
        if op == "index":
            for i in range(10):  # new files, and two rewritten ones
                draw(live / "images" / "new" / f"n{i:02d}.png", "blue", (40, 32), seed=100 + i)
            for k, p in enumerate(sorted((live / "images" / "a").iterdir())[:2]):
                draw(p, "green", (40, 32), seed=1000 + 10 * trials + k)
            before = _rehash(before, live)
            cmd["pause"], window = 0.03, 0.6
        elif op in ("move", "move_cross_fs", "copy"):
            if shm is not None:
                target = shm / "out"
            elif op == "move" and trials % 2:
                target = live / "images" / "moved"  # inside the sources
            else:
                target = live / "out"
            targets = [target]
            cmd["target"] = str(target)
            cmd["on_conflict"] = ("skip", "rename", "overwrite")[trials % 3]
            cmd["op"] = "move" if op.startswith("move") else op
            window = 0.9 if cmd["op"] == "move" else 0.3
        elif op == "save":
            cmd["n"], cmd["pause"], window = 12, 0.02, 0.5
        elif op == "delete":
            window = 0.15
        try:
            kills += server.trial(cmd, rng.uniform(0.0, window))
            _check(live, targets, cmd["op"], before, n_saves=cmd.get("n", 0))
        finally:
            if shm is not None:
                shutil.rmtree(shm, ignore_errors=True)
    SUMMARY[op] = {"trials": trials, "kills": kills, "losses": 0}
    _write_summary()
    assert kills >= MIN_KILLS, f"only {kills} of {trials} kills landed mid-operation"


def _rehash(before: tuple, live: Path) -> tuple:
    """For indexing: the originals are the files on disk after the edits."""
    id_hash, tags = before
    with aw.Project.open(NAME, home=live / "home") as proj:
        rows = dict(proj.catalog.query("SELECT id, path FROM files"))
    id_hash = {i: _digest(Path(rows[i])) for i in id_hash}
    for p in _files(live / "images"):
        id_hash.setdefault(f"new:{p}", _digest(p))
    return id_hash, tags


def _write_summary() -> None:
    out = os.environ.get("AISEARCH_FAULTS_REPORT")
    if out:
        Path(out).write_text(json.dumps(SUMMARY, indent=1))


# -- the trash ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trashed(template: Path) -> Path:
    """``template`` with half of its images in the trash, kept at ``base/tpl-trashed``."""
    live = _fresh(template)
    with aw.Project.open(NAME, home=live / "home") as proj:
        col = proj.search("x", limit=1000)
        rep = col.head(len(col) // 2).delete(confirm=True)
        assert set(rep["status"]) == {"trashed"}
        with proj.catalog.transaction() as db:  # old enough for empty_trash("30d") too
            db.execute("UPDATE trash SET deleted_at = deleted_at - 40 * 86400")
    os.rename(live, template / "tpl-trashed")
    return template


def _trash_snapshot(live: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """id -> digest and id -> tags of every image, in the project or in its trash."""
    with aw.Project.open(NAME, home=live / "home") as proj:
        id_hash = {i: _digest(Path(p)) for i, p in proj.catalog.query("SELECT id, path FROM files")}
        tags = proj.catalog.tags_of(list(id_hash))
        for e in proj.catalog.trash_entries():
            id_hash[e.id] = _digest(Path(e.trash_path))
            tags.update({e.id: e.tags[e.id]} if e.id in e.tags else {})
    return id_hash, tags


def _check_trash(live: Path, op: str, before: tuple) -> None:
    """Each file in exactly one place (its folder or the trash; nowhere only if
    emptying removed it for good), with its record in the matching table and its
    tags; nothing stray in the trash folder; catalog and store agree."""
    id_hash, tags_before = before
    proj = aw.Project.open(NAME, home=live / "home")
    try:
        assert proj.catalog.journal_pending() == []
        found = problems(proj, check_files=True)
        assert not found, found
        trash_dir = proj.folder / "trash"
        files = _files(live / "images", trash_dir)
        leftovers = [p for p in files if ".aisearch-" in p.name or p.name.endswith(".tmp")]
        assert not leftovers, f"temporary files left: {leftovers}"
        rows = dict(proj.catalog.query("SELECT id, path FROM files"))
        entries = {e.id: e for e in proj.catalog.trash_entries()}
        assert not set(rows) & set(entries), "an image both in the project and in the trash"
        assert {str(p) for p in _files(trash_dir)} == {e.trash_path for e in entries.values()}
        on_disk = [_digest(p) for p in files]
        stored = proj.store.ids()
        for pid, h in id_hash.items():
            where = [str(p) for p, d in zip(files, on_disk, strict=True) if d == h]
            if pid in rows:
                assert where == [rows[pid]], f"{pid}: in the project, on disk at {where}"
                assert proj.catalog.tags_of([pid]).get(pid) == tags_before.get(pid)
            elif pid in entries:
                e = entries[pid]
                assert where == [e.trash_path], f"{pid}: in the trash, on disk at {where}"
                assert e.tags.get(pid) == tags_before.get(pid) and pid not in stored
                assert e.vector_ids == [pid] and e.vectors, f"{pid} lost its vector"
            else:
                assert op == "empty" and where == [], f"{pid} has no record ({where})"
    finally:
        proj.close()


@pytest.mark.parametrize("op", ["trash", "restore", "empty"])
def test_kill_during_trash_actions_loses_nothing(
    op: str, server: _Server, template: Path, trashed: Path
) -> None:
    rng = random.Random(f"faults-{op}")
    kills = trials = 0
    window = {"trash": 0.3, "restore": 0.3, "empty": 0.18}[op]  # the operation's length
    before: tuple | None = None
    while kills < MIN_KILLS and trials < MAX_TRIALS:
        trials += 1
        live = _fresh(template, "tpl" if op == "trash" else "tpl-trashed")
        before = before or _trash_snapshot(live)  # every trial starts from the same copy
        cmd = {"op": op, "name": NAME, "home": str(live / "home"), "pause": 0.01}
        kills += server.trial(cmd, rng.uniform(0.0, window))
        _check_trash(live, op, before)
    SUMMARY[op] = {"trials": trials, "kills": kills, "losses": 0}
    _write_summary()
    assert kills >= MIN_KILLS, f"only {kills} of {trials} kills landed mid-operation"
