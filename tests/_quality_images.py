"""Generated images with known quality issues, for the quality tests and benchmark.

Normal scenes are coloured, textured and sharp (a smooth colour field, a few shapes,
fine noise); each planted image is one of them made blurry, dark, bright, grey or
nearly flat (low information), or given an odd size or aspect ratio. Deterministic
for a seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: Planted kinds besides ``"normal"``, named as the issues they should raise.
PLANTED = ("blurry", "dark", "bright", "grayscale", "low_information", "odd_size", "odd_aspect")


def scene(rng: np.random.Generator, size: tuple[int, int] = (240, 180)) -> Image.Image:
    """A sharp, coloured, textured scene of ``size`` (width, height)."""
    w, h = size
    # Mean grey level about 0.43, as in photographs.
    grid = rng.integers(20, 200, (4, 5, 3), dtype=np.uint8)
    field = Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(field)
    for _ in range(int(rng.integers(3, 7))):
        x0, y0 = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        x1 = x0 + int(rng.integers(8, max(9, w // 2)))
        y1 = y0 + int(rng.integers(8, max(9, h // 2)))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
    a = np.asarray(field, np.float32) + rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def planted(kind: str, rng: np.random.Generator) -> Image.Image:
    """One image of ``kind`` (``"normal"`` or one of :data:`PLANTED`)."""
    size = (int(rng.integers(220, 280)), int(rng.integers(160, 200)))
    if kind == "odd_size":
        return scene(rng, (int(rng.integers(24, 40)), int(rng.integers(18, 30))))
    if kind == "odd_aspect":
        return scene(rng, (int(rng.integers(560, 640)), int(rng.integers(40, 60))))
    if kind == "low_information":
        colour = rng.integers(20, 236, 3).astype(np.float32)
        a = colour + rng.normal(0, 0.5, (size[1], size[0], 3))
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    img = scene(rng, size)
    if kind == "blurry":
        return img.filter(ImageFilter.GaussianBlur(float(rng.uniform(8, 12))))
    a = np.asarray(img, np.float32)
    if kind == "dark":
        return Image.fromarray((a * rng.uniform(0.06, 0.12)).astype(np.uint8))
    if kind == "bright":
        return Image.fromarray((255 - (255 - a) * rng.uniform(0.03, 0.05)).astype(np.uint8))
    if kind == "grayscale":
        return img.convert("L")
    return img


def make_set(
    folder: str | Path, n: int, seed: int = 0, kinds: tuple[str, ...] = PLANTED[:5]
) -> dict[str, str]:
    """Write ``n`` PNGs into ``folder``: about one in ``len(kinds) + 1`` normal, the
    rest planted ``kinds`` in turn. Returns ``{file name: kind}``."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cycle = ("normal", *kinds)
    truth: dict[str, str] = {}
    for i in range(n):
        kind = cycle[i % len(cycle)]
        name = f"img_{i:04d}.png"
        planted(kind, rng).save(folder / name)
        truth[name] = kind
    return truth
