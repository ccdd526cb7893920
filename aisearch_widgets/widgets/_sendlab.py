""" "Send to labelling…" of the "With N selected ▾" menu, mixed into :class:`SearchPanel`:
a Label Studio project made from the images acted on (the selection, or every image
shown), by the public ``Collection.annotate``, on a worker (the kernel stays free
while the images are uploaded and the tasks imported).

The form starts with what this panel sent last, else ``LABEL_STUDIO_URL`` (or
``http://localhost:8080``), a title made from what the gallery shows, and the classes
of the label set shown. The API key comes with the request only: typed in the form,
or ``LABEL_STUDIO_API_KEY`` of the kernel when the field is empty. It is handed to
``annotate`` and dropped; no reply, message, log line or file carries it (the job
recorded in the project's ``jobs.json`` never has one).
"""

from __future__ import annotations

import os
from typing import Any

from .._annotate import ENV_KEY
from .._errors import InvalidArgument
from ..collection import Collection
from ._jobs import Work
from ._protocol import LabelKind, Reply, Storage

ENV_URL = "LABEL_STUDIO_URL"
ENV_ROOT = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"
DEFAULT_URL = "http://localhost:8080"
TITLE_MIN, TITLE_MAX = 3, 50  # what Label Studio accepts as a project title
_MAX_CLASSES = 200  # the form offers at most these many classes of a label set


def default_title(project: str, result: Collection | None) -> str:
    """A Label Studio project title for ``result``: the project's name and the saved
    collection's name or the prompt, cut to the length Label Studio accepts."""
    what = ""
    if result is not None:
        q = result.query
        text = q.get("text")
        if result.name:
            what = result.name
        elif q.get("type") == "prompt" and text:
            what = " + ".join(map(str, text)) if isinstance(text, list) else str(text)
        elif isinstance(q.get("type"), str):
            what = str(q["type"])
    title = f"{project}: {what}" if what else project
    title = title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1].rstrip() + "…"
    return title if len(title) >= TITLE_MIN else f"{title} images"[:TITLE_MAX]


def split_labels(text: str) -> list[str]:
    """The classes of the form's comma separated field, in order, each once."""
    return list(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))


class SendToLabelling:
    """Mixin of :class:`SearchPanel` (which provides ``project``, ``_result``,
    ``_acted_on``, ``_label_set`` and ``_done``)."""

    _result: Collection | None
    _labelling_last: dict[str, Any] | None = None  # the form's values sent last (no key)

    def _labelling_form(self) -> Reply:
        """What the form starts with. Never the key: only whether the kernel has one."""
        project = self.project  # type: ignore[attr-defined]
        last = self._labelling_last or {}
        classes: list[str] = []
        set_ = self._label_set()  # type: ignore[attr-defined]
        if set_ is not None:
            counts = project.labels(set=set_)["label"].value_counts(sort=True)
            classes = [str(c) for c in counts.index[:_MAX_CLASSES]]
        root = os.environ.get(ENV_ROOT, "")
        fields = {
            "url": last.get("url") or os.environ.get(ENV_URL) or DEFAULT_URL,
            "project": default_title(project.name, self._result),
            "labels": last.get("labels") or classes,
            "storage": last.get("storage") or (Storage.LOCAL if root else Storage.UPLOAD).value,
            "root": last.get("root") or root,
            "key_from_env": bool(os.environ.get(ENV_KEY)),
        }
        return Reply(fields)

    def _send_to_labelling(
        self,
        url: str,
        project: str,
        labels: str,
        kind: LabelKind,
        storage: Storage,
        root: str,
        api_key: str,
        count: int,
    ) -> Work:
        """A Label Studio project of the images acted on, made on a worker; the reply
        carries its address and the number of tasks."""
        target = self._acted_on(count)  # type: ignore[attr-defined]
        title = project.strip()
        if not TITLE_MIN <= len(title) <= TITLE_MAX:
            raise InvalidArgument(
                f"Project title: {TITLE_MIN} to {TITLE_MAX} characters, as Label Studio "
                f"accepts (got {len(title)})."
            )
        names = split_labels(labels)
        if not names:
            raise InvalidArgument("Labels: name the classes, comma separated, like car, truck.")
        root = root.strip()
        if storage == Storage.LOCAL and not root:
            raise InvalidArgument(
                "Local files: name Label Studio's document root (the folder it was started "
                f"with as {ENV_ROOT}, above every image), or choose Upload."
            )
        key = api_key.strip() or None
        if key is None and not os.environ.get(ENV_KEY):
            raise InvalidArgument(
                f"API key: type it (Label Studio: Account & Settings → Access Token), or "
                f"set {ENV_KEY} for the kernel."
            )
        url = url.strip()
        options = {"url": url, "labels": names, "storage": storage.value, "root": root}

        def compute() -> Any:
            return target.annotate(
                "labelstudio",
                url=url,
                project=title,
                labels=names,
                kind=kind.value,
                storage=storage.value,
                root=root if storage == Storage.LOCAL else None,
                api_key=key,
            )

        def done(job: Any) -> Reply:
            self._labelling_last = options
            return Reply({"url": job.url, "tasks": job.images, "title": job.title})

        return Work(compute, done, label="Sending to Label Studio", slot="labelling", shown=False)
