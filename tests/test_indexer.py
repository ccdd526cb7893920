"""The background sync runner on its own, driven by a fake indexer: requests, pause
and requeue, schedule, cancel, stop during a sync, coalescing. Events say when a sync
is inside its work, so nothing here depends on timing."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

import pytest

from aisearch_widgets._runner import Runner
from aisearch_widgets.indexer import SyncCancelled

WAIT = 10  # seconds: a generous bound for things that happen at once


class FakeIndexer:
    """Stands in for :class:`Indexer`: ``sync(cancel, ...)`` records its call, and with
    ``hold`` set works until ``release`` is set, checking ``cancel`` at each "batch"."""

    def __init__(self) -> None:
        self.progress = None
        self.calls: list[tuple[bool, bool]] = []
        self.hold = False
        self.release = threading.Event()
        self.inside = threading.Event()  # a sync is running
        self.fail: BaseException | None = None
        self._called = threading.Condition()

    def sync(
        self, cancel: threading.Event, retry_failed: bool = False, prune_missing: bool = False
    ) -> dict:
        with self._called:
            self.calls.append((retry_failed, prune_missing))
            run = len(self.calls)
            self._called.notify_all()
        self.inside.set()
        try:
            while self.hold and not self.release.is_set():
                if cancel.wait(0.005):  # the next batch boundary
                    raise SyncCancelled("sync cancelled")
            if self.fail is not None:
                raise self.fail
            return {"run": run}
        finally:
            self.inside.clear()

    def wait_calls(self, n: int, timeout: float = WAIT) -> bool:
        with self._called:
            return self._called.wait_for(lambda: len(self.calls) >= n, timeout)


@pytest.fixture
def fake() -> FakeIndexer:
    return FakeIndexer()


@pytest.fixture
def runner(fake: FakeIndexer):
    r = Runner(fake, name="test-runner")  # type: ignore[arg-type]
    yield r
    fake.release.set()
    r.stop(timeout=WAIT)


def _held_sync(runner: Runner, fake: FakeIndexer) -> Future:
    """Start a sync that runs until released; return its request once it is inside."""
    fake.hold = True
    fut = runner.request()
    assert fake.inside.wait(WAIT)
    return fut


def test_a_request_runs_one_sync(runner: Runner, fake: FakeIndexer) -> None:
    fut = runner.request()
    assert isinstance(fut, Future)
    assert fut.result(WAIT) == {"run": 1}
    assert fake.calls == [(False, False)] and runner.last_error is None


def test_requests_during_a_sync_coalesce_into_one_run(runner: Runner, fake: FakeIndexer) -> None:
    first = _held_sync(runner, fake)
    barrier = threading.Barrier(8)
    futures: list[Future] = []
    lock = threading.Lock()

    def ask(i: int) -> None:
        barrier.wait()
        f = runner.request(retry_failed=(i == 3), prune_missing=(i == 5))
        with lock:
            futures.append(f)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert runner.busy and not first.done()
    fake.hold = False
    fake.release.set()
    assert first.result(WAIT) == {"run": 1}
    # All eight, made while the first ran, are served by one more run, which does
    # what any of them asked for.
    assert {id(f.result(WAIT)) for f in futures} == {id(futures[0].result())}
    assert futures[0].result() == {"run": 2}
    assert fake.calls == [(False, False), (True, True)]


def test_pause_stops_a_sync_at_its_next_batch_and_runs_it_again_afterwards(
    runner: Runner, fake: FakeIndexer
) -> None:
    fut = _held_sync(runner, fake)
    with runner.paused():
        # The running sync stopped (at its next batch) and its request was kept.
        assert not fake.inside.is_set() and not fut.done()
        late = runner.request()  # asked while paused: waits too
        assert len(fake.calls) == 1 and not late.done()
        fake.hold = False
    assert fut.result(WAIT) == {"run": 2} and late.result(WAIT) == {"run": 2}
    assert runner.last_error is None


def test_a_requeued_sync_runs_again_once_not_forever(runner: Runner, fake: FakeIndexer) -> None:
    fut = _held_sync(runner, fake)
    with runner.paused():
        fake.hold = False
    assert fut.result(WAIT) == {"run": 2}
    # With no schedule nothing runs unasked: not in many times what a sync takes here.
    assert not fake.wait_calls(3, timeout=0.5), f"{len(fake.calls)} syncs, not 2"


def test_pause_with_no_sync_running_holds_requests_until_it_ends(
    runner: Runner, fake: FakeIndexer
) -> None:
    with runner.paused():
        fut = runner.request()
        assert fake.calls == [] and not fut.done()
    assert fut.result(WAIT) == {"run": 1}


def test_schedule_triggers_syncs_that_never_prune(runner: Runner, fake: FakeIndexer) -> None:
    runner.set_schedule(0.02)
    assert fake.wait_calls(3)
    assert set(fake.calls) == {(False, False)}  # scheduled runs never prune
    runner.set_schedule(None)
    assert runner.interval is None and runner.next_due is None
    fut = runner.request(prune_missing=True)  # only a request prunes
    fut.result(WAIT)
    assert fake.calls[-1] == (False, True)
    n = len(fake.calls)
    # No more scheduled runs: nothing happens in many former intervals.
    assert not fake.wait_calls(n + 1, timeout=0.5)
    assert runner.next_due is None and not runner.busy


def test_cancel_current_stops_the_running_sync(runner: Runner, fake: FakeIndexer) -> None:
    fut = _held_sync(runner, fake)
    runner.cancel_current()
    with pytest.raises(SyncCancelled):
        fut.result(WAIT)
    assert isinstance(runner.last_error, SyncCancelled)
    # The next request runs normally (the cancel was for that sync only).
    fake.hold = False
    assert runner.request().result(WAIT) == {"run": 2}
    assert runner.last_error is None


def test_stop_during_a_sync_joins_and_cancels_what_waits(
    runner: Runner, fake: FakeIndexer, caplog
) -> None:
    running = _held_sync(runner, fake)
    waiting = runner.request(retry_failed=True)
    with caplog.at_level(logging.ERROR, logger="aisearch_widgets"):
        runner.stop(timeout=WAIT)
    # stop() returns once the thread has ended: both requests are answered.
    assert running.done() and waiting.done()
    assert isinstance(running.exception(), SyncCancelled)
    assert isinstance(waiting.exception(), SyncCancelled)
    assert "closed" in str(waiting.exception())
    assert not fake.inside.is_set() and not runner.busy and len(fake.calls) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # not a failure


def test_a_failed_sync_is_reported_and_the_next_one_runs(
    runner: Runner, fake: FakeIndexer, caplog
) -> None:
    fake.fail = OSError(5, "Input/output error")
    with caplog.at_level(logging.ERROR, logger="aisearch_widgets"):
        fut = runner.request()
        assert isinstance(fut.exception(WAIT), OSError)
    assert runner.last_error is fut.exception()
    assert [r.exc_info[1] for r in caplog.records if r.exc_info] == [fut.exception()]
    fake.fail = None
    assert runner.request().result(WAIT) == {"run": 2}
    assert runner.last_error is None and runner.last_summary == {"run": 2}


# -- vectors are checked before they are written ------------------------------------------


def _poison(emb, rows: dict[int, float], calls: int = 1) -> list[int]:
    """Make ``encode_batch`` of ``emb`` give NaN (value ``nan``), infinite or zero rows at
    the given positions of its first ``calls`` batches, as a damaged model does."""
    import numpy as np

    original = emb.encode_batch
    seen: list[int] = []

    def damaged(pixels):
        out = np.array(original(pixels))
        if len(seen) < calls:
            for r, value in rows.items():
                if r < len(out):
                    out[r] = value
        seen.append(len(out))
        return out

    emb.encode_batch = damaged
    return seen


def test_nan_inf_and_zero_vectors_are_never_stored(project_factory, images) -> None:
    import numpy as np

    import _integrity

    proj = project_factory("nan", images)
    _poison(proj.embedder, {0: np.nan, 1: 0.0, 2: np.inf})
    summary = proj.update()
    st = proj.status
    assert (st.done, st.failed) == (9, 3) and summary.embedded == 9 and summary.failed == 3
    fails = proj.failures
    assert list(fails["kind"]) == ["bad_vector"] * 3
    text = " ".join(fails["message"])
    assert "NaN" in text and "zero vector" in text and "infinite" in text
    assert "precision='fp32'" in text
    stored = proj.store.retrieve(list(fails["id"]))
    assert stored == {}  # the failed rows have no vector at all
    every = proj.store.retrieve(sorted(proj.store.ids()))
    assert len(every) == 9 and all(np.isfinite(v).all() for v in every.values())
    assert not _integrity.problems(proj)
    # Once the model is sound again, a retry embeds them.
    del proj.embedder.encode_batch
    proj.update(retry_failed=True)
    assert (proj.status.done, proj.status.failed) == (12, 0)


def test_a_model_that_gives_nan_for_everything_embeds_nothing(project_factory, images) -> None:
    import numpy as np

    proj = project_factory("allnan", images)
    _poison(proj.embedder, {r: np.nan for r in range(64)}, calls=10)
    proj.update()
    assert (proj.status.done, proj.status.failed) == (0, 12)
    assert proj.store.count() == 0
    assert set(proj.failures["kind"]) == {"bad_vector"}


def test_a_stored_nan_vector_is_never_lent_to_a_copy(project_factory, tmp_path) -> None:
    """A vector stored by an older version from a damaged model is not reused for a file
    with the same bytes: the copy is embedded."""
    import shutil

    import numpy as np

    from _helpers import draw

    root = tmp_path / "imgs"
    draw(root / "a.png", "red")
    proj = project_factory("lend", root)
    proj.update()
    (pid,) = proj.store.ids()
    proj.store.upsert([pid], np.full((1, proj.store.dim), np.nan, np.float32))
    shutil.copy(root / "a.png", root / "b.png")
    summary = proj.update()
    assert summary.reused == 0 and summary.embedded == 1
    vecs = proj.store.retrieve(sorted(proj.store.ids()))
    new = [v for i, v in vecs.items() if i != pid]
    assert len(new) == 1 and np.isfinite(new[0]).all()


# -- the one prepare step -----------------------------------------------------------
def test_the_local_engine_ray_tasks_and_reembedding_share_one_prepare_step(
    project_factory, images, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decoding rule planted in the prepare step shows up in a local sync, in the
    Ray decode tasks (run here, without Ray) and in re-embedding alike."""
    import numpy as np

    from aisearch_widgets import _prepare, _ray
    from aisearch_widgets.images import DecodeFailure

    proj = project_factory("p", images)
    proj.update()
    assert proj.status.done == 12
    victim = sorted(images.iterdir())[0]
    real = _prepare.decode

    def planted(data, name="<bytes>", min_side=224, **kw):
        if name == str(victim):
            raise DecodeFailure("unsupported", f"{name}: planted rule")
        return real(data, name, min_side, **kw)

    monkeypatch.setattr(_prepare, "decode", planted)

    # Re-embedding: the file fails like any undecodable one.
    summary = proj.reembed("int8").result(timeout=300)
    assert (summary.embedded, summary.failed) == (11, 1)

    # The Ray decode task.
    params = {"size": 32, "mean": [0.5] * 3, "std": [0.25] * 3}
    batch = {
        k: np.array(v, dtype=object)
        for k, v in (
            ("key", ["a", "b"]),
            ("id", ["ia", "ib"]),
            ("path", [str(victim), str(sorted(images.iterdir())[1])]),
            ("prev", ["", ""]),
        )
    }
    out = _ray._prepare_batch(batch, "demo", params, {}, False, 2**20)
    assert list(out["ok"]) == [False, True]
    assert (out["kind"][0], out["msg"][0]) == ("unsupported", f"{victim}: planted rule")

    # A local sync: the changed file fails with the planted kind and message.
    victim.write_bytes(victim.read_bytes() + b"\0")
    proj.update()
    got = set(zip(proj.failures.kind, proj.failures.message, strict=True))
    assert got == {("unsupported", f"{victim}: planted rule")}
