"""Video files as sources of frames (PyAV, the optional ``video`` extra).

A video is sampled at a project's ``video_fps``: the frame shown at ``k / fps``
seconds, for k = 0, 1, … up to the video's end. Each sampled frame is an item of
the project with a stable key built from the video's key and the frame time in
milliseconds (:func:`frame_key`), so re-indexing is idempotent and the id of the
frame at 40 s stays the same when the file is touched.

Decoding streams (one decoded frame in memory at a time, never the whole video);
each frame is reduced to the model's input size by FFmpeg's scaler
(``VideoFrame.reformat``) before it becomes a Python object.

Most frames of a compressed video can only be decoded after the frames before them,
back to a keyframe, so showing one frame a second of a 25 frames/s video costs 25
decoded frames. :class:`VideoFrames` reads a video in one of three modes, chosen
from the interval between its first two keyframes (``gop``) and the sampling
interval ``1 / fps`` (``step``) and kept in :attr:`VideoFrames.mode`:

- ``"seek"`` when ``step > SEEK_MIN_GOPS × gop`` (keyframes much denser than the
  samples): for each sample, seek to the keyframe before it and decode from there
  to the sampling time. The frames are those of sequential decoding.
- ``"keyframes"`` when ``gop ≤ step`` (+ half a frame), e.g. cameras writing a
  keyframe every second sampled at 1 frame/s: the decoder decodes keyframes only
  (``skip_frame = "NONKEY"``) as long as every sampling time has a keyframe on it
  (within half a frame): the frames are then exactly those of sequential decoding,
  at a fraction of the cost. At the first sampling time without a keyframe on it
  (keyframes off the sampling grid, a longer gap, or a slow drift: at 29.97 frames/s
  a keyframe every 30 frames is 1.001 s apart and leaves the grid after ~16 s), or
  when the decoder does not skip (FFmpeg's VP9 and AV1 decoders), the reader goes
  back to the keyframe before and reads the rest ``"sequential"``.
- ``"sequential"`` otherwise (keyframes far apart, the x264 default of 250 frames),
  or with ``seek=False``: every frame is decoded, the sampled ones are kept.

The choice depends on the file and ``fps`` alone: the same file gives the same frames.
B-frames that no other frame refers to could also be skipped between samples
(``skip_frame = "NONREF"``), but the switch would have to follow packets, ahead of
the decoder's threads, and could drop the very frame a sampling time needs: not done.
``benchmarks/bench_video.py`` (``seek``, ``speed --gop``) measures the modes.

``av`` is imported only when a video is actually read: a project of images never
loads it, and without it a video fails as ``unsupported`` with the way to install it.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from .images import DecodeFailure

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})
DEFAULT_FPS = 1.0
# Seek to the keyframe before each sample when the samples are more than this many
# keyframe intervals apart (measured: benchmarks/README.md, section 9).
SEEK_MIN_GOPS = 2.0
# Frames a decoder may still give after being told to skip non-keyframes: those already
# in its frame threads (FFmpeg uses at most 16) and its reordering delay (at most 16).
PIPELINE_FRAMES = 40
INSTALL_HINT = "pip install 'aisearch-widgets[video]'"


def is_video(path: str | os.PathLike[str]) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


def frame_key(video_key: str, t_ms: int) -> str:
    """The key of the frame at ``t_ms`` of the video with key ``video_key``. It ends in
    ``ms``, never an image or video extension, so it cannot be the key of a file."""
    return f"{video_key}#t={int(t_ms)}ms"


def frame_name(path: str, t_ms: int, ext: str = ".jpg") -> str:
    """``<video stem>_t<seconds><ext>``: the file name of an exported frame."""
    stem = os.path.splitext(os.path.basename(path))[0] or "video"
    secs = f"{t_ms / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{stem}_t{secs}{ext}"


def pixel_hash(img: Image.Image) -> str:
    """Hash of a reduced frame's pixels: equal hashes give equal vectors, so a frame
    unchanged by an edit of its video keeps its vector."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{img.size}".encode())
    h.update(img.tobytes())
    return "px:" + h.hexdigest()


def import_av() -> Any:
    try:
        import av
    except ImportError as exc:
        raise DecodeFailure(
            "unsupported",
            f"reading videos needs the optional 'av' package (PyAV): {INSTALL_HINT}",
        ) from exc
    return av


