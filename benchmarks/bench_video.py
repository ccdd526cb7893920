"""Video indexing: is frame decoding hidden behind the model, and is memory bounded?

    .venv/bin/python benchmarks/bench_video.py speed  --seconds 120 --model ViT-B-32:random
    .venv/bin/python benchmarks/bench_video.py memory --seconds 600 --encode-fps 5
    .venv/bin/python benchmarks/bench_video.py seek   --seconds 120

``speed``: a 1080p H.264 video (25 frames/s, a keyframe every ``--gop`` frames: 250 by
default, as x264's; 25 or less lets the reader decode keyframes only) indexed at 1
frame/s by a fresh project, against the model alone on the same number of pre-made
tensors, in the same run. Target: pipeline >= 0.9x model-only.
``memory``: a long 1080p video indexed at 1 frame/s while the process's RSS is
sampled every 0.2 s; prints RSS at each quarter of the frames (flat = bounded) and the
peak. ``seek``: sequential decoding against seeking to the keyframe before each sample,
for several keyframe intervals (what ``video.SEEK_MIN_GOPS`` is based on).

Writes benchmarks/results/video-<mode>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def make_video(path: Path, seconds: int, fps: int = 25, gop: int = 250) -> Path:
    """A 1080p H.264 video of moving discs on a noisy gradient (compresses like a
    camera: ~1-3 Mbit/s). Frames are cheap variations of a few pre-drawn ones."""
    import av

    w, h = 1920, 1080
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bases = []
    for _ in range(4):
        c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = (xx / w + yy / h) / 2
        img = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
        img += rng.normal(0, 8, size=(h, w, 1))
        bases.append(np.clip(img, 0, 255).astype(np.uint8))
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "ultrafast", "g": str(gop)}
        for i in range(seconds * fps):
            frame = bases[(i // (fps * 7)) % len(bases)].copy()
            x = (i * 13) % (w - 300)
            frame[400:700, x : x + 300] = (255 - i % 255, 60, 90)
            for pkt in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(pkt)
        for pkt in s.encode():
            out.mux(pkt)
    return path


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _index(video_dir: Path, model: str, batch: int, precision: str, sample: bool = False) -> dict:
    import aisearch_widgets as aw

    home = Path(tempfile.mkdtemp(prefix="bench-video-home-"))
    try:
        proj = aw.Project(
            "bench",
            sources=video_dir,
            model=model,
            home=home,
            batch_size=batch,
            precision=precision,
        )
        proj.embedder  # noqa: B018 - load the model before timing
        samples: list[tuple[int, float]] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                samples.append((proj.indexer.progress.done, _rss_mb()))
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        if sample:
            watcher.start()
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        s = proj.update()
        secs = time.perf_counter() - t0
        stop.set()
        frames = proj.status.done
        proj.close()
        return {
            "frames": frames,
            "seconds": secs,
            "rate": frames / secs,
            "summary": s.as_dict(),
            "rss_before_mb": rss0,
            "samples": samples,
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _model_only(model: str, n: int, batch: int, precision: str) -> float:
    import torch

    from aisearch_widgets.embedder import Embedder

    emb = Embedder(model, device="cpu", precision=precision)
    x = torch.randn(n, 3, emb.image_size, emb.image_size)
    emb.encode_batch(x[:batch])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        emb.encode_batch(x[i : i + batch])
    return n / (time.perf_counter() - t0)


def _made_elsewhere(path: Path, seconds: int, fps: int = 25, gop: int = 250) -> float:
    """Encode the test video in a child process (its numpy buffers would otherwise stay
    in this process's RSS), return the seconds it took."""
    import subprocess
    import sys

    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "make",
            "--out",
            str(path),
            "--seconds",
            str(seconds),
            "--encode-fps",
            str(fps),
            "--gop",
            str(gop),
        ],
        check=True,
    )
    return time.perf_counter() - t0


def _decode_only(path: Path, size: int) -> dict:
    """Sampled frames per second of the reader alone, and how it read."""
    from aisearch_widgets.video import VideoFrames

    v = VideoFrames(path, 1.0, min_side=size)
    t0 = time.perf_counter()
    n = sum(1 for _ in v)
    rate = n / (time.perf_counter() - t0)
    return {"rate": rate, "mode": v.mode, "decoded": v.decoded, "gop_s": v.gop}


