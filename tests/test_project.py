from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets.sources import point_id

from _helpers import draw, make_folder, slow_down, touch_later

WORKER = str(Path(__file__).with_name("_index_worker.py"))


def _key_id(proj: aw.Project, rel: str) -> str:
    return point_id(proj.name, f"{proj.sources[0].label}/{rel}")


def test_enable_embeds_everything_and_records_failures(project_factory, images: Path) -> None:
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (images / "empty.png").write_bytes(b"")
    proj = project_factory("p", images)
    assert proj.status.state == "disabled"
    proj.enable(schedule=None)
    st = proj.wait(progress=False)
    assert (st.state, st.done, st.total, st.failed) == ("ready", 12, 14, 2)
    assert proj.store.count() == 12
    fails = proj.failures.set_index("path")
    assert fails.loc[str(images / "empty.png"), "kind"] == "empty"
    assert fails.loc[str(images / "broken.jpg"), "kind"] in ("truncated", "not_an_image")
    # Thumbnails were made from the decode the model needed.
    assert len(list((proj.folder / "thumbs").rglob("*.jpg"))) == 12


def test_incremental_add_modify_delete_rename(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    proj.update()
    old_id = _key_id(proj, "red_000.jpg")
    old_vec = proj.store.retrieve([old_id])[old_id]

    draw(images / "new_one.jpg", "yellow", seed=99)
    draw(images / "green_001.png", "yellow", seed=7)  # same name, new content
    touch_later(images / "green_001.png")
    (images / "blue_002.jpg").unlink()
    (images / "red_000.jpg").rename(images / "renamed.jpg")

    s = proj.update()
    assert (s.added, s.changed, s.deleted) == (2, 1, 2)
    assert s.reused == 1 and s.embedded == 2  # the rename reused its vector
    new_id = _key_id(proj, "renamed.jpg")
    got = proj.store.retrieve([new_id, old_id])
    assert old_id not in got
    np.testing.assert_allclose(got[new_id], old_vec, atol=1e-6)
    assert proj.catalog.records([new_id])[new_id].path == str(images / "renamed.jpg")
    assert proj.store.count() == 12 == proj.status.done

    # Touched but identical: kept, not re-embedded.
    touch_later(images / "blue_005.png", 9)
    s = proj.update()
    assert s.changed == 1 and s.embedded == 0 and s.reused == 1
    assert proj.update().unchanged == 12


def test_disable_keeps_embeddings_and_enable_reuses_them(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    proj.enable(schedule=None)
    proj.wait(progress=False)
    proj.disable()
    assert proj.status.state == "disabled" and proj.store.count() == 12
    proj.close()
    proj = project_factory("p")
    assert not proj.enabled and proj.status.done == 12
    proj.enable(schedule=None)
    proj.wait(progress=False)
    s = proj.runner.last_summary
    assert s is not None and s.embedded == 0 and s.unchanged == 12


def test_schedule_picks_up_new_files(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    proj.enable(schedule="1s")
    proj.wait(progress=False)
    draw(images / "late.jpg", "yellow", seed=5)
    deadline = time.time() + 15
    while proj.status.total < 13 and time.time() < deadline:
        time.sleep(0.2)
    proj.wait(progress=False)
    assert proj.status.done == 13
    cfg = json.loads((proj.folder / "project.json").read_text())
    assert cfg["enabled"] is True and cfg["schedule"] == "1s"


def test_status_and_searches_work_while_indexing(project_factory, tmp_path: Path) -> None:
    root = tmp_path / "many"
    make_folder(root, 120, sub=False)
    proj = project_factory("p", root, batch_size=4)
    slow_down(proj, 0.02)
    proj.enable(schedule=None)
    seen: list[int] = []
    errors: list[BaseException] = []
    q = proj.embedder.encode_text(["a red disc"])
    while proj.runner.busy:
        try:
            st = proj.status
            seen.append(st.done)
            hits = proj.store.query(q, 5)[0]
            assert len(hits) <= st.total
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)
        time.sleep(0.01)
    assert not errors
    assert seen == sorted(seen) and len(set(seen)) > 3  # progress was visible, monotonic
    assert proj.wait(progress=False).done == 120


def test_reopen_with_other_model_refuses_to_mix(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    proj.close()
    with pytest.raises(aw.ModelMismatch, match="cannot be mixed"):
        aw.Project("p", model="ViT-B-32:random", home=proj.home)


def test_open_unknown_project_lists_existing(project_factory, images: Path, home: Path) -> None:
    project_factory("alpha", images)
    with pytest.raises(aw.ProjectNotFound, match="alpha"):
        aw.Project.open("beta", home=home)
    with pytest.raises(aw.AISearchError, match="Invalid project name"):
        aw.Project("../evil", sources=images, home=home)


def test_lock_conflict_from_second_process(tiny_model: str, images: Path, home: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, WORKER, str(home), tiny_model, str(images), "hold"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "opened"
        t0 = time.monotonic()
        with pytest.raises(aw.ProjectLocked) as ei:
            aw.Project.open("crash", home=home)
        assert time.monotonic() - t0 < 1.0
        assert str(proc.pid) in str(ei.value) and "qdrant_url" in str(ei.value)
        assert ei.value.holder["pid"] == proc.pid
    finally:
        proc.kill()
        proc.wait()
    # The OS released the lock with the process.
    aw.Project.open("crash", home=home).close()


def _embedded_count(home: Path) -> int:
    db = home / "crash" / "catalog.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT COUNT(*) FROM files WHERE status='embedded'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_crash_mid_index_resumes_without_duplicates(tiny_model: str, tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    make_folder(root, 160, sub=True)
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, WORKER, str(home), tiny_model, str(root), "slow"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while _embedded_count(home) < 40 and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _embedded_count(home)
    assert 40 <= partial < 160, "the worker must be killed mid-run"

    with aw.Project.open("crash", home=home) as proj:
        s = proj.update()
        assert s.embedded + s.reused <= 160 - partial + 4  # at most one batch redone
        st = proj.status
        assert (st.done, st.total, st.pending, st.failed) == (160, 160, 0, 0)
        store_ids = proj.store.ids()
        assert store_ids == proj.catalog.embedded_ids(proj.model_identity)
        assert proj.store.count() == 160


def test_server_adapter_end_to_end(tiny_model: str, images: Path, home: Path) -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(":memory:")
    with aw.Project("srv", sources=images, model=tiny_model, home=home, qdrant_url=client) as p:
        p.update()
        assert p.store.count() == 12
        assert type(p.store).__name__ == "ServerStore"
        (images / "red_000.jpg").unlink()
        assert p.update().deleted == 1
        assert p.store.count() == 11
        assert not (p.folder / "vectors").exists()


def test_server_options_reach_the_collection(tiny_model: str, images: Path, home: Path) -> None:
    from qdrant_client import QdrantClient

    from _integrity import problems

    client = QdrantClient(":memory:")
    created: dict = {}
    create = client.create_collection

    def spy(name, **kw):  # type: ignore[no-untyped-def]
        created.update(kw)  # the local client does not keep shards and replicas
        return create(name, **kw)

    client.create_collection = spy  # type: ignore[method-assign]
    opts = dict(
        shard_number=3, replication_factor=2, on_disk=True, quantization=None, hnsw_m=16
    ) | {"upsert_batch": 5}
    with aw.Project(
        "srv", sources=images, model=tiny_model, home=home, qdrant_url=client, server_options=opts
    ) as p:
        assert p.update().embedded == 12 and p.store.count() == 12
        assert problems(p) == []
        assert (created["shard_number"], created["replication_factor"]) == (3, 2)
        vp = client.get_collection(p.store.collection).config.params.vectors
        assert vp.on_disk is True and vp.quantization_config is None and vp.hnsw_config.m == 16
        assert p.store.upsert_batch == 5
        assert "server_options" not in json.loads((p.folder / "project.json").read_text())


def test_server_options_without_a_server_are_refused(
    tiny_model: str, images: Path, home: Path
) -> None:
    from aisearch_widgets._errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="qdrant_url"):
        aw.Project("p", images, tiny_model, home=home, server_options={"shard_number": 2})
    assert not (home / "p").exists()  # refused before anything was written
    for bad, msg in (({"shards": 2}, "unknown option.*'shards'.*shard_number"), (3, "dict")):
        with pytest.raises(InvalidArgument, match=msg):
            aw.Project(
                "p", images, tiny_model, home=home, qdrant_url="http://x:6333", server_options=bad
            )


def test_concurrent_update_requests_never_embed_twice(project_factory, images: Path) -> None:
    proj = project_factory("p", images)
    futures = []
    threads = [
        threading.Thread(target=lambda: futures.append(proj.update_async())) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = {id(s): s for s in (f.result(timeout=60) for f in futures)}
    assert sum(s.embedded for s in runs.values()) == 12
    assert proj.store.count() == 12


def test_update_wait_keyword_of_the_first_release_still_works(project_factory, images) -> None:
    proj = project_factory("w", images)
    with pytest.warns(DeprecationWarning, match=r"use update\(\)"):
        summary = proj.update(wait=True)
    assert isinstance(summary, aw.SyncSummary) and summary.embedded == 12
    with pytest.warns(DeprecationWarning, match=r"use update_async\(\)"):
        fut = proj.update(wait=False)
    assert fut.result(timeout=120).unchanged == 12


def test_thumbnails_of_a_page_take_one_catalog_query(project_factory, images, monkeypatch) -> None:
    from aisearch_widgets.catalog import Catalog

    proj = project_factory("page", images, thumbnails=False)  # none made by the sync
    proj.update()
    ids = proj.search("a red disc", limit=12).ids
    calls: list[list[str]] = []
    records = Catalog.records
    monkeypatch.setattr(
        Catalog, "records", lambda cat, some: calls.append(list(some)) or records(cat, some)
    )
    page = proj.thumbnails([*ids, "not-an-id"])
    assert len(calls) == 1 and len(page) == len(ids) + 1 and page[-1] is None
    assert all(data is not None and data[:2] == b"\xff\xd8" for data in page[:-1])
    assert proj.thumbnails(ids) == page[:-1] and len(calls) == 1  # cached: no query at all
