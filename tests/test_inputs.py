"""Bad arguments to the searches: every one raises an ``AISearchError`` subclass (an
``InvalidArgument``, also a ``ValueError``, when an argument is wrong) whose message
names the argument and what is accepted; none hangs, none leaks a raw numpy, torch or
sqlite error. Odd but valid inputs work."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets._errors import InvalidArgument, ProjectClosed

from _helpers import make_folder

N = 16


@pytest.fixture(scope="module")
def proj(tiny_model: str, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("inputs")
    make_folder(tmp / "imgs", N)
    p = aw.Project("inputs", sources=tmp / "imgs", model=tiny_model, home=tmp / "home")
    p.update()
    yield p
    p.close()


def _call(fn: Any, timeout: float = 60.0) -> Any:
    """Run ``fn`` in a thread: a call that never returns fails the test instead of
    hanging the run."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the call did not return"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _ids(p: aw.Project) -> list[str]:
    return sorted(p.catalog.all_ids())


ARRAY_IMAGE = np.zeros((8, 8, 3), np.uint8)

# (label, call, words the message must contain)
BAD: list[tuple[str, Any, str]] = [
    # -- limit ------------------------------------------------------------------------
    ("limit None", lambda p: p.search("x", limit=None), "limit"),
    ("limit NaN", lambda p: p.search("x", limit=float("nan")), "limit"),
    ("limit inf", lambda p: p.search("x", limit=float("inf")), "limit"),
    ("limit 0", lambda p: p.search("x", limit=0), "limit"),
    ("limit -1", lambda p: p.search("x", limit=-1), "limit"),
    ("limit '5'", lambda p: p.search("x", limit="5"), "limit"),
    ("limit 1.5", lambda p: p.search("x", limit=1.5), "limit"),
    ("limit True", lambda p: p.search("x", limit=True), "limit"),
    ("limit list", lambda p: p.search("x", limit=[5]), "limit"),
    ("limit np.float64", lambda p: p.search("x", limit=np.float64(2.5)), "limit"),
    ("limit np.bool_", lambda p: p.search("x", limit=np.bool_(True)), "limit"),
    ("similar limit 0", lambda p: p.similar(_ids(p)[0], limit=0), "limit"),
    ("similar limit '3'", lambda p: p.similar(_ids(p)[0], limit="3"), "limit"),
    # -- prompt -----------------------------------------------------------------------
    ("prompt None", lambda p: p.search(None), "prompt"),
    ("prompt ''", lambda p: p.search(""), "prompt"),
    ("prompt spaces", lambda p: p.search("   \n\t"), "prompt"),
    ("prompt []", lambda p: p.search([]), "prompt"),
    ("prompt ['']", lambda p: p.search([""]), "prompt"),
    ("prompt [None]", lambda p: p.search([None]), "prompt"),
    ("prompt 5", lambda p: p.search(5), "prompt"),
    ("prompt bytes", lambda p: p.search(b"a red disc"), "prompt"),
    ("prompt dict", lambda p: p.search({"a": 1}), "prompt"),
    ("prompt mixed list", lambda p: p.search(["red", 3]), "prompt"),
    # -- negative ---------------------------------------------------------------------
    ("negative []", lambda p: p.search("x", negative=[]), "negative"),
    ("negative ''", lambda p: p.search("x", negative=""), "negative"),
    ("negative [None]", lambda p: p.search("x", negative=[None]), "negative"),
    ("negative 5", lambda p: p.search("x", negative=5), "negative"),
    ("negative [5]", lambda p: p.search("x", negative=[5]), "negative"),
    (
        "negative_weight NaN",
        lambda p: p.search("x", negative="blue", negative_weight=np.nan),
        "negative_weight",
    ),
    (
        "negative_weight 'x'",
        lambda p: p.search("x", negative="blue", negative_weight="x"),
        "negative_weight",
    ),
    (
        "negative_weight -1",
        lambda p: p.search("x", negative="blue", negative_weight=-1),
        "negative_weight",
    ),
    # -- tags / exclude ---------------------------------------------------------------
    ("tags 5", lambda p: p.search("x", tags=5), "tags"),
    ("tags [None]", lambda p: p.search("x", tags=[None]), "tags"),
    ("exclude 5", lambda p: p.search("x", exclude=5), "exclude"),
    ("exclude [None]", lambda p: p.search("x", exclude=[None]), "exclude"),
    # -- similar references -----------------------------------------------------------
    ("similar None", lambda p: p.similar(None), "images"),
    ("similar []", lambda p: p.similar([]), "images"),
    ("similar ()", lambda p: p.similar(()), "images"),
    ("similar ''", lambda p: p.similar(""), "images"),
    ("similar 5", lambda p: p.similar(5), "images"),
    ("similar [5]", lambda p: p.similar([5]), "images"),
    ("similar [None]", lambda p: p.similar([None]), "images"),
    ("similar True", lambda p: p.similar(True), "images"),
    ("similar empty array", lambda p: p.similar(np.array([])), "array"),
    ("similar empty 3-d array", lambda p: p.similar(np.zeros((0, 0, 3), np.uint8)), "array"),
    ("similar float 1-d", lambda p: p.similar(np.ones(32, np.float32)), "array"),
    ("similar float 2-d", lambda p: p.similar(np.ones((4, 4), np.float64)), "array"),
    ("similar 4 channels float", lambda p: p.similar(np.ones((8, 8, 4), np.float32)), "array"),
    ("similar float image", lambda p: p.similar(np.ones((8, 8, 3), np.float32)), "array"),
    ("similar NaN image", lambda p: p.similar(np.full((8, 8, 3), np.nan)), "array"),
    ("similar 5-d array", lambda p: p.similar(np.zeros((1, 1, 8, 8, 3), np.uint8)), "array"),
    ("similar object array", lambda p: p.similar(np.array(["a", "b"])), "array"),
    ("similar unknown uuid", lambda p: p.similar("00000000-0000-0000-0000-000000000000"), "id"),
    ("similar missing file", lambda p: p.similar("/no/such/file.png"), "file.png"),
    ("similar a folder", lambda p: p.similar("/"), "/"),
    ("similar fusion x", lambda p: p.similar(_ids(p)[:2], fusion="x"), "fusion"),
    ("similar fusion None", lambda p: p.similar(_ids(p)[:2], fusion=None), "fusion"),
    ("similar ids=[]", lambda p: p.similar(ids=[]), "ids"),
    ("similar ids=None and no images", lambda p: p.similar(), "images"),
    ("similar ids path", lambda p: p.similar(ids=["/etc/passwd"]), "ids"),
    (
        "similar ids unknown",
        lambda p: p.similar(ids=["0" * 8 + "-0000-0000-0000-" + "0" * 12]),
        "ids",
    ),
    ("similar ids str", lambda p: p.similar(ids=_ids(p)[0]), "ids"),
    ("similar ids and images", lambda p: p.similar(ARRAY_IMAGE, ids=_ids(p)[:1]), "ids"),
    # -- diverse ----------------------------------------------------------------------
    ("diverse n '5'", lambda p: p.diverse(n="5"), "n"),
    ("diverse n 0", lambda p: p.diverse(n=0), "n"),
    ("diverse n -3", lambda p: p.diverse(n=-3), "n"),
    ("diverse n 2.5", lambda p: p.diverse(n=2.5), "n"),
    ("diverse n None", lambda p: p.diverse(n=None), "n"),
    ("diverse n NaN", lambda p: p.diverse(n=float("nan")), "n"),
    ("diverse n True", lambda p: p.diverse(n=True), "n"),
    ("diverse method x", lambda p: p.diverse(method="x"), "method"),
    ("diverse method None", lambda p: p.diverse(method=None), "method"),
    ("diverse clusters '3'", lambda p: p.diverse(clusters="3"), "clusters"),
    ("diverse clusters 0", lambda p: p.diverse(clusters=0), "clusters"),
    ("diverse clusters -1", lambda p: p.diverse(clusters=-1), "clusters"),
    ("diverse clusters 1.5", lambda p: p.diverse(clusters=1.5), "clusters"),
    ("diverse sample 0", lambda p: p.diverse(sample=0), "sample"),
    ("diverse sample -1", lambda p: p.diverse(sample=-1), "sample"),
    ("diverse sample '10'", lambda p: p.diverse(sample="10"), "sample"),
    ("diverse sample NaN", lambda p: p.diverse(sample=float("nan")), "sample"),
    ("diverse seed 'x'", lambda p: p.diverse(seed="x"), "seed"),
    ("diverse seed -1", lambda p: p.diverse(seed=-1), "seed"),
    ("diverse seed 1.5", lambda p: p.diverse(seed=1.5), "seed"),
    ("diverse exclude 5", lambda p: p.diverse(exclude=5), "exclude"),
    # -- tagged -----------------------------------------------------------------------
    ("tagged nothing", lambda p: p.tagged(), "tag"),
    ("tagged None", lambda p: p.tagged(None), "tag"),
]


