"""The panel's message protocol, defined once for both sides.

The front end sends *requests*: ``{"type": <Request>, "rid": <request id>, ...fields}``
where the fields are exactly those of :data:`SPECS` for that type. Python answers every
request with one *reply*: ``{"type": "reply", "rid": ..., "ok": true, ...result}`` or
``{"type": "reply", "rid": ..., "ok": false, "error": "<what went wrong>"}`` (a reply
may carry binary buffers: thumbnails, a preview). So the front end never waits
forever, and it shows the error. A search replaced by a newer one, or cancelled,
is answered ``{"ok": false, "cancelled": true, "error": ...}``: not an error to show.

Each value travels one way. Search parameters (prompt, limit, n, method, clusters,
reference ids) travel in requests; the traits of the same names are view state that
Python sets (what ran last, the defaults) and the front end only displays. The
traits the front end writes are selections of the view: ``mode`` (the tab),
gallery ``page``, ``selected`` and ``view`` (thumbnails or video segments).

``js/src/protocol.js`` is generated from this module and must not be edited::

    python -m aisearch_widgets.widgets._protocol > js/src/protocol.js

``tests/test_widgets.py`` fails when the generated file is stale, and
``npm run check`` (in ``js/``) when the shipped bundle is.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from .._errors import InvalidArgument, check_int
from ..quality import ISSUES  # the quality issues the Outliers tab and the filters offer


class Part(StrEnum):
    """The widgets that send requests (each reply goes back to its sender)."""

    CONTROLS = "controls"
    GALLERY = "gallery"
    ACTIONS = "actions"
    CHART = "chart"


class Request(StrEnum):
    """Message types the front end sends."""

    SEARCH_PROMPT = "search_prompt"
    SEARCH_DIVERSE = "search_diverse"
    SEARCH_SIMILAR = "search_similar"
    TOGGLE_ENABLED = "toggle_enabled"
    UPDATE_NOW = "update_now"
    REMOVE_REFERENCE = "remove_reference"
    THUMBS = "thumbs"
    PAGE_AHEAD = "page_ahead"
    PREVIEW = "preview"
    SIMILAR_ONE = "similar_one"
    SIMILAR_SELECTED = "similar_selected"
    OPEN = "open"
    SAVE = "save"
    TAG = "tag"
    UNTAG = "untag"
    COPY = "copy"
    MOVE = "move"
    DELETE = "delete"
    EXPORT = "export"
    UNDO_DELETE = "undo_delete"
    DROP_HIDDEN = "drop_hidden"
    SEARCH_DUPLICATES = "search_duplicates"
    SEARCH_OUTLIERS = "search_outliers"
    TAG_ALL_BUT_BEST = "tag_all_but_best"
    DELETE_ALL_BUT_BEST = "delete_all_but_best"
    COMPARE = "compare"
    SET_KEEPER = "set_keeper"
    TRASH_GROUP = "trash_group"
    CANCEL = "cancel"
    SET_THRESHOLD = "set_threshold"
    SET_RANGE = "set_range"
    FULL_RANGE = "full_range"
    DETAILS = "details"
    TAG_IMAGES = "tag_images"
    UNTAG_IMAGES = "untag_images"
    SELECT_ALL = "select_all"
    SET_SCOPE = "set_scope"
    SCOPE_OPTIONS = "scope_options"
    SEARCH_QUALITY = "search_quality"
    EXPORT_AS = "export_as"
    MARK = "mark"
    REFINE = "refine"
    LABELLING_FORM = "labelling_form"
    SEND_TO_LABELLING = "send_to_labelling"


#: The one message type Python sends: the answer to a request.
REPLY = "reply"
#: A message Python sends unasked, just before a new view's first page of items:
#: ``{"type": THUMBS_SENT, "ids": [...]}`` with one JPEG buffer per id, so the browser
#: paints that page without asking for its thumbnails.
THUMBS_SENT = "thumbs_sent"


# Closed sets held by traits (``traitlets.Enum`` of their values) and used by the JS.
class Mode(StrEnum):
    PROMPT = "prompt"
    DIVERSE = "diverse"
    SIMILAR = "similar"
    DUPLICATES = "duplicates"
    OUTLIERS = "outliers"


class Method(StrEnum):
    CENTROIDS = "centroids"
    RANDOM = "random"


class State(StrEnum):
    DISABLED = "disabled"
    INDEXING = "indexing"
    READY = "ready"


class MessageKind(StrEnum):
    INFO = "info"
    ERROR = "error"


class View(StrEnum):
    """How the gallery shows results: thumbnails, or (for video frames) the table of
    time segments that Python fills in the gallery's ``segments`` trait."""

    GRID = "grid"
    SEGMENTS = "segments"


