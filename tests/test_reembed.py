"""Re-embedding a project with videos at another precision: the frames are decoded
again from their videos, stay searchable throughout, and get vectors of the new
precision; a video changed meanwhile waits for the next sync; a cancelled run leaves
the old vectors in use."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from test_video import write_video

from aisearch_widgets import _reembed
from aisearch_widgets._reembed import embed_into

import _integrity
from _helpers import make_folder, touch_later


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Six images and a 12 s video (12 frames at the default 1 frame/s)."""
    root = tmp_path / "mixed"
    make_folder(root, 6)
    write_video(root / "line.mp4", seconds=12, event=(4, 6))
    return root


def _frames(proj) -> dict[int, str]:
    return dict(proj.catalog.query("SELECT t_ms, id FROM files WHERE video_key IS NOT NULL"))


def _video_row(proj) -> tuple[str, str]:
    return proj.catalog.query("SELECT status, model FROM videos")[0]


def test_reembed_keeps_video_frames_searchable_at_the_new_precision(
    project_factory, mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("rv", mixed)  # fp32
    proj.update()
    frames = _frames(proj)
    assert len(frames) == 12 and proj.status.done == 18
    fp32 = proj.store.retrieve(list(frames.values()))
    seen: list[tuple[int, int]] = []

    def recorded(*a, **k):
        outer = k.get("progress")

        def progress(done: int, total: int) -> None:
            seen.append((done, total))
            if outer is not None:
                outer(done, total)

        return embed_into(*a, **{**k, "progress": progress})

    monkeypatch.setattr(_reembed, "embed_into", recorded)
    fut = proj.reembed("int8")
    summary = fut.result(timeout=300)
    assert summary.embedded == 18 and summary.failed == 0
    assert seen[-1] == (18, 18) and fut.progress == (18, 18)  # frames count one each
    assert proj.precision == "int8" and proj.model_identity.endswith("+int8")
    _integrity.assert_consistent(proj)
    st = proj.status
    assert st.pending == 0 and st.done == 18
    assert _frames(proj) == frames  # same ids
    assert _video_row(proj) == ("embedded", proj.model_identity)

    int8 = proj.store.retrieve(list(frames.values()))
    assert set(int8) == set(frames.values())  # every frame kept a vector
    for pid, v in int8.items():
        assert float(np.dot(v, fp32[pid])) >= 0.999, pid

    # Searchable: by a frame (itself first, among frames) and by a prompt.
    ref = frames[5000]
    sim = proj.similar(ids=[ref], limit=5, include_references=True)
    assert sim.ids[0] == ref and (sim.df["kind"] == "frame").any()
    found = proj.search("a red circle", limit=50)
    assert set(frames.values()) <= set(found.ids)

    # Nothing left for the next sync to redo.
    again = proj.update()
    assert again.embedded == again.retried == again.changed == 0
    _integrity.assert_consistent(proj)


def test_a_video_changed_before_the_reembed_waits_for_the_next_sync(
    project_factory, mixed: Path
) -> None:
    proj = project_factory("rc", mixed)
    proj.update()
    frames = _frames(proj)
    write_video(mixed / "line.mp4", seconds=12, event=(8, 10))
    touch_later(mixed / "line.mp4")
    summary = proj.reembed("int8").result(timeout=300)
    assert summary.embedded == 6 and summary.changed == 1  # the images; the video waits
    _integrity.assert_consistent(proj)
    assert _video_row(proj)[0] == "pending"
    assert not set(proj.store.ids()) & set(frames.values())  # no vector of old pixels
    s = proj.update()
    assert s.changed == 1 and s.embedded == 12
    _integrity.assert_consistent(proj)
    assert proj.status.pending == 0 and _frames(proj) == frames
    assert _video_row(proj) == ("embedded", proj.model_identity)


def test_a_video_synced_during_the_reembed_is_requeued(
    project_factory, mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("rs", mixed)
    proj.update()

    def embed_then_edit(*a, **k):
        out = embed_into(*a, **k)
        write_video(mixed / "line.mp4", seconds=12, event=(8, 10))
        touch_later(mixed / "line.mp4")
        assert proj.update().changed == 1  # the frames hold new pixels now
        return out

    monkeypatch.setattr(_reembed, "embed_into", embed_then_edit)
    proj.reembed("int8").result(timeout=300)
    _integrity.assert_consistent(proj)
    assert _video_row(proj)[0] == "pending"
    proj.update()
    _integrity.assert_consistent(proj)
    assert proj.status.pending == 0 and proj.status.done == 18
    assert _video_row(proj) == ("embedded", proj.model_identity)


def _held_after_first_batch(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make re-embeds wait after their first batch until they are cancelled; the event
    returned says that one got there."""
    reached = threading.Event()

    def held(*a, **k):
        def progress(done: int, total: int) -> None:
            reached.set()
            assert k["cancel"].wait(60)

        return embed_into(*a, **{**k, "progress": progress})

    monkeypatch.setattr(_reembed, "embed_into", held)
    return reached


def test_a_cancelled_reembed_leaves_the_old_vectors_in_use(
    project_factory, mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("rx", mixed, batch_size=4)
    proj.update()
    identity, shard = proj.model_identity, proj.store.path
    before = proj.search("a red circle", limit=5).ids
    reached = _held_after_first_batch(monkeypatch)
    fut = proj.reembed("int8")
    assert reached.wait(120)  # one batch is in the new store
    assert fut.cancel() and fut.cancelled()
    assert proj.model_identity == identity and proj.store.path == shard
    assert proj.search("a red circle", limit=5).ids == before
    _integrity.assert_consistent(proj)
    assert proj.status.pending == 0

    monkeypatch.setattr(_reembed, "embed_into", embed_into)
    summary = proj.reembed("int8").result(timeout=300)  # after the cancelled one ends
    assert summary.embedded == 18
    _integrity.assert_consistent(proj)
    assert proj.status.pending == 0 and proj.store.count() == 18


def test_closing_during_a_reembed_stops_it_and_drops_its_store(
    project_factory, mixed: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aisearch_widgets as aw
    from aisearch_widgets.embedder import with_precision
    from aisearch_widgets.store import shard_folder

    proj = project_factory("rk", mixed, batch_size=4)
    proj.update()
    identity, folder = proj.model_identity, proj.folder
    reached = _held_after_first_batch(monkeypatch)
    fut = proj.reembed("int8")
    assert reached.wait(120)
    proj.close()  # cancels the run and waits for it
    assert fut.cancelled()
    assert not shard_folder(folder, with_precision(identity, "int8")).exists()
    again = aw.Project.open("rk", home=home)
    try:
        assert again.model_identity == identity and again.status.done == 18
        _integrity.assert_consistent(again)
    finally:
        again.close()


def test_vectors_an_earlier_run_left_in_the_new_store_are_dropped(
    project_factory, mixed: Path
) -> None:
    from aisearch_widgets.embedder import with_precision
    from aisearch_widgets.sources import point_id
    from aisearch_widgets.store import open_store

    proj = project_factory("rl", mixed)
    proj.update()
    dim = proj.store.dim
    # A run killed before it could clean up, whose store holds an item deleted since.
    left = open_store(proj.name, proj.folder, with_precision(proj.model_identity, "int8"), dim)
    left.upsert([point_id("rl", "gone.png")], np.full((1, dim), dim**-0.5, np.float32))
    left.flush()
    left.close()
    assert proj.reembed("int8").result(timeout=300).embedded == 18
    _integrity.assert_consistent(proj)
    assert proj.store.count() == 18


def test_a_reembed_never_stores_nan_vectors(tmp_path: Path) -> None:
    """A damaged model gives NaN for some images: those rows fail like undecodable
    files and are never written to the new store; the others are."""
    from PIL import Image

    paths = []
    for i in range(4):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (40, 40), (60 * i, 20, 200 - 40 * i)).save(p)
        paths.append(p)
    rows = [(f"id{i}", str(p)) for i, p in enumerate(paths)]

    class Catalog:
        def query(self, sql: str, params: tuple) -> list:
            return [] if "GROUP BY" in sql else rows

    class Embedder:
        precision = "fp32"
        image_size = 32

        def preprocess(self, img):
            import torch

            return torch.zeros(3, 32, 32)

        def encode_batch(self, pixels):
            out = np.eye(len(pixels), 8, dtype=np.float32)
            out[1] = np.nan  # the damaged rows
            out[3] = 0.0
            return out

    class Store:
        def __init__(self) -> None:
            self.points: dict[str, np.ndarray] = {}

        def upsert(self, ids, vecs) -> None:
            assert np.isfinite(vecs).all()
            self.points.update(zip(ids, vecs, strict=True))

        def flush(self) -> None:
            pass

    store = Store()
    out = embed_into(Catalog(), "m", Embedder(), store, max_file_bytes=1 << 20)
    assert sorted(store.points) == ["id0", "id2"]
    assert out.embedded == 2 and out.failed == 2
    assert sorted(out.made_from) == ["id0", "id2"]
