"""Videos as sources: sampled frames are searchable items, results become time ranges.

The videos are drawn here with PyAV (160x120, 2 frames/s, sampled at 1 frame/s): a
blue square moves along a conveyor and a red circle appears only in an event window.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

av = pytest.importorskip("av")

import aisearch_widgets as aw  # noqa: E402
from aisearch_widgets._errors import AISearchError  # noqa: E402
from aisearch_widgets.catalog import SCHEMA_VERSION, Catalog  # noqa: E402
from aisearch_widgets.video import VideoFrames, pixel_hash  # noqa: E402

from _helpers import from_frontend  # noqa: E402
from _integrity import problems  # noqa: E402

PROMPT = "a red circle"


def write_video(
    path: Path,
    seconds: int = 90,
    event: tuple[float, float] | None = (40, 50),
    fps: int = 2,
    size: tuple[int, int] = (160, 120),
    gop: int | None = None,
    keys: tuple[int, ...] = (),
    codec: str = "libx264",
) -> Path:
    """A conveyor: a blue square moving right; a red circle during ``event``. ``gop``:
    the keyframe interval in frames (x264's default, 250, when None); ``keys``: frame
    numbers made keyframes on top of those."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        if codec == "libx264":
            s.options = {
                "preset": "ultrafast",
                **({"g": str(gop)} if gop is not None else {}),
                **({"forced-idr": "1"} if keys else {}),
            }
        elif gop is not None:
            s.gop_size = gop
        for i in range(seconds * fps):
            img = Image.new("RGB", size, (235, 235, 235))
            d = ImageDraw.Draw(img)
            x = (i * 7) % (size[0] - 30)
            d.rectangle([x, 45, x + 28, 73], fill=(38, 84, 222))
            if event and event[0] <= i / fps < event[1]:
                d.ellipse([100, 30, 150, 80], fill=(214, 32, 32))
            frame = av.VideoFrame.from_image(img)
            if i in keys:
                frame.pict_type = av.video.frame.PictureType.I
            for pkt in s.encode(frame):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return path


def touch_later(path: Path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


def frame_rows(proj: aw.Project, path: Path) -> dict[int, str]:
    """t_ms -> id of the frames of the video at ``path``."""
    rows = proj.catalog.query("SELECT t_ms, id FROM files WHERE path = ?", (str(path),))
    return dict(rows)


@pytest.fixture
def line(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    write_video(root / "line.mp4")
    write_video(root / "quiet.mp4", seconds=30, event=None)
    Image.new("RGB", (64, 64), (30, 160, 60)).save(root / "still.png")
    return root


@pytest.fixture
def proj(line: Path, home: Path):
    p = aw.Project("video", sources=line, model="demo", home=home)
    p.update()
    yield p
    p.close()


def test_prompt_finds_the_event_window_as_one_segment(proj: aw.Project, line: Path) -> None:
    assert problems(proj) == []
    st = proj.status
    assert st.total == 90 + 30 + 1 and st.done == st.total and st.failed == 0
    res = proj.search(PROMPT, limit=10)
    df = res.df
    assert (df["kind"] == "frame").all() and (df["path"] == str(line / "line.mp4")).all()
    assert df["t"].between(40, 50).all(), df["t"].tolist()

    seg = res.segments()
    assert len(seg) == 1
    assert abs(seg["start"][0] - 40) <= 2 and abs(seg["end"][0] - 50) <= 2
    assert seg["frames"][0] == 10 and 40 <= seg["best_t"][0] <= 50
    assert seg["best_score"][0] == pytest.approx(df["score"].max())

    everything = proj.search(PROMPT, limit=200)
    kinds = everything.df.set_index("path")["kind"]
    assert kinds[str(line / "still.png")] == "image"
    assert np.isnan(everything.df.set_index("path").loc[str(line / "still.png"), "t"])
    vids = everything.by_video()
    assert list(vids.columns) == ["path", "best_score", "best_t", "frames"]
    assert vids["path"][0] == str(line / "line.mp4") and 40 <= vids["best_t"][0] <= 50
    assert vids["frames"].tolist() == [90, 30]

    # A frame as the reference of a similarity search, by id, like any image.
    sim = proj.similar(ids=[res.ids[0]], limit=5)
    assert sim.df["t"].between(40, 50).all(), sim.df["t"].tolist()
    assert proj.thumbnail(res.ids[0])[:2] == b"\xff\xd8"


def test_gap_splits_segments(proj: aw.Project) -> None:
    res = proj.search(PROMPT, limit=10)
    assert len(res.segments(gap=0.5)) == 10  # frames 1 s apart, nothing merged
    with pytest.raises(AISearchError):
        res.segments(gap=-1)


def test_update_follows_a_rewritten_video(proj: aw.Project, line: Path) -> None:
    before = frame_rows(proj, line / "line.mp4")
    write_video(line / "line.mp4", event=(10, 20))
    touch_later(line / "line.mp4")
    s = proj.update()
    assert s.changed == 1 and s.embedded + s.reused == 90
    assert s.reused > 0  # frames before the change decode to the same pixels
    assert problems(proj) == []
    assert frame_rows(proj, line / "line.mp4") == before  # ids from (video, time)
    res = proj.search(PROMPT, limit=10)
    assert res.df["t"].between(10, 20).all(), res.df["t"].tolist()
    seg = res.segments()
    assert len(seg) == 1 and abs(seg["start"][0] - 10) <= 2 and abs(seg["end"][0] - 20) <= 2


def test_deleted_video_loses_its_frames(proj: aw.Project, line: Path) -> None:
    proj.search(PROMPT, limit=200).tag("seen")
    os.remove(line / "quiet.mp4")
    s = proj.update()
    assert s.deleted == 1
    assert frame_rows(proj, line / "quiet.mp4") == {}
    assert proj.status.total == 91 and problems(proj) == []
    assert proj.tags["seen"] == 91  # the deleted frames' tags went with them


def test_vanished_folder_keeps_its_video_as_missing(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "data"
    write_video(root / "cam1" / "a.mp4", seconds=10, event=None)
    write_video(root / "cam2" / "b.mp4", seconds=10, event=None)
    with aw.Project("m", sources=root, model="demo", home=home) as p:
        p.update()
        p.search(PROMPT, limit=50).tag("kept")
        import shutil

        shutil.rmtree(root / "cam2")  # an unmounted share looks like this
        s = p.update()
        assert s.missing == 1 and s.deleted == 0
        assert p.status.missing == 10 and p.tags["kept"] == 20
        assert (p.failures["kind"] == "missing").sum() == 1  # one row for the video
        assert problems(p) == []
        write_video(root / "cam2" / "b.mp4", seconds=10, event=None)
        s = p.update()
        assert p.status.missing == 0 and p.status.done == 20 and problems(p) == []
        shutil.rmtree(root / "cam2")
        p.update()
        p.update(prune_missing=True)
        assert p.status.total == 10 and p.tags["kept"] == 10 and problems(p) == []


def read(path: Path, **kw) -> tuple[VideoFrames, list]:
    v = VideoFrames(path, 1.0, min_side=None, **kw)
    return v, list(v)


@pytest.mark.parametrize(
    "rate,gop",
    [(8, 8), (10, 5)],  # a keyframe on every sampling time; two per sampling interval
)
def test_dense_keyframes_decode_keyframes_only(tmp_path: Path, rate: int, gop: int) -> None:
    path = write_video(tmp_path / "cam.mp4", seconds=40, event=None, fps=rate, gop=gop)
    seq, exact = read(path, seek=False)
    assert seq.mode == "sequential" and seq.decoded == 40 * rate
    v, got = read(path)
    assert v.mode == "keyframes" and v.seeks == 0
    # The frames up to the second keyframe, those already in the decoder's pipeline when
    # it switched, then the keyframes only (one per sample when they are 1 s apart).
    assert v.decoded <= -(-40 * rate // gop) + gop + 4, v.decoded
    # Exactly the frames sequential decoding gives: same times, same pixels.
    assert [(f.t_ms, f.time, pixel_hash(f.image)) for f in got] == [
        (f.t_ms, f.time, pixel_hash(f.image)) for f in exact
    ]
    assert [f.t_ms for f in got] == list(range(0, 40_000, 1000))
    again = list(VideoFrames(path, 1.0, min_side=None))
    assert [(f.t_ms, f.time, pixel_hash(f.image)) for f in again] == [
        (f.t_ms, f.time, pixel_hash(f.image)) for f in got
    ]  # the same file gives the same frames


def test_keyframes_off_the_sampling_times_read_every_frame(tmp_path: Path) -> None:
    """A keyframe every 0.7 s lands on no sampling time after the first: the reader
    goes back and decodes every frame, so the frame of each time is the frame shown
    then (what export and the enlarged view show), never a keyframe next to it."""
    path = write_video(tmp_path / "cam.mp4", seconds=20, event=None, fps=10, gop=7)
    _, exact = read(path, seek=False)
    v, got = read(path)
    assert v.mode == "sequential" and v.seeks == 1
    assert [(f.t_ms, f.time, pixel_hash(f.image)) for f in got] == [
        (f.t_ms, f.time, pixel_hash(f.image)) for f in exact
    ]


def test_sparse_keyframes_stay_sequential(tmp_path: Path) -> None:
    path = write_video(tmp_path / "cam.mp4", seconds=30, event=None, fps=8, gop=80)
    seq, exact = read(path, seek=False)
    v, got = read(path)
    assert v.mode == "sequential" and v.decoded == seq.decoded == 240 and v.seeks == 0
    assert [(f.t_ms, f.time, pixel_hash(f.image)) for f in got] == [
        (f.t_ms, f.time, pixel_hash(f.image)) for f in exact
    ]


def test_a_long_keyframe_gap_goes_back_to_sequential(tmp_path: Path) -> None:
    """Keyframes 1 s apart at the start, then 10 s apart: the first long gap would skip
    nine sampling times, so the reader goes back to the keyframe before it and decodes
    every frame from there, giving exactly the sequential frames."""
    path = write_video(tmp_path / "cam.mp4", seconds=30, event=None, fps=8, gop=80, keys=(8,))
    _, exact = read(path, seek=False)
    v, got = read(path)
    assert v.gop == 1.0 and v.mode == "sequential" and v.seeks == 1
    assert [(f.t_ms, f.time, pixel_hash(f.image)) for f in got] == [
        (f.t_ms, f.time, pixel_hash(f.image)) for f in exact
    ]


def test_a_decoder_that_does_not_skip_reads_every_frame(tmp_path: Path) -> None:
    """FFmpeg's VP9 decoder ignores "decode keyframes only": the reader notices that
    non-keyframes keep coming and decodes every frame from the keyframe before."""
    path = write_video(
        tmp_path / "cam.webm", seconds=30, event=None, fps=8, gop=8, codec="libvpx-vp9"
    )
    seq, exact = read(path, seek=False)
    v, got = read(path)
    assert v.gop == 1.0 and v.mode == "sequential" and v.seeks == 1
    assert v.decoded <= seq.decoded + 2 * 8 + 40, (v.decoded, seq.decoded)
    assert [(f.t_ms, f.time, pixel_hash(f.image)) for f in got] == [
        (f.t_ms, f.time, pixel_hash(f.image)) for f in exact
    ]  # its keyframes fall on the sampling times: the same frames


def test_project_over_a_camera_with_a_keyframe_every_second(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "cams"
    write_video(root / "cam.mp4", seconds=30, event=(10, 20), fps=4, gop=4)
    with aw.Project("kf", sources=root, model="demo", home=home) as p:
        p.update()
        assert p.status.done == 30 and p.status.failed == 0 and problems(p) == []
        assert sorted(frame_rows(p, root / "cam.mp4")) == list(range(0, 30_000, 1000))
        seg = p.search(PROMPT, limit=10).segments()
        assert len(seg) == 1 and abs(seg["start"][0] - 10) <= 2 and abs(seg["end"][0] - 20) <= 2


def test_truncated_and_corrupt_videos_are_reported(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "data"
    mkv = write_video(root / "cut.mkv", seconds=40, event=None)
    size = mkv.stat().st_size
    with open(mkv, "r+b") as fh:
        fh.truncate(size // 2)
    (root / "junk.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    with aw.Project("t", sources=root, model="demo", home=home) as p:
        p.update()
        fails = p.failures.set_index("path")
        assert fails.loc[str(root / "junk.mp4"), "kind"] == "video_corrupt"
        part = fails.loc[str(root / "cut.mkv")]
        assert part["kind"] == "video_partial" and "frames kept up to t=" in part["message"]
        kept = frame_rows(p, root / "cut.mkv")
        assert 5 < len(kept) < 40, len(kept)
        assert max(kept) / 1000 < 30
        assert p.status.failed == 1  # the corrupt one; the partial one has frames
        assert problems(p) == []


def test_video_fps_is_stored_and_changing_it_resamples(proj: aw.Project, line: Path) -> None:
    assert proj.video_fps == 1.0
    before = frame_rows(proj, line / "line.mp4")
    proj.set_video_fps(0.5)
    cfg = json.loads((proj.folder / "project.json").read_text())
    assert cfg["video_fps"] == 0.5 and cfg["version"] == 3
    s = proj.update()
    after = frame_rows(proj, line / "line.mp4")
    assert sorted(after) == list(range(0, 90_000, 2000))
    assert all(after[t] == before[t] for t in after)  # shared times keep ids and vectors
    assert s.embedded == 0 and problems(proj) == []
    with pytest.raises(AISearchError):
        proj.set_video_fps(0)


def test_project_json_v2_gains_video_fps(tmp_path: Path, home: Path) -> None:
    write_video(tmp_path / "v" / "a.mp4", seconds=4, event=None)
    aw.Project("old", sources=tmp_path / "v", model="demo", home=home).close()
    cfg_path = home / "old" / "project.json"
    cfg = json.loads(cfg_path.read_text())
    del cfg["video_fps"]
    cfg["version"] = 2
    cfg_path.write_text(json.dumps(cfg))
    with aw.Project.open("old", home=home) as p:
        assert p.video_fps == 1.0
    cfg = json.loads(cfg_path.read_text())
    assert cfg["version"] == 3 and cfg["video_fps"] == 1.0
    with aw.Project("old", home=home, video_fps=2.0) as p:
        assert p.video_fps == 2.0


def test_catalog_of_version_1_opens(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """CREATE TABLE files(key TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE,
               path TEXT NOT NULL, source TEXT NOT NULL, size INTEGER NOT NULL,
               mtime_ns INTEGER NOT NULL, content TEXT, status TEXT NOT NULL
               CHECK (status IN ('pending', 'embedded', 'failed', 'missing')), model TEXT,
               error_kind TEXT, error_message TEXT, updated_at REAL NOT NULL,
               prior_status TEXT);
           INSERT INTO files VALUES ('d/a.jpg', 'id-a', '/d/a.jpg', 'd', 3, 4, 'c',
               'embedded', 'm', NULL, NULL, 0, NULL);
           PRAGMA user_version = 1;"""
    )
    db.close()
    cat = Catalog(str(path))
    assert cat.query("PRAGMA user_version")[0][0] == SCHEMA_VERSION >= 2
    assert cat.known()["d/a.jpg"].status == "embedded"
    assert cat.records(["id-a"])["id-a"].kind == "image"
    assert cat.query("SELECT COUNT(*) FROM videos")[0][0] == 0
    cat.close()


def test_file_actions_on_frames(proj: aw.Project, line: Path, tmp_path: Path) -> None:
    res = proj.search(PROMPT, limit=10)
    res.head(2).tag("defect")
    assert proj.tags["defect"] == 2  # per frame, not per video

    for call in (
        lambda: res.copy_to(tmp_path / "c"),
        lambda: res.move_to(tmp_path / "m"),
        lambda: res.delete(confirm=True),
    ):
        with pytest.raises(AISearchError, match="videos=True"):
            call()
    assert (line / "line.mp4").exists()

    out = res.export_frames(tmp_path / "frames")
    assert (out["status"] == "exported").all()
    names = sorted(os.path.basename(t) for t in out["target"])
    assert names == sorted(f"line_t{t:g}.jpg" for t in res.df["t"])
    again = res.head(1).export_frames(tmp_path / "frames")
    assert again["target"][0].endswith(" (1).jpg")  # never overwritten
    with Image.open(out["target"][0]) as im:
        assert im.size == (160, 120)

    copied = res.copy_to(tmp_path / "c", videos=True)
    assert copied["status"].tolist() == ["copied"] and (tmp_path / "c" / "line.mp4").exists()

    ids = frame_rows(proj, line / "line.mp4")
    moved = res.move_to(tmp_path / "m", videos=True)
    assert moved["status"].tolist() == ["moved"]
    assert frame_rows(proj, tmp_path / "m" / "line.mp4") == ids  # frames follow, same ids
    assert problems(proj) == []
    s = proj.update()
    assert s.embedded == 0 and s.deleted == 0 and problems(proj) == []
    assert proj.tags["defect"] == 2

    vecs = proj.store.retrieve(list(ids.values()))
    gone = proj.search(PROMPT, limit=10).delete(confirm=True, videos=True)
    assert gone["status"].tolist() == ["trashed"]
    assert not (tmp_path / "m" / "line.mp4").exists()
    assert frame_rows(proj, tmp_path / "m" / "line.mp4") == {}
    assert "defect" not in proj.tags and problems(proj) == []
    assert not set(ids.values()) & proj.store.ids()  # no frame of it is searchable

    # Undo: the video and every frame come back with their ids, tags and vectors.
    (trashed,) = proj.trash.df.itertuples()
    assert trashed.kind == "video" and trashed.path == str(tmp_path / "m" / "line.mp4")
    back = proj.trash.restore()
    assert back["status"].tolist() == ["restored"]
    assert frame_rows(proj, tmp_path / "m" / "line.mp4") == ids
    assert proj.tags["defect"] == 2 and problems(proj) == []
    after = proj.store.retrieve(list(ids.values()))
    assert vecs and all(np.allclose(after[i], vecs[i], atol=1e-6) for i in vecs)
    s = proj.update()
    assert s.embedded == 0 and s.deleted == 0 and s.added == 0


def test_missing_pyav_is_a_clear_failure(line: Path, home: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # import av raises ImportError
    with aw.Project("noav", sources=line, model="demo", home=home) as p:
        p.update()
        fails = p.failures
        assert (fails["kind"] == "unsupported").sum() == 2
        assert "pip install 'aisearch-widgets[video]'" in fails["message"][0]
        assert p.status.done == 1  # the still image


def test_images_only_never_import_av(images: Path, home: Path) -> None:
    code = (
        "import sys, aisearch_widgets as aw\n"
        f"p = aw.Project('img', sources={str(images)!r}, model='demo', home={str(home)!r})\n"
        "p.update(); p.search('a red circle', limit=3).df; p.close()\n"
        "assert 'av' not in sys.modules, 'av was imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_panel_shows_frame_times_and_segments(proj: aw.Project) -> None:
    panel = aw.SearchPanel(proj, page_size=8, poll_interval=0)
    sent: list = []
    panel.gallery.send = lambda msg, buffers=None: sent.append((msg, buffers or []))
    try:
        panel.search(PROMPT, limit=10)
        items = panel.gallery.items
        assert all(it["name"] == "line.mp4" and it["time"].startswith("0:4") for it in items)
        segs = panel.gallery.segments
        assert len(segs) == 1 and segs[0]["frames"] == 10 and segs[0]["name"] == "line.mp4"
        assert segs[0]["start"] == "0:40.0" and segs[0]["end"] == "0:49.0"
        assert segs[0]["id"] in proj.last.ids
        panel.gallery.view = "segments"
        ask = {"rid": "r1", "type": "preview", "id": segs[0]["id"], "size": 480}
        from_frontend(panel.gallery, ask)
        ((reply, bufs),) = [(m, b) for m, b in sent if m.get("rid") == "r1"]
        assert reply["ok"] and reply["time"].startswith("0:4") and bufs[0][:2] == b"\xff\xd8"
        # The preview's facts of a frame: its video's name and size, the frame's time.
        panel.gallery._handle_custom_msg({"rid": "r2", "type": "details", "id": segs[0]["id"]}, [])
        ((reply, _),) = [(m, b) for m, b in sent if m.get("rid") == "r2"]
        d = reply["details"]
        assert d["kind"] == "frame" and d["name"].endswith("line.mp4") and "#" not in d["name"]
        assert (d["width"], d["height"]) == (160, 120) and 40 <= d["t"] < 50
        panel.search("a blue square", limit=1)
        assert panel.gallery.segments[0]["frames"] == 1
    finally:
        panel.close()


def _noisy_video(path: Path, seconds: int = 6, fps: int = 25, gop: int | None = None) -> Path:
    """A video of noise frames (every second costs about the same bytes) whose header,
    written first (``faststart``), gives its duration: cut short, the header still
    says ``seconds``."""
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
        s.options = {"preset": "ultrafast", **({"g": str(gop)} if gop else {})}
        for _ in range(seconds * fps):
            arr = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            for pkt in s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return path


def test_a_video_cut_at_70_percent_without_a_decoder_error_is_partial(
    tmp_path: Path, home: Path
) -> None:
    """The header says 6 s; the frames end near 4 s, and FFmpeg reports nothing."""
    root = tmp_path / "cams"
    cut = _noisy_video(root / "cut.mp4")
    data = cut.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.7)])
    v, frames = read(cut)
    assert v.duration == 6.0 and 3.5 <= frames[-1].time < 4.5
    assert v.stopped and "frames kept up to t=4.0 s of 6.0 s" in v.stopped
    with aw.Project("cut", sources=root, model="demo", home=home) as p:
        p.update()
        fails = p.failures.set_index("path")
        assert fails.loc[str(cut), "kind"] == "video_partial"
        assert "the data ends early" in fails.loc[str(cut), "message"]
        assert sorted(frame_rows(p, cut)) == [0, 1000, 2000, 3000, 4000]
        assert p.status.failed == 0 and problems(p) == []


@pytest.mark.parametrize(
    ("gop", "seek", "mode"),
    [(None, None, "sequential"), (25, None, "keyframes"), (5, None, "seek"), (None, True, "seek")],
)
def test_a_whole_video_is_never_partial(tmp_path: Path, gop: int | None, seek, mode) -> None:
    path = _noisy_video(tmp_path / "whole.mp4", seconds=6, fps=25, gop=gop)
    v, frames = read(path, seek=seek)
    assert v.mode == mode
    assert [f.t_ms for f in frames] == [0, 1000, 2000, 3000, 4000, 5000], v.mode
    assert v.stopped is None, (v.mode, v.stopped)


def test_frames_with_nan_vectors_are_not_stored(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "cams"
    path = write_video(root / "quiet.mp4", seconds=10, event=None)
    with aw.Project("nan", sources=root, model="demo", home=home) as p:
        original = p.embedder.encode_batch
        calls: list[int] = []

        def damaged(pixels):
            out = np.array(original(pixels))
            if not calls:
                out[0] = np.nan  # the first frame of the first batch
            calls.append(len(out))
            return out

        p.embedder.encode_batch = damaged
        p.update()
        fails = p.failures.set_index("path")
        assert fails.loc[str(path), "kind"] == "bad_vector"
        assert "1 frames gave unusable vectors" in fails.loc[str(path), "message"]
        assert sorted(frame_rows(p, path)) == list(range(1000, 10_000, 1000))
        assert p.store.count() == 9 and p.status.failed == 0 and problems(p) == []

    other = write_video(tmp_path / "other" / "line.mp4", seconds=10, event=(2, 4))
    with aw.Project("allnan", sources=other.parent, model="demo", home=home) as p:
        p.embedder.encode_batch = lambda pixels: np.full((len(pixels), 256), np.nan)
        p.update()
        path = other
        fails = p.failures.set_index("path")
        assert fails.loc[str(path), "kind"] == "bad_vector"
        assert "no frame gave a usable vector" in fails.loc[str(path), "message"]
        assert frame_rows(p, path) == {} and p.store.count() == 0
        assert p.status.failed == 1 and problems(p) == []


def test_export_frames_never_follows_a_symlinked_name_and_checks_quality(
    tmp_path: Path, home: Path
) -> None:
    root = tmp_path / "cams"
    write_video(root / "line.mp4", seconds=4, event=None)
    outside = tmp_path / "private.txt"
    outside.write_text("not yours")
    dest = tmp_path / "frames"
    dest.mkdir()
    (dest / "line_t0.jpg").symlink_to(outside)  # leads out of the folder
    (dest / "line_t1.jpg").symlink_to(tmp_path / "nowhere.jpg")  # dangling
    (dest / "line_t2.jpg").symlink_to(dest / "kept.txt")  # inside, dangling
    with aw.Project("exp", sources=root, model="demo", home=home) as p:
        p.update()
        frames = p.search(PROMPT, limit=10)
        assert len(frames) == 4
        out = frames.export_frames(dest, quality=80)
        assert out["status"].tolist() == ["exported"] * 4, out["message"].tolist()
        names = sorted(os.path.basename(t) for t in out["target"])
        assert names == ["line_t0 (1).jpg", "line_t1 (1).jpg", "line_t2 (1).jpg", "line_t3.jpg"]
        assert outside.read_text() == "not yours"
        assert os.readlink(dest / "line_t0.jpg") == str(outside)
        assert not (tmp_path / "nowhere.jpg").exists() and not (dest / "kept.txt").exists()

        for bad in (0, 101, -5, 1.5, "x", None, float("nan"), True):
            with pytest.raises(aw.InvalidArgument, match=rf"quality .*1 and <= 100.*{bad!r}"):
                frames.export_frames(tmp_path / "never", quality=bad)
        assert not (tmp_path / "never").exists()  # refused before anything is written
        assert (frames.head(1).export_frames(dest, quality=100.0)["status"] == "exported").all()
