"""Read a project's state without opening it (no lock, no model), so that a second
process can show the status of a project another process is indexing."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import ProjectNotFound
from ._home import open_catalog, read_config
from .embedder import model_identity, parse_model_spec


def format_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "never"


@dataclass
class StoredStatus:
    name: str
    enabled: bool
    done: int
    total: int
    failed: int
    pending: int
    updated_at: float | None
    model: str
    schedule: str | None
    holder: dict = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        when = format_time(self.updated_at)
        state = "enabled" if self.enabled else "disabled"
        held = f"; open in pid {self.holder.get('pid')}" if self.holder.get("pid") else ""
        return (
            f"{self.name}: {state}, {self.done}/{self.total} embedded, {self.failed} failed, "
            f"{self.pending} pending; model {self.model}; schedule {self.schedule or 'manual'}; "
            f"updated {when}{held}"
        )


def read_status(name: str, home: str | os.PathLike[str]) -> StoredStatus:
    folder = Path(home) / name
    cfg_path = folder / "project.json"
    if not cfg_path.exists():
        raise ProjectNotFound(f"No project {name!r} in {home}.")
    cfg = read_config(cfg_path, name)
    identity = model_identity(parse_model_spec(cfg["model"]))
    holder: dict = {}
    lock = folder / "lock"
    if lock.exists():
        import json

        try:
            holder = json.loads(lock.read_text() or "{}")
        except ValueError:
            holder = {}
    db = folder / "catalog.sqlite"
    counts = {"embedded": 0, "total": 0, "failed": 0, "pending": 0}
    updated = None
    failures: list[tuple[str, str, str]] = []
    if db.exists():
        cat = open_catalog(db, name, readonly=True)
        try:
            counts = cat.counts(identity)
            updated = cat.get_meta("last_sync")
            failures = [(p, k, m) for p, k, m, _ in cat.failures()]
        finally:
            cat.close()
    return StoredStatus(
        name=name,
        enabled=bool(cfg.get("enabled")),
        done=counts["embedded"],
        total=counts["total"],
        failed=counts["failed"],
        pending=counts["pending"],
        updated_at=updated,
        model=identity,
        schedule=cfg.get("schedule"),
        holder=holder,
        failures=failures,
    )
