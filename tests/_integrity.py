"""Consistency of a project's two records: the catalog (SQLite) and the vector store.

After every operation, and after a crash and reopen, these must agree:

- every vector in the store has a catalog row (no orphan vectors);
- every row embedded with the project's model has exactly one vector;
- a ``failed`` row (its current content could not be embedded) keeps no stale
  vector that search would return. ``pending`` rows may hold one for a moment (a
  batch written to the store but not yet committed, resumed by the next sync), and
  ``missing`` rows keep theirs on purpose until the file comes back or is pruned;
- every frame row belongs to a video row.

:func:`problems` lists what disagrees (empty when all is well). The tests call it
after every operation and every fault they inject. It lives with the tests: the
package itself keeps the records in step (and ``aisearch repair`` mends them), it
never needs to list their disagreements.
"""

from __future__ import annotations

from typing import Any


def problems(project: Any, *, check_files: bool = False) -> list[str]:
    """Everything on which the catalog and the store of ``project`` disagree.

    ``check_files``: also report embedded rows whose file is gone from disk.
    """
    import os

    catalog, store = project.catalog, project.store
    model = project.model_identity
    rows = catalog.query("SELECT id, key, path, status, model FROM files")
    out: list[str] = []
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        out.append(f"{len(ids) - len(set(ids))} duplicate ids in the catalog")
    stored = store.ids()
    by_id = {r[0]: r for r in rows}
    orphans = stored - set(by_id)
    if orphans:
        out.append(f"{len(orphans)} vectors without a catalog row, e.g. {sorted(orphans)[:3]}")
    for pid, key, path, status, row_model in rows:
        has = pid in stored
        if status == "embedded" and row_model == model and not has:
            out.append(f"{key} ({pid}) is embedded in the catalog but has no vector")
        elif status == "failed" and has:
            out.append(f"{key} ({pid}) is {status} but still has a vector that search returns")
        if check_files and status == "embedded" and not os.path.exists(path):
            out.append(f"{key} ({pid}) is embedded but its file {path} is gone")
    for key, n in catalog.query(
        "SELECT video_key, COUNT(*) FROM files f WHERE video_key IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM videos v WHERE v.key = f.video_key) GROUP BY video_key"
    ):
        out.append(f"{n} frames of the video {key} have no video row")
    return out


def assert_consistent(project: Any, **kwargs: Any) -> None:
    """Raise ``AssertionError`` listing the problems, if any (for tests)."""
    found = problems(project, **kwargs)
    assert not found, "catalog and store disagree:\n  " + "\n  ".join(found)
