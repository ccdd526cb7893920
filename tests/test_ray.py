"""``engine="ray"``: the same sync on a local Ray cluster (2 CPUs, one per module)
gives what the in-process indexer gives, survives a kill -9 of its driver, and stops
early when the workers cannot read the files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")

import aisearch_widgets as aw
from aisearch_widgets import _ray
from aisearch_widgets.cli import main

import _integrity
from _helpers import draw, make_folder

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def cluster() -> str:
    """A local Ray for the module; its address lets subprocess drivers join it."""
    ray = _ray.ensure_ray(None, num_cpus=2)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _mixed_folder(root: Path, n: int = 10) -> int:
    """``n`` good images, a truncated JPEG, a non-image, an empty file, a FIFO."""
    make_folder(root, n)
    good = draw(root / "whole.jpg", "yellow", size=(80, 60), seed=99).read_bytes()
    (root / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "notes.png").write_bytes(b"this is not an image")
    (root / "empty.jpg").write_bytes(b"")
    os.mkfifo(root / "pipe.jpg")
    return n + 1


def _state(proj: aw.Project) -> tuple[dict, dict]:
    rows = proj.catalog.query("SELECT id, key, status, error_kind, error_message FROM files")
    ids = {r[1]: r[0] for r in rows}
    fails = {r[1]: (r[3], r[4]) for r in rows if r[2] == "failed"}
    return ids, fails


def test_ray_gives_the_ids_failures_and_vectors_of_in_process(
    cluster: str, tmp_path: Path, tiny_model: str
) -> None:
    images = tmp_path / "images"
    good = _mixed_folder(images)
    got = {}
    for engine in ("local", "ray"):
        # Same project name in two homes: same point ids.
        with aw.Project(
            "p",
            sources=images,
            model=tiny_model,
            home=tmp_path / engine,
            engine=engine,
            batch_size=4,
        ) as proj:
            s = proj.update()
            assert (s.embedded, s.failed) == (good, 4), engine
            assert _integrity.problems(proj) == []
            ids, fails = _state(proj)
            vecs = proj.store.retrieve(list(ids.values()))
            thumbs = {k for k, i in ids.items() if proj.thumbs.get(i) is not None}
            got[engine] = (ids, fails, vecs, thumbs)
    (ids_l, fails_l, vecs_l, th_l), (ids_r, fails_r, vecs_r, th_r) = got["local"], got["ray"]
    assert ids_r == ids_l
    assert fails_r == fails_l  # same kinds, same messages
    assert {k for k, _ in fails_r.values()} == {"truncated", "not_an_image", "empty", "not_a_file"}
    assert set(vecs_r) == set(vecs_l) and len(vecs_r) == good
    cos = [float(vecs_l[i] @ vecs_r[i]) for i in vecs_l]
    assert min(cos) >= 0.9999
    assert th_r == th_l and len(th_r) == good


def test_ray_embeds_the_frames_of_videos_like_in_process(
    cluster: str, tmp_path: Path, tiny_model: str
) -> None:
    pytest.importorskip("av")
    from test_video import write_video

    images = tmp_path / "images"
    make_folder(images, 4, sub=False)
    video = write_video(images / "line.mp4", seconds=6, event=(2, 4))
    got = {}
    for engine in ("local", "ray"):
        with aw.Project(
            "p", sources=images, model=tiny_model, home=tmp_path / engine, engine=engine
        ) as proj:
            s = proj.update()
            assert s.failed == 0, proj.catalog.query("SELECT key, error_message FROM files")
            assert _integrity.problems(proj) == []
            ids, fails = _state(proj)
            assert fails == {}
            frames = proj.catalog.query("SELECT t_ms, id FROM files WHERE path = ?", (str(video),))
            assert len(frames) == 6, engine  # 6 s sampled at 1 frame/s
            found = proj.search("a red circle", limit=50).df
            assert (found["kind"] == "frame").sum() == 6 and (found["kind"] == "image").sum() == 4
            vecs = proj.store.retrieve(list(ids.values()))
            assert len(vecs) == 10
            got[engine] = (ids, dict(frames), vecs)
    (ids_l, fr_l, vecs_l), (ids_r, fr_r, vecs_r) = got["local"], got["ray"]
    assert ids_r == ids_l and fr_r == fr_l
    assert min(float(vecs_l[i] @ vecs_r[i]) for i in vecs_l) >= 0.9999


def test_ray_moved_file_borrows_its_vector(cluster: str, tmp_path: Path, tiny_model: str) -> None:
    images = tmp_path / "images"
    make_folder(images, 6, sub=False)
    with aw.Project(
        "p", sources=images, model=tiny_model, home=tmp_path / "home", engine="ray"
    ) as proj:
        assert proj.update().embedded == 6
        before = proj.store.retrieve(
            [proj.catalog.ids_of_keys(["images/red_000.jpg"])["images/red_000.jpg"]]
        )
        (images / "red_000.jpg").rename(images / "renamed.jpg")
        s = proj.update()
        assert (s.embedded, s.reused, s.deleted) == (0, 1, 1)
        assert _integrity.problems(proj) == []
        new_id = proj.catalog.ids_of_keys(["images/renamed.jpg"])["images/renamed.jpg"]
        np.testing.assert_allclose(
            proj.store.retrieve([new_id])[new_id], next(iter(before.values())), atol=1e-6
        )


def test_ray_stops_early_when_a_worker_cannot_read_the_files(
    cluster: str, tmp_path: Path, tiny_model: str
) -> None:
    # /proc/self/fd/N names the image in this process only: a worker, like a node
    # without the shared mount, cannot open it.
    img = draw(tmp_path / "a.jpg")
    fd = os.open(img, os.O_RDONLY)
    high = os.dup2(fd, 901)
    try:
        path = f"/proc/self/fd/{high}"
        with aw.Project(
            "p", sources=[path], model=tiny_model, home=tmp_path / "home", engine="ray"
        ) as proj:
            with pytest.raises(_ray.WorkerCannotRead, match="same paths") as err:
                proj.update()
            assert path in str(err.value)
            assert proj.catalog.counts(proj.model_identity)["embedded"] == 0
            assert _integrity.problems(proj) == []
    finally:
        os.close(high)
        os.close(fd)


def test_pure_preprocess_gives_the_pixels_of_the_model_transform(
    tmp_path: Path, tiny_model: str
) -> None:
    from PIL import Image

    from aisearch_widgets.embedder import Embedder
    from aisearch_widgets.images import decode

    rng = np.random.default_rng(1)
    for spec in (tiny_model, "demo"):
        emb = Embedder(spec, device="cpu", precision="fp32")
        params = _ray.preprocess_params(emb)
        assert params is not None and params["size"] == emb.image_size, spec
        n = emb.image_size
        shapes = [(640, 480), (480, 640), (n, n), (n + 1, n), (n - 3, 3 * n), (7, 5), (333, 97)]
        for i, (w, h) in enumerate(shapes):
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            path = tmp_path / f"{i}.jpg"
            Image.fromarray(arr).save(path, quality=90)
            img = decode(path.read_bytes(), str(path), n)  # as the decode tasks do
            want = emb.preprocess(img).numpy()
            got = _ray.pure_preprocess(img, params)
            assert got.dtype == np.float32 and got.shape == want.shape
            np.testing.assert_array_equal(got, want, err_msg=f"{spec} {w}x{h}")


JOIN = r"""
import sys, time
import aisearch_widgets as aw
from aisearch_widgets import _ray