class Side(StrEnum):
    """Which side of the threshold the gallery shows."""

    ABOVE = "above"
    BELOW = "below"


class ScoreFilter(StrEnum):
    """The score filter of the gallery: none, one side of the threshold, or a brushed
    range (both ends included)."""

    ALL = "all"
    ABOVE = "above"
    BELOW = "below"
    BETWEEN = "between"


class LabelKind(StrEnum):
    """What a labelling job asks for: one class per image, or boxes."""

    CHOICES = "choices"
    BOXES = "boxes"


class Storage(StrEnum):
    """How Label Studio gets the images: served from this machine's files (its
    local-files document root), or uploaded to the server."""

    LOCAL = "local"
    UPLOAD = "upload"


ENUMS: tuple[type[StrEnum], ...] = (
    Mode,
    Method,
    State,
    MessageKind,
    View,
    Side,
    ScoreFilter,
    LabelKind,
    Storage,
)

# Field types: "string", "integer" (>= 0; the API checks its own ranges), "number" (a
# finite float), "list" (a list of anything: ids the handler checks against the
# project), or a closed set.
FieldType = str | type[StrEnum]


@dataclass(frozen=True)
class Spec:
    """What one request carries. ``part``: the widget that sends it, answers it and
    shows its outcome. ``reply``: the result fields of an ``ok`` reply."""

    part: Part
    fields: dict[str, FieldType] = field(default_factory=dict)
    reply: dict[str, str] = field(default_factory=dict)
    doc: str = ""