def speed(args: argparse.Namespace) -> dict:
    """Rounds of (pipeline, model only, decode only), each ratio from one round."""
    rounds = []
    gop_s = None  # the keyframe interval the reader measured, in seconds
    with tempfile.TemporaryDirectory(prefix="bench-video-") as d:
        if args.video:  # reuse a video made by an earlier run (``make`` mode)
            shutil.copy(args.video, Path(d) / "line.mp4")
            made = 0.0
        else:
            made = _made_elsewhere(Path(d) / "line.mp4", args.seconds, gop=args.gop)
        size = (Path(d) / "line.mp4").stat().st_size
        for r in range(args.rounds):
            run = _index(Path(d), args.model, args.batch, args.precision)
            only = _model_only(args.model, run["frames"], args.batch, args.precision)
            dec = _decode_only(Path(d) / "line.mp4", 224)
            gop_s = dec["gop_s"]
            rounds.append(
                {
                    "round": r,
                    "frames": run["frames"],
                    "pipeline_rate": round(run["rate"], 2),
                    "model_only_rate": round(only, 2),
                    "decode_only_rate": round(dec["rate"], 2),
                    "decode_mode": dec["mode"],
                    "decoded_frames": dec["decoded"],
                    "ratio": round(run["rate"] / only, 3),
                }
            )
            print(json.dumps(rounds[-1]), flush=True)
    return {
        "video_seconds": args.seconds,
        "gop": args.gop,  # keyframe interval, in frames (with --video: as told)
        "measured_gop_s": gop_s,
        "video_bytes": size,
        "encode_seconds": made,
        "precision": args.precision,
        "model": args.model,
        "rounds": rounds,
        "ratio_median": float(np.median([x["ratio"] for x in rounds])),
        "cpus": os.cpu_count(),
    }


def memory(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-video-") as d:
        _made_elsewhere(Path(d) / "long.mp4", args.seconds, fps=args.encode_fps)
        run = _index(Path(d), args.model, args.batch, args.precision, sample=True)
    samples = run.pop("samples")
    total = run["frames"]
    quarters = {}
    for q in (0.25, 0.5, 0.75, 1.0):
        got = [r for done, r in samples if done <= q * total]
        quarters[f"{int(q * 100)}%"] = round(max(got), 1) if got else None
    return {
        "video_seconds": args.seconds,
        "encode_fps": args.encode_fps,
        "frames": total,
        "seconds": run["seconds"],
        "rss_before_index_mb": round(run["rss_before_mb"], 1),
        "rss_by_progress_mb": quarters,
        "peak_rss_mb": round(max(r for _, r in samples), 1),
    }


def seek(args: argparse.Namespace) -> dict:
    from aisearch_widgets.video import VideoFrames

    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-video-") as d:
        for gop in (25, 250):
            path = make_video(Path(d) / f"g{gop}.mp4", args.seconds, gop=gop)
            for fps in (1.0, 0.2, 0.05):
                row = {}
                for mode, flag in (("sequential", False), ("seek", True), ("auto", None)):
                    v = VideoFrames(path, fps, min_side=224, seek=flag)
                    t0 = time.perf_counter()
                    n = sum(1 for _ in v)
                    row[mode] = {
                        "seconds": round(time.perf_counter() - t0, 3),
                        "frames": n,
                        "decoded": v.decoded,
                        "seeks": v.seeks,
                    }
                out[f"gop={gop} ({gop / 25:g} s), sample every {1 / fps:g} s"] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["speed", "memory", "seek", "make"])
    ap.add_argument("--out", default=None, help="make: where to write the video")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--video", default=None, help="speed: an existing 1080p video to use")
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--encode-fps", type=int, default=5)
    ap.add_argument(
        "--gop", type=int, default=250, help="make, speed: keyframe interval, in frames"
    )
    ap.add_argument("--model", default="ViT-B-32:random")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument(
        "--precision", default="fp32", choices=["fp32", "int8"], help="both sides use it"
    )
    args = ap.parse_args()
    if args.mode == "make":
        make_video(Path(args.out), args.seconds, fps=args.encode_fps, gop=args.gop)
        return
    res = {"speed": speed, "memory": memory, "seek": seek}[args.mode](args)
    RESULTS.mkdir(exist_ok=True)
    tag = "" if args.precision == "fp32" else f"-{args.precision}"
    if args.mode == "speed" and args.gop != 250:  # with --video: say which gop it has
        tag += f"-gop{args.gop}"
    (RESULTS / f"video-{args.mode}{tag}.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