@pytest.mark.parametrize("call, words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_raises_a_clear_package_error(proj: aw.Project, call: Any, words: str) -> None:
    with pytest.raises(aw.AISearchError) as info:
        _call(lambda: call(proj))
    msg = str(info.value)
    assert words in msg, msg
    assert "Traceback" not in msg and len(msg) < 600
    if isinstance(info.value, InvalidArgument):
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "label, call",
    [
        ("limit None", lambda p: p.search("x", limit=None)),
        ("limit '5'", lambda p: p.search("x", limit="5")),
        ("similar None", lambda p: p.similar(None)),
        ("diverse n 0", lambda p: p.diverse(n=0)),
        ("diverse sample 0", lambda p: p.diverse(sample=0)),
    ],
)
def test_argument_errors_are_value_errors(proj: aw.Project, label: str, call: Any) -> None:
    with pytest.raises(ValueError):
        _call(lambda: call(proj))


GOOD: list[tuple[str, Any, int]] = [
    ("numpy int limit", lambda p: p.search("x", limit=np.int64(3)), 3),
    ("integral float limit", lambda p: p.search("x", limit=4.0), 4),
    ("huge limit is capped", lambda p: p.search("x", limit=10**12), N),
    ("unicode prompt", lambda p: p.search("красный круг 🔴 \u202e", limit=2), 2),
    ("prompt list", lambda p: p.search(["red", "a disc"], limit=2), 2),
    ("negative prompt", lambda p: p.search("x", negative="blue", limit=2), 2),
    ("negative tuple", lambda p: p.search("x", negative=("blue",), limit=2), 2),
    ("numpy str prompt", lambda p: p.search(np.str_("red"), limit=2), 2),
    ("similar ids", lambda p: p.similar(ids=_ids(p)[:2], limit=3), 3),
    ("similar uint8 image", lambda p: p.similar(ARRAY_IMAGE, limit=3), 3),
    ("similar gray image", lambda p: p.similar(np.zeros((8, 8), np.uint8), limit=3), 3),
    ("similar huge limit", lambda p: p.similar(_ids(p)[0], limit=10**9), N - 1),
    ("diverse numpy n", lambda p: p.diverse(n=np.int32(4)), 4),
    ("diverse sample 1", lambda p: p.diverse(n=3, sample=1), 1),
    ("diverse n above population", lambda p: p.diverse(n=10**6), N),
    ("diverse clusters None", lambda p: p.diverse(n=3, clusters=None), 3),
]


