"""``Collection.annotate`` and ``Project.jobs``: a labelling job on a Label Studio
server, made from a collection, and its labels brought back.

``col.annotate("labelstudio", url=…, project="Night scenes", labels=[…],
kind="choices"|"boxes", storage="local"|"upload")`` talks to Label Studio's REST API
(plain HTTP, no SDK):

1. checks the API key (``api_key=`` or ``LABEL_STUDIO_API_KEY``; a legacy token is
   sent as ``Token``, a personal access token is exchanged for an access token);
2. creates a Label Studio project whose labelling config has an ``Image`` named
   ``image`` and ``Choices`` named ``choice`` or ``RectangleLabels`` named ``label``
   (the names the ``labelstudio`` export uses);
3. connects the images: ``storage="local"`` when Label Studio runs on the machine
   that holds them (it serves files under its ``LOCAL_FILES_DOCUMENT_ROOT``, which
   ``root=`` names; a local-files storage on the folder holding the images grants
   access), ``storage="upload"`` copies each image to the server;
4. imports one task per image (``data.image``, ``data.aisearch_id``), with the
   labels of the label set ``predictions=`` as predictions when given.

The job is recorded in ``jobs.json`` in the project's home folder (written
atomically, after every step above succeeded; the API key is never written), so
``proj.jobs`` lists it after a restart. ``job.progress()`` counts the labelled
tasks, ``job.pull(set=…)`` imports the finished tasks' labels (boxes from percent to
pixels of the original image) like :meth:`Project.import_labels`.

A failure after the Label Studio project was made deletes that project when it can,
and the error names it when it cannot; the project's files are left as they were.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlparse
from urllib.request import Request, urlopen
from xml.sax.saxutils import quoteattr

import pandas as pd

from . import _import_labels
from ._errors import AISearchError, InvalidArgument, LabellingServerError, show_value
from ._export_labels import LS_PREFIX, Job, header_size, image_sizes, ls_tasks
from ._home import read_json, write_json_atomic
from ._labels import check_name

BACKENDS = ("labelstudio",)
KINDS = ("choices", "boxes")
STORAGES = ("local", "upload")
JOBS_FILE = "jobs.json"
ENV_KEY = "LABEL_STUDIO_API_KEY"
_BATCH = 5_000  # tasks per import request (Label Studio takes up to 250k / 200 MB)
_UPLOAD_BATCH = 50  # files per upload request
_TIMEOUT = 60.0


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``labelled`` of ``total`` tasks have an annotation."""

    labelled: int
    total: int

    @property
    def done(self) -> bool:
        return self.total > 0 and self.labelled >= self.total

    def __str__(self) -> str:
        return f"{self.labelled}/{self.total} labelled"


