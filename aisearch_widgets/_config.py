"""A project's settings and the layout of its home folder.

:class:`Layout` names every file a project keeps in ``home/name``; :class:`ProjectConfig`
is the only owner of ``project.json``: its schema (checked by ``_home.read_config``), its
version and upgrade, how a new one is built, the atomic write (with a copy in the
catalog for ``aisearch repair``) and the credentials that never reach the disk."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import (
    InvalidArgument,
    ModelMismatch,
    ProjectNotFound,
    SourcesChanged,
    check_real,
    show_value,
)
from ._home import (
    CATALOG_NAME,
    CONFIG_NAME,
    CONFIG_VERSION,
    LOCK_NAME,
    REQUESTS_DIR,
    project_names,
    read_config,
    write_json_atomic,
)
from ._upgrade import upgrade_config
from .sources import Source, normalize_sources, same_sources
from .video import DEFAULT_FPS

THUMBS_DIR = "thumbs"
EXPLORE_DIR = "explore"
TRASH_DIR = "trash"
VECTORS_DIR = "vectors"


def _member(name: str) -> property:
    """A file or folder of the project home, by its name there."""
    return property(lambda layout: layout.folder / name, doc=f"``{name}`` in the project folder.")


@dataclass(frozen=True)
class Layout:
    """Every file of one project's home folder (``home/name``)."""

    folder: Path

    @classmethod
    def of(cls, home: Path, name: str) -> Layout:
        return cls(Path(home) / name)

    config = _member(CONFIG_NAME)
    catalog = _member(CATALOG_NAME)
    lock = _member(LOCK_NAME)
    thumbs = _member(THUMBS_DIR)
    trash = _member(TRASH_DIR)
    requests = _member(REQUESTS_DIR)

    def explore(self, identity: str) -> Path:
        """The explore cache of one model's vectors (other vectors, other caches)."""
        from .store import slug

        return self.folder / EXPLORE_DIR / slug(identity)

    def shard(self, identity: str) -> Path:
        """The Edge shard of one model's vectors."""
        from .store import shard_folder

        return shard_folder(self.folder, identity)

    def exists(self) -> bool:
        """Whether a project lives here (its ``project.json`` exists)."""
        return self.config.exists()


@dataclass(frozen=True)
class Settings:
    """What one sync reads of the config, taken once per request."""

    sources: tuple[Source, ...]
    video_fps: float