SPECS: dict[Request, Spec] = {
    Request.SEARCH_PROMPT: Spec(
        Part.CONTROLS, {"prompt": "string", "limit": "integer"}, doc="search by text"
    ),
    Request.SEARCH_DIVERSE: Spec(
        Part.CONTROLS,
        {"n": "integer", "method": Method, "clusters": "integer"},
        doc="a diverse sample; clusters 0 = as many as samples",
    ),
    Request.SEARCH_SIMILAR: Spec(
        Part.CONTROLS, {"ids": "list", "limit": "integer"}, doc="similar to reference ids"
    ),
    Request.TOGGLE_ENABLED: Spec(Part.CONTROLS, doc="enable or disable AI search"),
    Request.UPDATE_NOW: Spec(Part.CONTROLS, doc="start a sync now"),
    Request.REMOVE_REFERENCE: Spec(Part.CONTROLS, {"id": "string"}, doc="drop a chip"),
    Request.THUMBS: Spec(
        Part.GALLERY,
        {"ids": "list"},
        reply={"ids": "string[]"},
        doc="thumbnails of the ids on screen: one JPEG buffer per id (empty: none)",
    ),
    Request.PAGE_AHEAD: Spec(
        Part.GALLERY,
        {"page": "integer", "view": "integer"},
        reply={"page": "integer", "view": "integer", "items": "object[]", "ids": "string[]"},
        doc="the items of a page not shown yet and their thumbnails (one JPEG buffer per "
        "id of ``ids``), asked ahead so that Next paints at once; ``view``: the "
        "gallery's ``view_id`` it was asked for (a newer view answers no items)",
    ),
    Request.PREVIEW: Spec(
        Part.GALLERY,
        {"id": "string", "size": "integer"},
        reply={"name": "string", "score": "number", "time": "string"},
        doc="a large preview: one JPEG buffer, its longest side ``size`` px (the box it "
        "is shown in, device pixels) or the original's if smaller; time: a video "
        "frame's time, else empty",
    ),
    Request.SIMILAR_ONE: Spec(Part.GALLERY, {"id": "string"}, doc="similar to one image"),
    Request.MARK: Spec(
        Part.GALLERY,
        {"id": "string", "mark": "string"},
        reply={"positives": "string[]", "negatives": "string[]"},
        doc="mark one image 👍 (up), 👎 (down) or clear its mark (none)",
    ),
    Request.REFINE: Spec(
        Part.ACTIONS, doc="refine the result shown with the 👍/👎 marks (one 👍 at least)"
    ),
    Request.SIMILAR_SELECTED: Spec(
        Part.ACTIONS, {"count": "integer"}, doc="similar to the selection (count: as shown)"
    ),
    Request.OPEN: Spec(Part.ACTIONS, {"name": "string"}, doc="show a saved collection"),
    # The actions of the "With N selected" menu act on the selection, or on every image
    # shown when nothing is selected. ``count`` is the number the menu showed the user:
    # when the images acted on are not that many (the view changed meanwhile), nothing
    # is done and the reply says why.
    Request.SAVE: Spec(Part.ACTIONS, {"name": "string", "count": "integer"}, doc="save"),
    Request.TAG: Spec(Part.ACTIONS, {"tag": "string", "count": "integer"}, doc="add a tag"),
    Request.UNTAG: Spec(Part.ACTIONS, {"tag": "string", "count": "integer"}, doc="remove a tag"),
    Request.COPY: Spec(Part.ACTIONS, {"dir": "string", "count": "integer"}, doc="copy files"),
    Request.MOVE: Spec(Part.ACTIONS, {"dir": "string", "count": "integer"}, doc="move files"),
    Request.DELETE: Spec(
        Part.ACTIONS, {"count": "integer"}, doc="move the files to the project's trash"
    ),
    Request.EXPORT: Spec(
        Part.ACTIONS, {"path": "string", "count": "integer"}, doc="export a manifest"
    ),
    Request.UNDO_DELETE: Spec(Part.ACTIONS, doc="restore what the last delete moved to the trash"),
    Request.DROP_HIDDEN: Spec(
        Part.ACTIONS, doc="drop the selected images a score filter hides from the selection"
    ),
    Request.SEARCH_DUPLICATES: Spec(Part.CONTROLS, doc="groups of duplicate images"),
    Request.SEARCH_OUTLIERS: Spec(Part.CONTROLS, {"n": "integer"}, doc="the n most unusual"),
    Request.TAG_ALL_BUT_BEST: Spec(
        Part.ACTIONS, {"tag": "string"}, doc="tag the shown duplicates but each group's keeper"
    ),
    Request.DELETE_ALL_BUT_BEST: Spec(
        Part.ACTIONS,
        {"count": "integer"},
        doc="trash the shown duplicates but each group's keeper; count: what the user confirmed",
    ),
    Request.COMPARE: Spec(
        Part.GALLERY,
        {"group": "integer"},
        reply={"rows": "object[]"},
        doc="a duplicate group side by side: per member a JPEG buffer, then per copy a "
        "difference image against the keeper (empty when not made)",
    ),
    Request.SET_KEEPER: Spec(
        Part.GALLERY, {"id": "string"}, doc="keep this copy of its group (not the proposed one)"
    ),
    Request.TRASH_GROUP: Spec(
        Part.GALLERY,
        {"group": "integer", "count": "integer"},
        doc="trash a group's copies but its keeper; count: what the user confirmed",
    ),
    Request.CANCEL: Spec(
        Part.CONTROLS, doc="stop waiting for the running search (its reply says cancelled)"
    ),
    Request.SET_THRESHOLD: Spec(
        Part.CHART,
        {"side": Side, "value": "number"},
        doc="the threshold (typed + Enter, or the dragged line); show that side of it",
    ),
    Request.SET_RANGE: Spec(
        Part.CHART, {"lo": "number", "hi": "number"}, doc="a brushed score range, ends included"
    ),
    Request.FULL_RANGE: Spec(Part.CHART, doc="no score filter"),
    # The gallery's own requests (keyboard, preview, tag chips): ids of the result only.
    Request.DETAILS: Spec(
        Part.GALLERY,
        {"id": "string"},
        reply={"details": "object"},
        doc="what the preview says of one image shown: name in the project, size, "
        "dimensions, score, tags, video time, labels and boxes (pixels of the original)",
    ),
    Request.TAG_IMAGES: Spec(
        Part.GALLERY, {"ids": "list", "tag": "string"}, doc="add a tag to these images"
    ),
    Request.UNTAG_IMAGES: Spec(
        Part.GALLERY, {"ids": "list", "tag": "string"}, doc="remove a tag from these images"
    ),
    Request.SELECT_ALL: Spec(
        Part.GALLERY, reply={"count": "integer"}, doc="select every image shown (all pages)"
    ),
    # Where searches run: "Search in:" and the filter chips (structured values only).
    Request.SET_SCOPE: Spec(
        Part.CONTROLS,
        {"within": "string", "name": "string", "filters": "list"},
        doc="search in the project, a saved collection (name) or the results shown "
        "(name 'kept': the ones already chosen), with these filters",
    ),
    Request.SCOPE_OPTIONS: Spec(
        Part.CONTROLS,
        reply={"tags": "string[]", "folders": "string[]", "issues": "string[]"},
        doc="what the filter editor offers",
    ),
    Request.SEARCH_QUALITY: Spec(
        Part.CONTROLS, {"issue": "string"}, doc="images with a quality issue ('' for any)"
    ),
    Request.EXPORT_AS: Spec(
        Part.ACTIONS,
        {"path": "string", "format": "string", "count": "integer"},
        doc="export a dataset (coco, yolo, cvat, labelstudio, imagefolder, fiftyone) or a "
        "manifest (csv, jsonl) to a new path",
    ),
    # "Send to labelling…": a Label Studio project made from the images acted on. The
    # API key travels in the request only (empty: LABEL_STUDIO_API_KEY of the kernel);
    # no reply, message or file ever carries it.
    Request.LABELLING_FORM: Spec(
        Part.ACTIONS,
        reply={
            "url": "string",
            "project": "string",
            "labels": "string[]",
            "storage": "string",
            "root": "string",
            "key_from_env": "boolean",
        },
        doc="what the labelling form starts with (never a key: only whether one is set)",
    ),
    Request.SEND_TO_LABELLING: Spec(
        Part.ACTIONS,
        {
            "url": "string",
            "project": "string",
            "labels": "string",
            "kind": LabelKind,
            "storage": Storage,
            "root": "string",
            "api_key": "string",
            "count": "integer",
        },
        reply={"url": "string", "tasks": "integer", "title": "string"},
        doc="make a Label Studio project of the images acted on (labels: comma "
        "separated; root: the server's local-files document root, for storage local)",
    ),
}

