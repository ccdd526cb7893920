"""Copies and look-alikes of drawn scenes: the data that measures duplicate finding.

A *scene* is one to three objects of one shape and colour on a tinted gradient
background (like the demo's shapes), optionally blurred or noisy, drawn from explicit
parameters so that a *look-alike* can change exactly one thing: the background tint,
the objects' position (10-14 px of 128, together) or size (12-25 %), or blur (sharp <-> blurred).
A look-alike is a different picture and must not be grouped with its scene. A *copy*
is the same picture altered the way files get copied: one to three of crop 1-4 %,
resize to 50-90 %, JPEG quality 45-80; or the same bytes.

Used by ``tests/test_explore.py`` and ``benchmarks/bench_duplicates.py``.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIDE = 128
COLORS = [
    (214, 32, 32), (36, 168, 58), (38, 84, 222), (246, 214, 36),
    (132, 52, 186), (246, 132, 22), (246, 122, 190),
]  # fmt: skip
SHAPES = ("circle", "square", "triangle", "diamond", "star", "hexagon")
LOOKALIKE_KINDS = ("tint", "shift", "size", "blur")


@dataclass(frozen=True)
class Scene:
    shape: str
    fill: tuple[int, int, int]
    base: tuple[float, float, float]  # background colour at the centre
    slope: float  # gradient across the image, in levels
    vertical: bool
    objects: tuple[tuple[float, float, float, float], ...]  # (cx, cy, r, angle) in pixels
    blur: float  # Gaussian sigma in pixels, 0 for sharp
    noise: float  # sensor-like noise sigma, 0 for none
    noise_seed: int


def random_scene(rng: np.random.Generator) -> Scene:
    dark = rng.random() < 0.35
    level = rng.uniform(15, 60) if dark else rng.uniform(190, 240)
    n = int(rng.choice([1, 2, 3], p=[0.7, 0.18, 0.12]))
    lo, hi = (0.16, 0.32) if n == 1 else (0.12, 0.18)
    objs: list[tuple[float, float, float, float]] = []
    while len(objs) < n:
        r = rng.uniform(lo, hi) * SIDE
        cx, cy = rng.uniform(r + 16, SIDE - r - 16, size=2)
        if all(math.hypot(cx - x, cy - y) > r + q + 4 for x, y, q, _ in objs):
            objs.append((float(cx), float(cy), float(r), float(rng.uniform(-15, 15))))
    return Scene(
        shape=str(rng.choice(SHAPES)),
        fill=COLORS[int(rng.integers(len(COLORS)))],
        base=tuple(float(v) for v in level + rng.uniform(-12, 12, size=3)),  # type: ignore[arg-type]
        slope=float(rng.uniform(-24, 24)),
        vertical=bool(rng.random() < 0.5),
        objects=tuple(objs),
        blur=float(rng.uniform(2.8, 4.6)) if rng.random() < 0.2 else 0.0,
        noise=float(rng.uniform(24, 42)) if rng.random() < 0.2 else 0.0,
        noise_seed=int(rng.integers(1 << 30)),
    )


def render(s: Scene) -> Image.Image:
    ss = 2  # drawn at 2x and box-reduced: anti-aliased edges
    side = SIDE * ss
    ramp = np.linspace(-0.5, 0.5, side)[:, None] * s.slope + np.array(s.base)[None, :]
    strip = np.clip(ramp, 0, 255).astype(np.uint8)
    strip = strip[:, None, :] if s.vertical else strip[None, :, :]
    img = Image.fromarray(strip, "RGB").resize((side, side), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(img)
    for cx, cy, r, angle in s.objects:
        cx, cy, r = cx * ss, cy * ss, r * ss
        if s.shape == "circle":
            draw.ellipse([cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9], fill=s.fill)
            continue
        k = {"square": 4, "triangle": 3, "diamond": 4, "star": 10, "hexagon": 6}[s.shape]
        start = math.radians(angle) + (math.pi / 4 if s.shape == "square" else -math.pi / 2)
        pts = []
        for j in range(k):
            rad = r * (0.45 if s.shape == "star" and j % 2 else 1.0)
            a = start + 2 * math.pi * j / k
            sx = 0.62 if s.shape == "diamond" else 1.0
            pts.append((cx + sx * rad * math.cos(a), cy + rad * math.sin(a)))
        draw.polygon(pts, fill=s.fill)
    img = img.reduce(ss)
    if s.blur:
        img = img.filter(ImageFilter.GaussianBlur(s.blur))
    if s.noise:
        rng = np.random.default_rng(s.noise_seed)
        arr = np.asarray(img, np.float32) + rng.standard_normal((SIDE, SIDE, 3)) * s.noise
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img


def lookalike(s: Scene, kind: str, rng: np.random.Generator) -> Scene:
    """Another picture of the same kind: ``kind`` changes one thing visibly."""
    if kind == "tint":
        delta = rng.choice([-1, 1]) * rng.uniform(10, 25) + rng.uniform(-4, 4, size=3)
        return replace(s, base=tuple(float(v) for v in np.clip(np.array(s.base) + delta, 0, 255)))
    if kind == "shift":
        a = rng.uniform(0, 2 * math.pi)
        d = rng.uniform(10, 14)
        dx, dy = d * math.cos(a), d * math.sin(a)
        objs = tuple((cx + dx, cy + dy, r, an) for cx, cy, r, an in s.objects)
        return replace(s, objects=objs)
    if kind == "size":
        f = 1 + rng.choice([-1, 1]) * rng.uniform(0.12, 0.25)
        return replace(s, objects=tuple((cx, cy, r * f, an) for cx, cy, r, an in s.objects))
    if kind == "blur":
        return replace(s, blur=0.0 if s.blur else float(rng.uniform(2.8, 4.6)))
    raise ValueError(kind)


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def altered_copy(img: Image.Image, rng: np.random.Generator) -> bytes:
    """One to three of: crop 1-4 %, resize to 50-90 %, JPEG quality 45-80."""
    w, h = img.size
    ops = set(rng.permutation(["crop", "resize", "jpeg"])[: int(rng.integers(1, 4))])
    if "crop" in ops:
        f = rng.uniform(0.01, 0.04)
        dx, dy = round(w * f), round(h * f)
        left, top = int(rng.integers(0, dx + 1)), int(rng.integers(0, dy + 1))
        img = img.crop((left, top, w - (dx - left), h - (dy - top)))
    if "resize" in ops:
        s = rng.uniform(0.5, 0.9)
        img = img.resize((int(img.width * s), int(img.height * s)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(rng.integers(45, 81)) if "jpeg" in ops else 95)
    return buf.getvalue()


@dataclass
class Set:
    """Files written to a folder: ``names`` (file names), ``picture`` (one number per
    distinct picture: a file and its copies share it, a look-alike has its own) and
    ``kind`` ("original", "copy", "exact", or a look-alike kind)."""

    root: Path
    names: list[str]
    picture: list[int]
    kind: list[str]

    def true_pairs(self) -> set[tuple[str, str]]:
        by: dict[int, list[str]] = {}
        for n, p in zip(self.names, self.picture, strict=True):
            by.setdefault(p, []).append(n)
        return {(a, b) for m in by.values() for a in m for b in m if a < b}


def make_set(
    root: Path, n: int, seed: int, p_copy: float = 0.35, p_exact: float = 0.05,
    p_lookalike: float = 0.5,
) -> Set:  # fmt: skip
    """``n`` scenes; each gets an altered copy (``p_copy``), a byte copy (``p_exact``)
    and one or two look-alikes (``p_lookalike``), written under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = Set(root, [], [], [])
    picture = 0

    def write(name: str, data: bytes, pic: int, kind: str) -> None:
        (root / name).write_bytes(data)
        out.names.append(name)
        out.picture.append(pic)
        out.kind.append(kind)

    for i in range(n):
        scene = random_scene(rng)
        img = render(scene)
        data = png(img)
        write(f"s{i:04d}.png", data, picture, "original")
        if rng.random() < p_copy:
            write(f"s{i:04d}_alt.jpg", altered_copy(img, rng), picture, "copy")
        if rng.random() < p_exact:
            write(f"s{i:04d}_copy.png", data, picture, "exact")
        if rng.random() < p_lookalike:
            kinds = rng.permutation(LOOKALIKE_KINDS)[: int(rng.integers(1, 3))]
            for kind in kinds:
                picture += 1
                write(
                    f"s{i:04d}_{kind}.png", png(render(lookalike(scene, kind, rng))), picture, kind
                )
        picture += 1
    return out