class _Client:
    """JSON over HTTP to one Label Studio server, errors that say what to do."""

    def __init__(self, url: str, api_key: str | None, timeout: float = _TIMEOUT) -> None:
        u = urlparse(url)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise InvalidArgument(
                f"url must be the address of Label Studio, like http://localhost:8080 "
                f"(got {show_value(url)})."
            )
        self.base = url.rstrip("/")
        self.timeout = timeout
        key = api_key if api_key is not None else os.environ.get(ENV_KEY)
        if not key:
            raise InvalidArgument(
                f"No API key for Label Studio at {self.base}: pass api_key= or set {ENV_KEY} "
                "(Label Studio: Account & Settings → Access Token)."
            )
        self._key = key
        self._auth: str | None = None

    def _header(self) -> str:
        if self._auth is None:
            if self._key.count(".") == 2:  # a personal access token (a JWT refresh token)
                got = self._send("POST", "/api/token/refresh/", {"refresh": self._key}, auth=None)
                self._auth = f"Bearer {got['access']}"
            else:
                self._auth = f"Token {self._key}"
        return self._auth

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self._send(method, path, body, auth=self._header())

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        auth: str | None,
        raw: tuple[bytes, str] | None = None,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = auth
        data = None
        if raw is not None:
            data, headers["Content-Type"] = raw
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urlopen(req, timeout=self.timeout) as resp:
                out = resp.read()
        except HTTPError as exc:
            detail = exc.read()[:400].decode("utf-8", "replace").strip()
            if exc.code in (401, 403):
                raise LabellingServerError(
                    f"Label Studio at {self.base} refused the API key ({exc.code}: {detail}). "
                    f"Pass a valid api_key= or set {ENV_KEY}: a legacy token (Account & "
                    "Settings → Legacy Token; the organisation must allow legacy tokens) or "
                    "a personal access token."
                ) from None
            raise LabellingServerError(
                f"Label Studio at {self.base} answered {exc.code} to {method} {path}: {detail}"
            ) from None
        except (URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LabellingServerError(
                f"Cannot reach Label Studio at {self.base} ({reason}). Is it running, and is "
                "the address right (e.g. `label-studio start` serves http://localhost:8080)?"
            ) from None
        return json.loads(out) if out.strip() else None

    def upload(self, path: str, files: Sequence[tuple[str, bytes]]) -> Any:
        """``files`` (name, bytes) as one multipart/form-data POST."""
        boundary = uuid.uuid4().hex
        parts = []
        for k, (name, blob) in enumerate(files):
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file{k}"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            )
            parts += [head.encode(), blob, b"\r\n"]
        parts.append(f"--{boundary}--\r\n".encode())
        kind = f"multipart/form-data; boundary={boundary}"
        return self._send("POST", path, None, self._header(), raw=(b"".join(parts), kind))


def label_config(labels: Sequence[str], kind: str) -> str:
    """The labelling config: an image and the classes as choices or box labels."""
    if kind == "choices":
        opts = "".join(f"<Choice value={quoteattr(c)}/>" for c in labels)
        tool = f'<Choices name="choice" toName="image" choice="single">{opts}</Choices>'
    else:
        opts = "".join(f"<Label value={quoteattr(c)}/>" for c in labels)
        tool = f'<RectangleLabels name="label" toName="image">{opts}</RectangleLabels>'
    return f'<View><Image name="image" value="$image"/>{tool}</View>'


class LabelStudioJob:
    """A Label Studio project made by :meth:`Collection.annotate`.

    >>> job = proj.last.annotate("labelstudio", url="http://localhost:8080",
    ...     project="Night scenes", labels=["car", "truck"], kind="boxes",
    ...     storage="local", root="/data")                        # doctest: +SKIP
    >>> job.url, job.progress()                                   # doctest: +SKIP
    >>> job.pull(set="ground_truth")                              # doctest: +SKIP
    """

    backend = "labelstudio"

    def __init__(self, record: dict[str, Any], catalog: Any, api_key: str | None = None) -> None:
        self.server: str = record["server"]
        self.project_id: int = int(record["project_id"])
        self.title: str = record["title"]
        self.kind: str = record["kind"]
        self.labels: list[str] = list(record["labels"])
        self.storage: str = record["storage"]
        self.images: int = int(record["images"])
        self.predictions: str | None = record.get("predictions")
        self.created_at: float = float(record["created_at"])
        self._catalog = catalog
        self._api_key = api_key  # in memory only, never written

    @property
    def url(self) -> str:
        """The project's page in Label Studio (open it to label)."""
        return f"{self.server}/projects/{self.project_id}/data"

    def record(self) -> dict[str, Any]:
        """What ``jobs.json`` keeps of the job (no API key)."""
        return {
            "backend": self.backend,
            "server": self.server,
            "project_id": self.project_id,
            "title": self.title,
            "kind": self.kind,
            "labels": self.labels,
            "storage": self.storage,
            "images": self.images,
            "predictions": self.predictions,
            "created_at": self.created_at,
        }

    def _client(self, api_key: str | None) -> _Client:
        return _Client(self.server, api_key or self._api_key)

    def progress(self, api_key: str | None = None) -> Progress:
        """How many of the job's tasks have an annotation, of how many."""
        info = self._client(api_key).call("GET", f"/api/projects/{self.project_id}")
        return Progress(int(info.get("num_tasks_with_annotations") or 0), int(info["task_number"]))

    def tasks(self, api_key: str | None = None, finished: bool = True) -> list[dict[str, Any]]:
        """The job's tasks as Label Studio exports them (JSON), the finished ones
        (an annotation that was not skipped) unless ``finished=False``."""
        q = urlencode({"exportType": "JSON", "download_all_tasks": str(not finished).lower()})
        got = self._client(api_key).call("GET", f"/api/projects/{self.project_id}/export?{q}")
        if finished:
            got = [t for t in got if any(not a.get("was_cancelled") for a in t["annotations"])]
        return got

    def pull(
        self, set: str = "ground_truth", api_key: str | None = None
    ) -> _import_labels.LabelImport:
        """The labels of the finished tasks into the label set ``set`` (each
        image's labels in that set replaced by its latest annotation), as
        :meth:`Project.import_labels` does; tasks not labelled yet are left out."""
        check_name(set, "label set")
        tasks = self.tasks(api_key)
        ids = {
            _import_labels.ls_name(t["data"]["image"]): t["data"].get("aisearch_id") for t in tasks
        }
        rows, pct = _import_labels.ls_rows(tasks, predictions=False)
        frame = pd.DataFrame(
            rows, columns=["path", "label", "x", "y", "w", "h", "confidence", "author"]
        )
        frame["id"] = [ids.get(n) for n in frame["path"]]
        if pct:  # boxes without the image's size: the file's header tells it
            recs = self._catalog.records([frame.at[k, "id"] for k in pct if frame.at[k, "id"]])
            for k in sorted(pct):
                if frame.at[k, "id"] not in recs:
                    continue
                iw, ih = header_size(recs[frame.at[k, "id"]].path)
                for c, s in (("x", iw), ("y", ih), ("w", iw), ("h", ih)):
                    frame.loc[k, c] = frame.loc[k, c] * s / 100
        return _import_labels.run(self._catalog, frame, set, "dataframe", None, None)

    def __repr__(self) -> str:
        return (
            f"<LabelStudioJob {self.title!r}: {self.images} images, {self.kind} "
            f"{', '.join(self.labels)}, {self.url}>"
        )


def jobs(folder: Path, catalog: Any) -> list[LabelStudioJob]:
    """``proj.jobs``: the jobs recorded in the project's home, oldest first."""
    return [LabelStudioJob(r, catalog) for r in _read(folder)]


def _read(folder: Path) -> list[dict[str, Any]]:
    p = Path(folder) / JOBS_FILE
    if not p.exists():
        return []
    try:
        got = read_json(p).get("jobs", [])
    except (OSError, ValueError, AttributeError) as exc:
        raise AISearchError(
            f"Cannot read the labelling jobs of this project ({p}): {exc}. Move the file "
            "away to start a new list (the Label Studio projects are not affected)."
        ) from exc
    return [r for r in got if isinstance(r, dict) and r.get("backend") == "labelstudio"]


def _check(
    backend: str, labels: Any, kind: str, storage: Any, root: Any
) -> tuple[list[str], Path | None]:
    if backend not in BACKENDS:
        raise InvalidArgument(
            f"annotate(): backend must be one of {', '.join(BACKENDS)} (got "
            f"{show_value(backend)}); for CVAT, export(path, format='cvat')."
        )
    if kind not in KINDS:
        raise InvalidArgument(f"kind must be 'choices' or 'boxes' (got {show_value(kind)}).")
    if storage not in STORAGES:
        raise InvalidArgument(
            "storage must be 'local' (Label Studio runs on this machine and serves the "
            "files under its LOCAL_FILES_DOCUMENT_ROOT, named by root=) or 'upload' (the "
            f"images are copied to the server); got {show_value(storage)}."
        )
    if isinstance(labels, str) or not isinstance(labels, Iterable) or not list(labels):
        raise InvalidArgument("labels must be a list of class names, like ['car', 'truck'].")
    names = list(dict.fromkeys(check_name(x, "label") for x in labels))
    if storage == "upload":
        return names, None
    if root is None:
        raise InvalidArgument(
            "storage='local' needs root=: the folder Label Studio was started with as "
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (with LOCAL_FILES_SERVING_ENABLED=true)."
        )
    return names, Path(root).expanduser().absolute()


def _local_urls(paths: list[str], root: Path) -> tuple[list[str], str]:
    """Each image's local-files URL and the folder holding them all (the storage
    Label Studio checks access with; it must lie below the document root)."""
    rels = []
    for p in paths:
        try:
            rels.append(Path(p).relative_to(root).as_posix())
        except ValueError:
            raise InvalidArgument(
                f"{p} is not under root={root}: Label Studio serves local files only from "
                "its LOCAL_FILES_DOCUMENT_ROOT. Start it with a document root above every "
                "image, or use storage='upload'."
            ) from None
    folder = Path(os.path.commonpath([str(Path(p).parent) for p in paths]))
    if folder == root:
        raise InvalidArgument(
            f"The images lie directly in the document root {root}; Label Studio needs them "
            "in a folder below it (its local storage cannot be the root itself). Start it "
            "with the parent folder as LOCAL_FILES_DOCUMENT_ROOT, or use storage='upload'."
        )
    return [LS_PREFIX + quote(r, safe="/") for r in rels], str(folder)


def _predictions(catalog: Any, set_: str | None, ids: list[str], keep: set[str], kind: str) -> Any:
    if set_ is None:
        return pd.DataFrame(columns=["id", "label", "x", "y", "w", "h", "confidence"])
    if set_ not in catalog.label_sets():
        raise InvalidArgument(
            f"predictions={set_!r}: the project has no such label set; its sets: "
            f"{', '.join(map(repr, catalog.label_sets())) or 'none'}."
        )
    lab = catalog.labels_frame(set_, ids)
    boxed = lab["x"].notna() if kind == "boxes" else lab["x"].isna()
    return lab[boxed & lab["label"].isin(keep)].reset_index(drop=True)


def annotate(
    catalog: Any,
    folder: Path,
    df: pd.DataFrame,
    backend: str,
    *,
    url: str,
    project: str,
    labels: Sequence[str],
    kind: str = "choices",
    storage: str,
    root: str | os.PathLike[str] | None = None,
    predictions: str | None = None,
    api_key: str | None = None,
) -> LabelStudioJob:
    """See the module and :meth:`Collection.annotate`."""
    names, rootp = _check(backend, labels, kind, storage, root)
    if not isinstance(project, str) or not project.strip():
        raise InvalidArgument("project must be the title of the Label Studio project to make.")
    imgs = df[df["kind"] == "image"]
    if imgs.empty:
        raise AISearchError("Nothing to label: this collection holds no images.")
    ids, paths = imgs["id"].tolist(), imgs["path"].tolist()
    local_urls, store = _local_urls(paths, rootp) if rootp is not None else ([], "")
    lab = _predictions(catalog, predictions, ids, set(names), kind)
    job = Job(ids, paths, paths, image_sizes(catalog, ids, paths), lab, [], predictions)
    client = _Client(url, api_key)
    client.call("GET", "/api/projects?page_size=1")  # the key and the server, before any change
    made = client.call(
        "POST",
        "/api/projects",
        {"title": project, "label_config": label_config(names, kind)},
    )
    pid = int(made["id"])
    try:
        if storage == "local":
            client.call(
                "POST",
                "/api/storages/localfiles",
                {"project": pid, "path": store, "title": "aisearch images", "use_blob_urls": True},
            )
            urls = local_urls
        else:
            urls = _upload(client, pid, ids, paths)
        tasks = ls_tasks(job, urls)
        for lo in range(0, len(tasks), _BATCH):
            client.call("POST", f"/api/projects/{pid}/import", tasks[lo : lo + _BATCH])
        rec = {
            "backend": "labelstudio",
            "server": client.base,
            "project_id": pid,
            "title": project,
            "kind": kind,
            "labels": names,
            "storage": storage,
            "images": len(ids),
            "predictions": predictions,
            "created_at": time.time(),
        }
        out = LabelStudioJob(rec, catalog, api_key)
        _append(folder, out.record())
    except BaseException as exc:
        err = _undo(client, pid, project, exc)
        if err is exc:  # an interrupt stays an interrupt
            raise
        raise err from exc
    return out


def _upload(client: _Client, pid: int, ids: list[str], paths: list[str]) -> list[str]:
    """Copy the images to the server (not as tasks yet): each named by its id so its
    URL tells which image it is; returns each one's URL on the server."""
    got: dict[int, str] = {}
    for lo in range(0, len(ids), _UPLOAD_BATCH):
        files = [
            (f"{pid_}.{''.join(filter(str.isalnum, Path(p).suffix.lower()))}", Path(p).read_bytes())
            for pid_, p in zip(
                ids[lo : lo + _UPLOAD_BATCH], paths[lo : lo + _UPLOAD_BATCH], strict=True
            )
        ]
        up = client.upload(f"/api/projects/{pid}/import?commit_to_project=false", files)
        fids = up.get("file_upload_ids") or []
        q = urlencode({"ids": json.dumps(fids)})
        for f in client.call("GET", f"/api/projects/{pid}/file-uploads?{q}"):
            got[int(f["id"])] = f["file"]
    # Label Studio names an upload "<8 hex>-<name>": ls_name drops that prefix.
    by_name = {Path(_import_labels.ls_name("/data/" + f)).stem: f for f in got.values()}
    missing = [i for i in ids if i not in by_name]
    if missing:
        raise LabellingServerError(
            f"Label Studio did not keep {len(missing)} of the uploaded images (first: "
            f"{paths[ids.index(missing[0])]})."
        )
    return ["/data/" + by_name[i].lstrip("/") for i in ids]


def _undo(client: _Client, pid: int, title: str, exc: BaseException) -> BaseException:
    """Delete the half-made Label Studio project; the error says what is left."""
    try:
        client.call("DELETE", f"/api/projects/{pid}")
        left = f"The Label Studio project {title!r} (id {pid}) made for it was deleted."
    except Exception:
        left = (
            f"The Label Studio project {title!r} (id {pid}, {client.base}/projects/{pid}) was "
            "made and may still exist: delete it there before trying again."
        )
    msg = f"The labelling job was not made: {exc} {left} Nothing was recorded in the project."
    return LabellingServerError(msg) if isinstance(exc, Exception) else exc


def _append(folder: Path, rec: dict[str, Any]) -> None:
    p = Path(folder) / JOBS_FILE
    write_json_atomic(p, {"jobs": [*_read(folder), rec]})
