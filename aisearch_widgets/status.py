"""A project's state, as one type: :class:`Status`. ``Project.status`` fills it from
the open project; :func:`read_status` from the files of a project home without
opening it (no lock, no model, no migration), so that another process (the CLI, the
Jupyter server extension) can show a project that a kernel is indexing."""

from __future__ import annotations

import html
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ._errors import ProjectCorrupt, ProjectNotFound, repair_hint
from ._home import (
    CATALOG_NAME,
    CONFIG_NAME,
    LOCK_NAME,
    check_name,
    holder_alive,
    read_config,
    read_holder,
    resolve_home,
)


def format_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "never"


@dataclass(frozen=True, repr=False)
class Status:
    """A snapshot of a project's embedding state.

    ``state`` (the rule: :func:`project_state`): ``"disabled"``, ``"ready"`` (enabled,
    idle) or ``"indexing"``; read from another process, ``"indexing"`` means that a live
    holder's sync has not finished, and ``"waiting"`` that files are left and no
    process holds the project to embed them (open it, or ``aisearch index``).
    ``holder``: who holds the project open (pid, host, since, cmd), empty when no
    process does or when read by the holder itself. ``failures``: (path, kind,
    message) of failed and missing files (filled by :func:`read_status` only;
    ``Project.failures`` has them as a DataFrame)."""

    name: str
    enabled: bool
    state: str
    done: int
    total: int
    failed: int
    pending: int
    missing: int  # files whose folder vanished or emptied: kept until pruned
    updated_at: float | None
    model: str  # the model identity (the exact weights)
    schedule: str | None
    first_pass_done: bool
    phase: str  # idle | scanning | embedding | deleting | optimizing
    error: str | None
    holder: dict[str, Any] = field(default_factory=dict)
    failures: list[tuple[str, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        when = format_time(self.updated_at)
        held = f"; open in pid {self.holder.get('pid')}" if self.holder.get("pid") else ""
        s = (
            f"{self.name}: {self.state} — {self.done}/{self.total} embedded, "
            f"{self.failed} failed, {self.pending} pending"
            + (f", {self.missing} missing" if self.missing else "")
            + f"; model {self.model}; schedule {self.schedule or 'manual'}; updated {when}"
            + held
        )
        return s + (f"; last error: {self.error}" if self.error else "")

    def __repr__(self) -> str:
        # The same facts as str(), named: no raw epoch floats, no failure list.
        parts = [
            f"{self.name!r}",
            self.state,
            f"{self.done}/{self.total} embedded",
            f"{self.failed} failed",
            f"{self.pending} pending",
        ]
        if self.missing:
            parts.append(f"{self.missing} missing")
        if self.phase != "idle":
            parts.append(f"phase {self.phase}")
        parts += [
            f"model {self.model}",
            f"schedule {self.schedule or 'manual'}",
            f"updated {format_time(self.updated_at)}",
        ]
        if self.holder.get("pid"):
            parts.append(f"open in pid {self.holder.get('pid')}")
        if self.error:
            parts.append(f"last error: {self.error}")
        return f"<Status {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        """A small table for notebooks: state, progress bar, counts, model, schedule,
        last update (local time), holder and error. Every value is escaped."""
        e = html.escape
        colour = {
            "ready": "#2e7d32",
            "indexing": "#1565c0",
            "waiting": "#ef6c00",
            "disabled": "#757575",
        }
        badge = (
            f'<span style="color:#fff;background:{colour.get(self.state, "#c62828")};'
            f'padding:1px 6px;border-radius:8px">{e(self.state)}</span>'
        )
        counts = f"{self.done:,} / {self.total:,} embedded"
        bar = f'<progress value="{self.done}" max="{max(self.total, 1)}"></progress> {counts}'
        rows = [
            ("project", e(self.name) + " " + badge),
            ("progress", bar),
            ("failed / pending", f"{self.failed:,} / {self.pending:,}"),
        ]
        if self.missing:
            rows.append(("missing", f"{self.missing:,} (folder gone or empty: kept until pruned)"))
        if self.phase != "idle":
            rows.append(("phase", e(self.phase)))
        rows += [
            ("model", f"<code>{e(self.model)}</code>"),
            ("schedule", e(self.schedule or "manual")),
            ("updated", e(format_time(self.updated_at))),
        ]
        if self.holder.get("pid"):
            who = f"pid {self.holder.get('pid')} on {self.holder.get('host', '?')}"
            rows.append(("open in", e(who)))
        if self.error:
            rows.append(("last error", f'<span style="color:#c62828">{e(self.error)}</span>'))
        body = "".join(
            f'<tr><th style="text-align:left;padding-right:1em">{k}</th>'
            f'<td style="text-align:left">{v}</td></tr>'
            for k, v in rows
        )
        return f'<table class="aisw-status">{body}</table>'


def project_state(enabled: bool, syncing: bool, waiting: bool = False) -> str:
    """A project's state, by the one rule that :attr:`Project.status`, :func:`read_status`
    and the Jupyter server extension share: ``"indexing"`` while a sync runs (it may be
    finishing its batch after ``disable()``), else ``"disabled"`` when turned off,
    ``"waiting"`` when enabled with files left and no process holding the project to
    embed them, else ``"ready"``."""
    if syncing:
        return "indexing"
    if not enabled:
        return "disabled"
    return "waiting" if waiting else "ready"


def read_status(name: str, home: str | os.PathLike[str] | None = None) -> Status:
    """The status of project ``name`` in ``home`` (default: see ``resolve_home``),
    read from its files without opening it: no lock is taken, no model is loaded and
    nothing is written (an older project format is read as it is)."""
    h = resolve_home(home)
    folder = h / check_name(name)
    cfg_path = folder / CONFIG_NAME
    if not cfg_path.exists():
        raise ProjectNotFound(f"No project {name!r} in {h}.")
    cfg = read_config(cfg_path, name)
    identity = cfg.get("identity")
    if not identity:  # format 1: the identity was not recorded yet
        from .embedder import model_identity, parse_model_spec

        identity = model_identity(parse_model_spec(cfg["model"]))
    holder = read_holder(folder / LOCK_NAME)
    db = folder / CATALOG_NAME
    if db.exists() and not db.is_file():  # a FIFO would hang the reader: say it is broken
        raise ProjectCorrupt(
            f"The catalog {db} is not a regular file. {repair_hint(name)} to rebuild it.",
            str(db),
        )
    counts = {"embedded": 0, "total": 0, "failed": 0, "pending": 0, "missing": 0}
    updated, first, dirty = None, False, False
    failures: list[tuple[str, str, str]] = []
    if db.exists():
        from .catalog import open_catalog  # sqlite3 and the schema: when there is one

        cat = open_catalog(db, name, readonly=True)
        try:
            counts = cat.counts(identity)
            updated = cat.get_meta("last_sync")
            first = bool(cat.get_meta("first_pass_done", False))
            dirty = bool(cat.get_meta("dirty", False))
            failures = [(p, k, m) for p, k, m, _ in cat.failures()]
        finally:
            cat.close()
    enabled = bool(cfg.get("enabled"))
    held = holder_alive(holder)
    # Unfinished: files left to embed, or never synced (the first scan has not counted
    # them). Missing files are not left: they wait for their folder or a prune.
    unfinished = counts["pending"] > 0 or updated is None
    # A sync marks the catalog dirty until it ends (a cancelled or crashed one leaves
    # the mark): only an enabled project with a live holder is taken to be indexing.
    indexing = held and enabled and (dirty or unfinished)
    return Status(
        name=name,
        enabled=enabled,
        state=project_state(enabled, indexing, waiting=enabled and unfinished and not held),
        done=counts["embedded"],
        total=counts["total"],
        failed=counts["failed"],
        pending=counts["pending"],
        missing=counts["missing"],
        updated_at=updated,
        model=identity,
        schedule=cfg.get("schedule"),
        first_pass_done=first,
        phase="embedding" if indexing else "idle",
        error=None,
        holder=holder,
        failures=failures,
    )