class ProjectConfig:
    """The parsed ``project.json`` of a project and the one way to change it.

    Readers use the properties; writers call :meth:`update`, which saves at once
    (atomically, and a copy into the catalog once :meth:`attach_catalog` named it)."""

    def __init__(self, layout: Layout, name: str, data: dict[str, Any]) -> None:
        self.layout = layout
        self.name = name
        self._data = data
        self._mirror: Callable[[dict[str, Any]], None] | None = None

    @classmethod
    def read(cls, layout: Layout, name: str) -> ProjectConfig:
        """The checked ``project.json`` at ``layout`` (see ``_home.read_config``)."""
        return cls(layout, name, read_config(layout.config, name))

    # -- reading ----------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def as_dict(self) -> dict[str, Any]:
        """A copy of the stored fields."""
        import copy

        return copy.deepcopy(self._data)

    @property
    def model(self) -> str:
        return str(self._data["model"])

    @property
    def identity(self) -> str:
        return str(self._data["identity"])

    @property
    def precision(self) -> str:
        return str(self._data.get("precision", "fp32"))

    @property
    def precision_auto(self) -> bool:
        return bool(self._data.get("precision_auto"))

    @property
    def dim(self) -> int | None:
        return self._data.get("dim")

    @property
    def source_dicts(self) -> list[dict[str, Any]]:
        import copy

        return copy.deepcopy(self._data["sources"])

    @property
    def sources(self) -> list[Source]:
        return [Source.from_json(d) for d in self._data["sources"]]

    @property
    def enabled(self) -> bool:
        return bool(self._data.get("enabled"))

    @property
    def schedule(self) -> Any:
        return self._data.get("schedule")

    @property
    def video_fps(self) -> float:
        return float(self._data.get("video_fps", DEFAULT_FPS))

    @property
    def qdrant_url(self) -> str | None:
        return self._data.get("qdrant_url")

    def snapshot(self) -> Settings:
        """The settings one sync works with, read once."""
        return Settings(tuple(self.sources), self.video_fps)

    # -- writing ----------------------------------------------------------------------
    def attach_catalog(self, mirror: Callable[[dict[str, Any]], None] | None) -> None:
        """Where each save also keeps a copy (the catalog's ``config`` meta)."""
        self._mirror = mirror

    def update(self, **fields: Any) -> None:
        """Change fields and save."""
        self._data.update(fields)
        self.save()

    def save(self) -> None:
        write_json_atomic(self.layout.config, self._data)
        if self._mirror is not None:
            # A copy in the catalog lets `aisearch repair` rebuild a damaged project.json.
            self._mirror(self.as_dict())

    def upgrade(self) -> bool:
        """Bring an older format up to date (the caller saves)."""
        return upgrade_config(self._data, self.layout.folder)

    # -- building ---------------------------------------------------------------------
    @staticmethod
    def skeleton(name: str, model: str | None, sources: list[dict[str, Any]]) -> dict[str, Any]:
        """The fields every project.json starts from; :meth:`upgrade` adds the
        model's identity and vector size (what ``aisearch repair`` rebuilds)."""
        return {
            "version": CONFIG_VERSION,
            "name": name,
            "sources": sources,
            "model": model,
            "enabled": False,
            "schedule": None,
            "qdrant_url": None,
            "created_at": time.time(),
        }

    @staticmethod
    def build(
        name: str,
        model: str,
        sources: list[dict[str, Any]],
        *,
        device: str = "auto",
        precision: str = "auto",
        qdrant_url: Any = None,
        video_fps: float | None = None,
    ) -> dict[str, Any]:
        """The fields of a new project.json (the model spec is parsed: a typo fails
        here, before anything is written)."""
        from .embedder import (
            model_dim,
            model_identity,
            parse_model_spec,
            pick_device,
            resolve_precision,
            with_precision,
        )

        parsed = parse_model_spec(model)
        prec = resolve_precision(parsed, pick_device(device), precision)
        return {
            **ProjectConfig.skeleton(name, model, sources),
            "identity": with_precision(model_identity(parsed), prec),
            "precision": prec,
            # "auto" may still fall back to fp32 if the int8 check fails on first use.
            "precision_auto": precision == "auto",
            "dim": model_dim(parsed),
            "qdrant_url": strip_credentials(qdrant_url) if isinstance(qdrant_url, str) else None,
            "video_fps": video_fps or DEFAULT_FPS,
        }

    @classmethod
    def open_or_create(
        cls,
        layout: Layout,
        name: str,
        *,
        sources: Any,
        model: str | None,
        precision: str,
        device: str,
        path_column: str | None,
        replace_sources: bool,
        video_fps: float | None,
        qdrant_url: Any,
        default_model: str,
        server_options: dict[str, Any] | None = None,
    ) -> tuple[ProjectConfig, Any, bool]:
        """The config of the project at ``layout`` checked against what the caller
        asks, or a new one. Returns it, the Qdrant URL to use in this session
        (credentials included, never saved) and whether it must be written."""
        write = False
        if layout.exists():
            cfg = read_config(layout.config, name)
            if model is not None and not _same_model(model, cfg["model"]):
                stored = cfg["model"]
                raise ModelMismatch(
                    f"Project {name!r} was created with model {stored!r}; its vectors cannot "
                    f"be mixed with {model!r}. Open it without model=, or create a new project "
                    "for the other model."
                )
            stored_prec = cfg.get("precision", "fp32")
            if precision not in ("auto", stored_prec):
                raise ModelMismatch(
                    f"Project {name!r} holds {stored_prec} vectors; they cannot be mixed with "
                    f"{precision} ones. Open it without precision=, or convert it in the "
                    f"background with proj.reembed(precision={precision!r})."
                )
            if sources is not None:
                given = [s.to_json() for s in normalize_sources(sources, path_column=path_column)]
                if not same_sources(cfg["sources"], given):
                    if not replace_sources:
                        raise SourcesChanged(
                            f"Project {name!r} in {layout.folder.parent} indexes "
                            f"{describe_sources(cfg['sources'])}, not "
                            f"{describe_sources(given)}. Changing its sources drops the "
                            "embeddings, tags and collection members of the files left out: "
                            "to do it, call proj.set_sources(...) or pass replace_sources=True; "
                            "to keep both, give the other folder a project of its own name."
                        )
                    cfg["sources"] = given
                    write = True
            if video_fps is not None and video_fps != cfg.get("video_fps", DEFAULT_FPS):
                cfg["video_fps"] = video_fps  # the next sync samples its videos again
                write = True
            if isinstance(qdrant_url, str) and qdrant_url != cfg.get("qdrant_url"):
                cfg["qdrant_url"] = strip_credentials(qdrant_url)
                write = True
            if cfg.get("qdrant_url") and cfg["qdrant_url"] != strip_credentials(cfg["qdrant_url"]):
                # Written by an older version: keep the credentials for this session only.
                qdrant_url = qdrant_url if qdrant_url is not None else cfg["qdrant_url"]
                cfg["qdrant_url"] = strip_credentials(cfg["qdrant_url"])
                write = True
        else:
            home = layout.folder.parent
            if sources is None:
                names = project_names(home)
                raise ProjectNotFound(
                    f"No project {name!r} in {home}. Pass sources= to create it"
                    + (f"; existing projects: {', '.join(names)}" if names else "")
                    + "."
                )
            cfg = cls.build(
                name,
                model or default_model,
                [s.to_json() for s in normalize_sources(sources, path_column=path_column)],
                device=device,
                precision=precision,
                qdrant_url=qdrant_url,
                video_fps=video_fps,
            )
            write = True
        session_url = qdrant_url if qdrant_url is not None else cfg.get("qdrant_url")
        if server_options and session_url is None:
            raise InvalidArgument(
                f"server_options={server_options!r} apply to a Qdrant server "
                f"collection, and project {name!r} keeps its vectors in an embedded shard: "
                "pass qdrant_url= (a URL or a QdrantClient) too, or drop server_options."
            )
        return cls(layout, name, cfg), session_url, write


