"""Small data builders shared by the tests: a tiny random CLIP model folder and
images drawn with Pillow."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, ImageDraw

T = TypeVar("T")

TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}

COLORS = {
    "red": (220, 30, 30),
    "green": (30, 180, 60),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 40),
    "black": (10, 10, 10),
    "white": (245, 245, 245),
}


def write_tiny_model(folder: Path) -> Path:
    """A randomly initialised (seeded) open_clip model in the folder format that
    ``Project(model=<folder>)`` loads: open_clip_config.json + safetensors weights."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    cfg = {
        "model_cfg": TINY_CFG,
        "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
    }
    (folder / "open_clip_config.json").write_text(json.dumps(cfg))
    torch.manual_seed(0)
    model = open_clip.CLIP(**TINY_CFG)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    return folder


def draw(
    path: Path,
    color: str = "red",
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
    fmt: str | None = None,
) -> Path:
    """An image of a coloured disc on a noisy background; deterministic per seed."""
    rng = np.random.default_rng(seed)
    bg = rng.integers(100, 156, size=(size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(bg, "RGB")
    d = ImageDraw.Draw(img)
    w, h = size
    r = min(w, h) // 3
    cx, cy = int(rng.integers(r, w - r + 1)), int(rng.integers(r, h - r + 1))
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=COLORS[color])
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)
    return path


def make_folder(
    root: Path, n: int = 12, colors: tuple[str, ...] = ("red", "green", "blue"), sub: bool = True
) -> list[Path]:
    """``n`` images cycling through colours, some in a subfolder."""
    out = []
    for i in range(n):
        c = colors[i % len(colors)]
        folder = root / ("sub" if sub and i % 4 == 3 else "")
        ext = ".png" if i % 2 else ".jpg"
        out.append(draw(folder / f"{c}_{i:03d}{ext}", c, seed=i))
    return out


def touch_later(path: Path, seconds: float = 5.0) -> None:
    """Bump a file's mtime so that stat-based change detection must notice it."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + int(seconds * 1e9)))


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def inject(proj, vectors: dict[str, np.ndarray]) -> None:
    """Replace the stored vectors of indexed images by designed ones, so that a test
    knows the true answer of every search."""
    ids = list(vectors)
    proj.store.upsert(ids, np.stack([vectors[i] for i in ids]))


def clustered(n_per: list[int], dim: int, spread: float = 0.15, seed: int = 0):
    """Unit vectors in clusters of the given sizes: (vectors, labels)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(len(n_per), dim)))
    vecs, labels = [], []
    for c, n in enumerate(n_per):
        vecs.append(unit(centres[c] + spread * rng.normal(size=(n, dim)) / np.sqrt(dim) * 4))
        labels += [c] * n
    return np.concatenate(vecs), np.array(labels)


def slow_down(proj, seconds: float) -> None:
    """Make every indexing batch of ``proj`` take ``seconds`` longer, so that a test
    can act while the first pass is running."""
    import time

    original = proj.indexer._commit

    def slow(*a, **kw):
        time.sleep(seconds)
        return original(*a, **kw)

    proj.indexer._commit = slow


def wait_for(
    condition: Callable[[], T],
    timeout: float,
    what: str | Callable[[], str] = "the condition",
    *,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Wait until ``condition()`` returns a true value (and return it) or fail with an
    ``AssertionError`` after ``timeout`` s naming ``what`` (a callable gives the text at
    that moment, e.g. a log's tail). The one waiting loop of the tests, for things that
    have no event to wait on (another process, a file, a thread of the library): it
    checks every 10 ms at first and backs off to 0.25 s, so a quick answer is seen
    quickly and a slow one costs little CPU. Exceptions in ``retry_on`` mean "not yet";
    any other is raised at once (e.g. "the server process died")."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        try:
            value = condition()
        except retry_on:
            value = None  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() > deadline:
            text = what() if callable(what) else what
            raise AssertionError(f"waited {timeout:g} s for {text}")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.25)


def from_frontend(widget, content: dict, buffers: list[bytes] | None = None) -> None:
    """Deliver ``content`` to ``widget`` the way its front end does: a custom message
    on the widget's comm (the Jupyter widget message protocol), so the test goes
    through the same dispatch as a click in the browser."""
    msg = {"content": {"data": {"method": "custom", "content": content}}}
    widget.comm.handle_msg({**msg, "buffers": list(buffers or [])})


def damage_files_table(db: Path) -> None:
    """Overwrite the first page of the catalog's ``files`` table (the other tables
    stay readable): what ``aisearch repair`` salvages from."""
    import sqlite3

    with sqlite3.connect(db) as con:
        page = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'files'").fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
    with open(db, "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(b"\xff" * size)


def record_sends(panel) -> None:
    """Replace each part's ``send`` by a recorder: ``part.sent`` holds (msg, buffers)."""
    for part in (panel.controls, panel.gallery, panel.actions, panel.chart):
        part.sent = []
        part.send = lambda msg, buffers=None, part=part: part.sent.append((msg, buffers or []))