def check_regular(path: str) -> None:
    """Only regular files are opened (a FIFO named .mp4 would block FFmpeg forever)."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise DecodeFailure("missing", f"{path}: the file disappeared before it was read") from exc
    except OSError as exc:
        raise DecodeFailure("unreadable", f"{path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise DecodeFailure("not_a_file", f"{path}: not a regular file; it is skipped")
    if st.st_size == 0:
        raise DecodeFailure("empty", f"{path}: the file is empty (0 bytes)")


def _reduced_size(w: int, h: int, min_side: int | None) -> tuple[int, int]:
    """The size whose shorter side is ``min_side`` (never larger than the source)."""
    if not min_side or min(w, h) <= min_side:
        return w, h
    s = min_side / min(w, h)
    return max(2, round(w * s)), max(2, round(h * s))


@dataclass
class Frame:
    t_ms: int  # the sampling time (stable), in milliseconds
    time: float  # the decoded frame's own time, in seconds
    image: Image.Image  # RGB, shorter side ``min_side`` (or the source's)


class VideoFrames:
    """The sampled frames of one video, decoded lazily.

    >>> frames = VideoFrames("line.mp4", fps=1.0, min_side=224)   # doctest: +SKIP
    >>> for f in frames: ...                                      # Frame(t_ms, time, image)
    >>> frames.stopped                                            # None, or where and why

    :attr:`mode` says how it was read (``"sequential"``, ``"seek"`` or ``"keyframes"``,
    see the module's docstring; the last one used, after a fall-back to sequential),
    :attr:`gop` the first keyframe interval in seconds, :attr:`decoded` the frames
    decoded and :attr:`seeks` the seeks made. ``seek=False`` always decodes every
    frame, ``seek=True`` always seeks, ``None`` chooses.

    Opening fails with :class:`DecodeFailure` of kind ``video_corrupt`` (not a
    video, no video stream, truncated before its first frame) or ``unsupported``
    (PyAV missing). A video that stops decoding midway yields the frames before that
    point and sets :attr:`stopped` to a message saying where it stopped and why.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = DEFAULT_FPS,
        min_side: int | None = 224,
        seek: bool | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.fps = float(fps)
        self.min_side = min_side
        self.seek = seek
        self.duration: float | None = None
        self.stopped: str | None = None
        self.last_time: float | None = None
        self.decoded = 0  # frames decoded (sampled or not): the cost of the read
        self.seeks = 0
        self.mode = "seek" if seek else "sequential"
        self.gop: float | None = None  # the first keyframe interval, in seconds

    def estimate(self) -> int | None:
        """Frames this video will give, from its header (None if it does not say)."""
        if self.duration is None:
            return None
        return math.floor(self.duration * self.fps + 1e-6) + 1

    def __iter__(self) -> Iterator[Frame]:
        av = import_av()
        check_regular(self.path)
        try:
            container = av.open(self.path, metadata_errors="ignore")
        except Exception as exc:  # FFmpegError, and UnicodeDecodeError on odd metadata
            raise DecodeFailure(
                "video_corrupt", f"{self.path}: not a readable video ({_why(exc)})"
            ) from exc
        with container:
            if not container.streams.video:
                raise DecodeFailure("video_corrupt", f"{self.path}: the file holds no video stream")
            st = container.streams.video[0]
            st.thread_type = "AUTO"
            yield from self._frames(av, container, st)

    def _frames(self, av: Any, container: Any, st: Any) -> Iterator[Frame]:
        tb = float(st.time_base) if st.time_base else 1e-6
        start = float(st.start_time * tb) if st.start_time is not None else 0.0
        if st.duration:
            self.duration = float(st.duration * tb)
        elif container.duration:
            self.duration = container.duration / 1e6
        rate = float(st.average_rate) if st.average_rate else 25.0
        tol = 0.5 / rate  # the frame within half a frame of a sampling time is its frame
        step = 1.0 / self.fps
        k = 0
        size: tuple[int, int] | None = None
        keyframes: list[float] = []
        self.mode = "seek" if self.seek else "sequential"
        last_key: int | None = None  # pts of the last keyframe decoded
        resume: int | None = None  # pts of the keyframe to decode again from
        yielded = 0
        end: float | None = None  # the time of the latest frame decoded (sampled or not)

        def target() -> float:
            return k * step

        try:
            while True:
                if resume is not None:
                    container.seek(resume, stream=st, backward=True, any_frame=False)
                    self.seeks += 1
                    resume = None
                elif self.mode == "seek" and yielded:
                    if self.duration is not None and target() > self.duration + tol:
                        break
                    container.seek(
                        int((target() + start) / tb), stream=st, backward=True, any_frame=False
                    )
                    self.seeks += 1
                got = False
                for fr in container.decode(st):
                    self.decoded += 1
                    if fr.time is None:
                        continue
                    t = fr.time - start
                    end = t if end is None else max(end, t)
                    if self.mode == "keyframes":
                        # Back to every frame, from the keyframe before, to the end: at a
                        # sampling time with no keyframe on it (keyframes off the sampling
                        # grid, drifting, or a longer gap: the frame there is not a
                        # keyframe, and only the frame at a sampling time is ever taken),
                        # or when the decoder does not skip (VP9, AV1: frames long after
                        # the switch, past any frames already in its pipeline then).
                        if (
                            t > target() + tol
                            if fr.key_frame
                            else t > keyframes[1] + PIPELINE_FRAMES / rate
                        ):
                            st.codec_context.skip_frame = "DEFAULT"
                            self.mode = "sequential"
                            resume = last_key
                            break
                        if not fr.key_frame:
                            continue
                    if fr.key_frame:
                        last_key = fr.pts
                        if self.seek is None and len(keyframes) < 2:
                            keyframes.append(t)
                            if len(keyframes) == 2:
                                self.mode = self._choose(keyframes[1] - keyframes[0], step, tol)
                                if self.mode == "keyframes":
                                    st.codec_context.skip_frame = "NONKEY"
                    if t < target() - tol:
                        continue
                    while t >= target() + step - tol:  # a gap in the video: skip those times
                        k += 1
                    if size is None:
                        size = _reduced_size(fr.width, fr.height, self.min_side)
                    img = fr.reformat(width=size[0], height=size[1], format="rgb24").to_image()
                    self.last_time = t
                    yield Frame(round(target() * 1000), t, img)
                    yielded += 1
                    k += 1
                    got = True
                    if self.mode == "seek":
                        break
                if resume is None and (self.mode != "seek" or not got):
                    break
        except av.FFmpegError as exc:
            if not yielded:
                raise DecodeFailure(
                    "video_corrupt", f"{self.path}: no frame could be decoded ({_why(exc)})"
                ) from exc
            self.stopped = self._where(f"decoding failed: {_why(exc)}")
            return
        if not yielded:
            raise DecodeFailure("video_corrupt", f"{self.path}: the video has no decodable frame")
        if self.duration is not None and end is not None:
            # Frames stop short of the duration the header gives: a file cut short (a
            # copy interrupted, a camera that lost power) decodes without an error up
            # to where its data ends. Read sequentially, the last frame decoded is the
            # last one there is; seeking and keyframes-only reading may stop up to a
            # sampling interval (or a keyframe interval) before it. Half a second more
            # for a container whose duration counts a slightly longer audio track.
            slack = 1.0 / rate + 0.5
            if self.mode == "seek":
                slack += step + tol
            elif self.mode == "keyframes":
                slack += max(self.gop or 0.0, step) + tol
            if self.duration - end > slack:
                self.stopped = self._where("the data ends early (a truncated file?)")

    def _choose(self, gop: float, step: float, tol: float) -> str:
        """The way to read, from the first keyframe interval ``gop`` (seconds)."""
        self.gop = gop
        if gop <= 0:
            return "sequential"
        if step > SEEK_MIN_GOPS * gop:
            return "seek"
        if gop <= step + tol:
            return "keyframes"
        return "sequential"

    def _where(self, why: str) -> str:
        of = f" of {self.duration:.1f} s" if self.duration else ""
        at = self.last_time or 0.0
        return f"{self.path}: frames kept up to t={at:.1f} s{of}; {why}"


def frame_at(
    path: str | os.PathLike[str], t_ms: int, min_side: int | None = None
) -> Image.Image | None:
    """The frame shown at ``t_ms`` (full size unless ``min_side``), or None when the
    video cannot give it."""
    try:
        av = import_av()
        check_regular(os.fspath(path))
    except DecodeFailure:
        return None
    try:
        with av.open(os.fspath(path), metadata_errors="ignore") as container:
            st = container.streams.video[0]
            tb = float(st.time_base)
            start = float(st.start_time * tb) if st.start_time is not None else 0.0
            rate = float(st.average_rate) if st.average_rate else 25.0
            want = t_ms / 1000
            container.seek(int((want + start) / tb), stream=st, backward=True, any_frame=False)
            for fr in container.decode(st):
                if fr.time is None or fr.time - start < want - 0.5 / rate:
                    continue
                w, h = _reduced_size(fr.width, fr.height, min_side)
                return fr.reformat(width=w, height=h, format="rgb24").to_image()
    except Exception:  # a damaged video has no thumbnail; it is not an error to show one
        return None
    return None


def _why(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__