def _same_model(given: str, stored: str) -> bool:
    """Whether ``given`` names the model ``stored`` names (parsed only when the two
    texts differ: parsing imports open_clip)."""
    if given == stored:
        return True
    from .embedder import parse_model_spec

    return parse_model_spec(given) == parse_model_spec(stored)


def describe_sources(srcs: list[dict]) -> str:
    parts = [
        s["root"] if s["kind"] == "folder" else f"{len(s.get('paths', []))} listed files"
        for s in srcs
    ]
    return ", ".join(parts) if parts else "no sources"


def strip_credentials(url: str) -> str:
    """``url`` without ``user:password@``: credentials are never written to disk."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def check_fps(fps: Any) -> float:
    v = check_real("video_fps", fps, 0.0)
    if not 0 < v <= 1000:
        raise InvalidArgument(
            f"video_fps must be a number of frames per second in (0, 1000], e.g. 1.0 or 0.2 "
            f"(got {show_value(fps)})."
        )
    return v


def check_server_options(options: Any) -> dict[str, Any] | None:
    """``server_options`` as a dict of :class:`~.store.server.ServerStore` keyword
    options, or :class:`InvalidArgument` naming what is wrong."""
    if options is None:
        return None
    if not isinstance(options, dict):
        raise InvalidArgument(
            f"server_options must be a dict of Qdrant collection options, not {show_value(options)}."
        )
    import inspect

    from .store.server import ServerStore

    known = [
        p.name
        for p in inspect.signature(ServerStore.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        raise InvalidArgument(
            f"server_options: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(known)}."
        )
    return dict(options)


def skipped_folders(layout: Layout) -> list[str]:
    """Folders a scan never enters: every project's own folder in the home
    (thumbnails live there), but not other data kept beside them."""
    home = layout.folder.parent
    return [str(home / n) for n in project_names(home)] + [str(layout.folder)]


def require_project(home: Path, name: str) -> Path:
    """``home`` if it holds a project ``name``, else :class:`ProjectNotFound` listing
    the ones it holds."""
    if not Layout.of(home, name).exists():
        names = project_names(home)
        raise ProjectNotFound(
            f"No project {name!r} in {home}."
            + (f" Existing projects: {', '.join(names)}." if names else " It holds no projects.")
        )
    return home