home, images, model, address, bound = sys.argv[1:6]
_ray.CONNECT_TIMEOUT_S = float(bound)
t0 = time.monotonic()
with aw.Project("p", sources=images, model=model, home=home, engine="ray",
                ray_address=address) as proj:
    try:
        proj.update()
    except _ray.RayUnavailable as exc:
        print(f"{time.monotonic() - t0:.1f}|{exc}", flush=True)
        sys.exit(0)
print("no error", flush=True)
sys.exit(1)
"""


def _join(tmp_path: Path, model: str, address: str, bound: float = 60) -> tuple[float, str]:
    """Index a folder on Ray at ``address`` in a fresh process (it must not be
    connected to Ray already): the seconds until it failed, and its message."""
    images = tmp_path / "imgs"
    make_folder(images, 2)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            JOIN,
            str(tmp_path / "home"),
            str(images),
            model,
            address,
            str(bound),
        ],
        capture_output=True,
        text=True,
        timeout=90,  # Ray alone retries a dead address for many minutes
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    seconds, _, message = out.stdout.strip().splitlines()[-1].partition("|")
    return float(seconds), message


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_bare_address_where_nothing_listens_fails_in_seconds(
    tmp_path: Path, tiny_model: str
) -> None:
    address = f"127.0.0.1:{_free_port()}"
    seconds, message = _join(tmp_path, tiny_model, address)
    assert seconds < 30, seconds
    assert address in message and "nothing answers" in message
    assert "ray start --head" in message and "'auto'" in message


def test_a_bare_address_that_never_speaks_ray_fails_within_the_bound(
    tmp_path: Path, tiny_model: str
) -> None:
    import socket

    with socket.socket() as server:  # accepts connections (the backlog), says nothing
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        seconds, message = _join(tmp_path, tiny_model, address, bound=4)
    assert seconds < 30, seconds
    assert address in message and "did not answer within 4 s" in message


def test_a_malformed_bare_address_is_refused_at_once() -> None:
    with pytest.raises(_ray.RayUnavailable, match="not an address Ray can join"):
        _ray.probe_address("localhost")


NO_TORCH = r"""
import sys
import numpy as np
from aisearch_widgets import _ray
params = {"size": 32, "mean": [0.5] * 3, "std": [0.25] * 3}
batch = {k: np.array([v], dtype=object) for k, v in
         (("key", "k"), ("id", "i"), ("path", sys.argv[1]), ("prev", ""))}