#: Requests that run off the comm handler, on a worker thread (``_jobs.py``): the
#: kernel stays free meanwhile, and a newer one of the same slot (the searches share
#: one) replaces an older one still running, whose reply then says ``cancelled``
#: (``ok`` false, nothing shown).
BACKGROUND: frozenset[Request] = frozenset(
    {
        Request.SEARCH_PROMPT,
        Request.SEARCH_DIVERSE,
        Request.SEARCH_SIMILAR,
        Request.SIMILAR_ONE,
        Request.SIMILAR_SELECTED,
        Request.SEARCH_DUPLICATES,
        Request.SEARCH_OUTLIERS,
        Request.REFINE,
        Request.SEARCH_QUALITY,
        Request.TOGGLE_ENABLED,
        Request.SEND_TO_LABELLING,
    }
)


@dataclass
class Reply:
    """What a handler answers beyond ``ok``: result fields and binary buffers. An
    ``error`` makes the reply not ok while still carrying its result (a page of
    thumbnails with one broken image is drawn, and the error shown)."""

    fields: dict[str, Any] = field(default_factory=dict)
    buffers: list[bytes] = field(default_factory=list)
    error: str | None = None


def request_id(msg: Any) -> str | None:
    """The request id of a message, if it has a usable one."""
    rid = msg.get("rid") if isinstance(msg, dict) else None
    return rid if isinstance(rid, str) and len(rid) <= 100 else None