@pytest.mark.parametrize("call, n", [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_odd_but_valid_inputs_work(proj: aw.Project, call: Any, n: int) -> None:
    assert len(_call(lambda: call(proj))) == n


def test_store_scan_refuses_batch_zero(tmp_path: Path) -> None:
    from aisearch_widgets.store.edge import EdgeStore

    s = EdgeStore(tmp_path / "shard", 4)
    try:
        s.upsert(["00000000-0000-0000-0000-000000000001"], np.ones((1, 4)))
        for bad in (0, -1):
            with pytest.raises(InvalidArgument, match="batch"):
                _call(lambda b=bad: next(s.iter_vectors(batch=b)))
    finally:
        s.close()


def test_a_closed_project_says_so(tiny_model: str, tmp_path: Path) -> None:
    make_folder(tmp_path / "imgs", 4)
    p = aw.Project("closed", sources=tmp_path / "imgs", model=tiny_model, home=tmp_path / "h")
    p.update()
    p.close()
    calls = [
        lambda: p.status,
        lambda: p.search("x"),
        lambda: p.similar(ARRAY_IMAGE),
        lambda: p.diverse(n=2),
        lambda: p.tagged("a"),
        lambda: p.tags,
        lambda: p.failures,
        lambda: p.collections,
        lambda: p.update(),
        lambda: p.enable(),
        lambda: p.thumbnail("x"),
        lambda: p.set_sources(tmp_path / "imgs"),
    ]
    for call in calls:
        with pytest.raises(ProjectClosed, match=r"closed.*Project\.open"):
            _call(call)
    assert "closed" in repr(p)