out = _ray._prepare_batch(batch, "demo", params, {}, True, 2**20)
assert out["ok"][0] and out["pixels"].shape == (1, 32, 32, 3), out
print("torch" in sys.modules, "open_clip" in sys.modules)
"""


def test_decode_tasks_never_import_torch(tmp_path: Path) -> None:
    img = draw(tmp_path / "a.jpg")
    out = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(img)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert out.stdout.split() == ["False", "False"]


DRIVER = r"""
import json, sys, time
import aisearch_widgets as aw
from aisearch_widgets.indexer import Indexer

original = Indexer._commit

def slow_commit(self, *a, **kw):
    out = original(self, *a, **kw)
    print(json.dumps({"committed": self.progress.done}), flush=True)
    time.sleep(0.3)
    return out

Indexer._commit = slow_commit
home, images, model, address = sys.argv[1:5]
proj = aw.Project("p", sources=images, model=model, home=home, engine="ray",
                  ray_address=address, batch_size=2)
proj.update()
print(json.dumps({"finished": True}), flush=True)
"""


def test_ray_driver_killed_mid_run_resumes_without_loss_or_repeat(
    cluster: str, tmp_path: Path, tiny_model: str
) -> None:
    images = tmp_path / "images"
    make_folder(images, 24)
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(home), str(images), tiny_model, cluster],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        commits = 0
        for line in proc.stdout:  # type: ignore[union-attr]
            msg = json.loads(line) if line.startswith("{") else {}
            assert "finished" not in msg, "the driver finished before it could be killed"
            commits += "committed" in msg
            if commits == 3:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    with aw.Project("p", home=home, engine="ray") as proj:
        done_before = proj.catalog.counts(proj.model_identity)["embedded"]
        assert 0 < done_before < 24
        s = proj.update()
        assert s.embedded + s.reused == 24 - done_before  # nothing embedded twice
        assert proj.status.done == 24 and proj.status.failed == 0
        assert proj.store.count() == 24
        assert _integrity.problems(proj) == []


def test_cli_index_with_ray(cluster: str, tmp_path: Path, tiny_model: str, capsys) -> None:
    images = tmp_path / "images"
    make_folder(images, 5)
    home = str(tmp_path / "home")
    assert main(["--home", home, "index", str(images), "--model", tiny_model, "-q", "--ray"]) == 0
    assert "images: 5/5 embedded, 0 failed" in capsys.readouterr().out


OPEN = r"""
import sys
import aisearch_widgets as aw
proj = aw.Project("p", sources=sys.argv[1], model=sys.argv[2], home=sys.argv[3], engine="ray")
proj.close()
print("ray" in sys.modules)
"""


def test_opening_a_ray_project_does_not_import_ray(tmp_path: Path, tiny_model: str) -> None:
    images = tmp_path / "images"
    make_folder(images, 2)
    out = subprocess.run(
        [sys.executable, "-c", OPEN, str(images), tiny_model, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_two_ray_projects_of_one_process_never_wait_for_each_other(
    cluster: str, tmp_path: Path, tiny_model: str
) -> None:
    """Model actors are kept between syncs, each holding a CPU: two projects on a
    2-CPU Ray would leave no CPU for the other's decode tasks, and its sync would wait
    for ever. Starting actors stops another project's idle ones, and neither keeps
    them between syncs while the other is open."""
    import threading

    folders = []
    for name in ("a", "b"):
        folders.append(tmp_path / name)
        make_folder(folders[-1], 4, sub=False)
    a = aw.Project("a", sources=folders[0], model=tiny_model, home=tmp_path / "ha", engine="ray")
    b = aw.Project("b", sources=folders[1], model=tiny_model, home=tmp_path / "hb", engine="ray")
    try:
        for i, (proj, folder) in enumerate([(a, folders[0]), (b, folders[1]), (a, folders[0])]):
            draw(folder / f"new-{i}.jpg", "yellow", seed=100 + i)
            got: list = []
            t = threading.Thread(target=lambda p=proj, out=got: out.append(p.update()), daemon=True)
            t.start()
            t.join(timeout=240)
            assert not t.is_alive(), f"the sync of {proj.name} waited for the other's actors"
            assert got[0].failed == 0 and got[0].embedded >= 1
            assert _integrity.problems(proj) == []
    finally:
        a.close()
        b.close()