def parse(part: Part, msg: Any) -> tuple[Request, dict[str, Any]]:
    """The request type and its checked fields, or :class:`InvalidArgument` saying
    what was wrong with the message."""
    kind = msg.get("type") if isinstance(msg, dict) else None
    try:
        req = Request(kind)
    except ValueError:
        req = None
    if req is None or SPECS[req].part is not part:
        raise InvalidArgument(
            f"The panel's {part} got an unknown message type {str(kind)[:40]!r}: the "
            "front end and the Python package do not match. Reinstall aisearch_widgets "
            "and reload the page."
        )
    out: dict[str, Any] = {}
    for name, ftype in SPECS[req].fields.items():
        out[name] = _check(req, name, ftype, msg.get(name))
    return req, out


def _check(req: Request, name: str, ftype: FieldType, value: Any) -> Any:
    where = f"{name!r} of a {req.value!r} message"
    if isinstance(ftype, type) and issubclass(ftype, Enum):
        if value in {m.value for m in ftype}:
            return ftype(value)
        allowed = ", ".join(m.value for m in ftype)
        raise InvalidArgument(f"{where} must be one of {allowed} (got {str(value)[:40]!r}).")
    if ftype == "string":
        if isinstance(value, str):
            return value
        raise InvalidArgument(f"{where} must be a string.")
    if ftype == "integer":
        return check_int(where, value, minimum=0)
    if ftype == "number":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and math.isfinite(value):
            return float(value)
        raise InvalidArgument(f"{where} must be a finite number.")
    if ftype == "list":
        if isinstance(value, list):
            return value
        raise InvalidArgument(f"{where} must be a list.")
    raise AssertionError(f"unknown field type {ftype!r}")  # a bug in SPECS


def _type_name(ftype: FieldType) -> str:
    return ftype.__name__ if isinstance(ftype, type) else ftype


def to_js() -> str:
    """The JS module ``js/src/protocol.js``: the same names, as frozen objects."""

    def const(name: str, value: Any) -> str:
        return f"export const {name} = {_freeze(value)};\n"

    out = [
        "// Generated from aisearch_widgets/widgets/_protocol.py: do not edit. Regenerate with\n",
        "//   python -m aisearch_widgets.widgets._protocol > js/src/protocol.js\n",
        "// then `npm run build` in js/. The tests fail while either is stale.\n",
        "\n",
        const("REPLY", REPLY),
        const("THUMBS_SENT", THUMBS_SENT),
        const("ISSUES", list(ISSUES)),
        const("Request", {m.name: m.value for m in Request}),
    ]
    out += [const(e.__name__, {m.name: m.value for m in e}) for e in ENUMS]
    fields = {r.value: {k: _type_name(t) for k, t in s.fields.items()} for r, s in SPECS.items()}
    out.append("/** Fields each request carries (besides type and rid). */\n")
    out.append(const("FIELDS", fields))
    out.append(const("PARTS", {r.value: s.part.value for r, s in SPECS.items()}))
    out.append(const("BACKGROUND", sorted(r.value for r in BACKGROUND)))
    return "".join(out)


def _freeze(value: Any, depth: int = 0) -> str:
    """A JS literal; objects frozen, the outer ones one entry per line."""
    if not isinstance(value, dict):
        return json.dumps(value)
    items = [f"{json.dumps(str(k))}: {_freeze(v, depth + 1)}" for k, v in value.items()]
    if depth or not items:
        return f"Object.freeze({{{', '.join(items)}}})"
    return "Object.freeze({\n" + "".join(f"  {i},\n" for i in items) + "})"


if __name__ == "__main__":
    if sys.argv[1:] not in ([], ["--js"]):
        sys.exit("usage: python -m aisearch_widgets.widgets._protocol [--js] > js/src/protocol.js")
    sys.stdout.write(to_js())
