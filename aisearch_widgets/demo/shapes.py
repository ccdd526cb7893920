"""Synthetic, labelled shape images: the offline demo's data with known answers.

Every image shows one to three objects that share one shape and one named colour,
on a light or a dark background; some images are blurred, some carry sensor-like
noise. Because every attribute is a label, queries such as "a red circle",
"a blurry image", "a noisy photo" or "a shape on a dark background" have exact
answers, which is what the demo model is trained and evaluated on.

About 1% of the images belong to a *rare* class, hearts
(:data:`RARE_SHAPE`), a shape that appears nowhere else: the needle for the
"find the rare instances" story.

Everything is deterministic given ``(n, seed, size)``: image ``i`` draws all its
randomness from ``numpy.random.default_rng([seed, i])``.

Example
-------
>>> from aisearch_widgets.demo import make_dataset
>>> df = make_dataset("data/shapes", n=2000, seed=0)               # doctest: +SKIP
>>> df.loc[0, ["shape", "color", "background", "blur", "noise", "caption"]]  # doctest: +SKIP
>>> (df["shape"] == "heart").sum()                                  # doctest: +SKIP
20

In memory, without files (what the training script uses):

>>> from aisearch_widgets.demo.shapes import generate
>>> image, labels, caption = next(generate(1, seed=0))
>>> image.size, sorted(labels)
((128, 128), ['background', 'blur', 'color', 'format', 'index', 'n_objects', 'noise', 'rare', 'shape'])
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLORS",
    "RARE_SHAPE",
    "SHAPES",
    "caption_for",
    "generate",
    "make_dataset",
    "render",
    "sample_labels",
]

#: The common shapes, drawn with about equal probability.
# Shapes must stay distinct at the model's 64 px and under blur: a hexagon was
# tried and dropped, a small blurred one is a circle to any eye.
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "arrow", "cross", "diamond")
#: The rare class: only ever drawn for the ~1% of images marked ``rare``.
RARE_SHAPE = "heart"
RARE_FRACTION = 0.01

#: Named colours (sRGB). Hues are far apart so that a name is unambiguous even
#: after jitter, blur and JPEG compression.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (214, 32, 32),
    "green": (36, 168, 58),
    "blue": (38, 84, 222),
    "yellow": (246, 214, 36),
    "purple": (132, 52, 186),
    "orange": (246, 132, 22),
    "pink": (246, 122, 190),
}

P_DARK = 0.35
P_BLUR = 0.2
P_NOISE = 0.2
_N_OBJECTS = (1, 2, 3)
_N_OBJECTS_P = (0.7, 0.18, 0.12)
JPEG_QUALITY = 90

_COLOR_JITTER = 14  # per channel, so that a colour name covers a small region, not a point
_SUPERSAMPLE = 2  # polygons are drawn at 2x and box-reduced: cheap anti-aliasing
_NUMBER_WORDS = {2: "two", 3: "three"}
_PLURAL = {"cross": "crosses"}


def _regular(k: int, start: float = -math.pi / 2, inner: float | None = None) -> np.ndarray:
    """Vertices of a regular k-gon (or k-pointed star) of circumradius 1."""
    m = 2 * k if inner is not None else k
    angles = start + 2 * math.pi * np.arange(m) / m
    radii = np.ones(m)
    if inner is not None:
        radii[1::2] = inner
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _cross(arm: float = 0.34) -> np.ndarray:
    a = arm
    return np.array(
        [(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a),
         (a, 1), (-a, 1), (-a, a), (-1, a), (-1, -a), (-a, -a)],
        dtype=float,
    )  # fmt: skip


def _heart(m: int = 48) -> np.ndarray:
    # The classic parametric heart curve, rescaled to fit the unit circle.
    t = np.linspace(0.0, 2 * math.pi, m, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.stack([x, y], axis=1)
    pts -= (pts.max(axis=0) + pts.min(axis=0)) / 2
    return pts / np.abs(pts).max()


# Outlines in unit coordinates (y down). Scales are chosen so that shapes of the
# same radius look about equally large; no vertex lies outside the unit circle.
_OUTLINES: dict[str, np.ndarray] = {
    "square": _regular(4, start=-math.pi / 4),
    "triangle": _regular(3) + np.array([0.0, 0.12]),  # optical centring
    "star": _regular(5, inner=0.45),
    "arrow": np.array(
        [(-1, -0.22), (0.15, -0.22), (0.15, -0.62), (1, 0), (0.15, 0.62), (0.15, 0.22), (-1, 0.22)],
        dtype=float,
    ),
    "cross": _cross() * 0.9,
    "diamond": np.array([(0.0, -1.0), (0.62, 0.0), (0.0, 1.0), (-0.62, 0.0)]),
    "heart": _heart(),
}


def sample_labels(rng: np.random.Generator, rare: bool = False) -> dict[str, Any]:
    """Draw the labels of one image (shape, colour, background, blur, noise, count)."""
    shape = RARE_SHAPE if rare else SHAPES[int(rng.integers(len(SHAPES)))]
    names = list(COLORS)
    return {
        "shape": shape,
        "color": names[int(rng.integers(len(names)))],
        "background": "dark" if rng.random() < P_DARK else "light",
        "blur": bool(rng.random() < P_BLUR),
        "noise": bool(rng.random() < P_NOISE),
        "n_objects": int(rng.choice(_N_OBJECTS, p=_N_OBJECTS_P)),
        "rare": rare,
    }


def _background(rng: np.random.Generator, dark: bool, side: int) -> Image.Image:
    """A tinted background with a gentle linear gradient."""
    level = rng.uniform(12, 60) if dark else rng.uniform(196, 250)
    base = level + rng.uniform(-12, 12, size=3)
    slope = rng.uniform(-18, 18) if dark else rng.uniform(-26, 26)
    ramp = np.linspace(-0.5, 0.5, side)[:, None] * slope + base[None, :]  # (side, 3)
    ramp = np.clip(ramp, 0, 255).astype(np.uint8)
    # A one-pixel strip stretched by PIL is much cheaper than a full numpy canvas.
    strip = ramp[:, None, :] if rng.random() < 0.5 else ramp[None, :, :]
    return Image.fromarray(strip, "RGB").resize((side, side), Image.Resampling.NEAREST)


def _layout(rng: np.random.Generator, n: int, side: int) -> list[tuple[float, float, float]]:
    """Centres and radii of ``n`` non-overlapping objects inside a square canvas."""
    lo, hi = (0.16, 0.36) if n == 1 else (0.14, 0.21)
    margin = 0.03 * side
    placed: list[tuple[float, float, float]] = []
    scale = 1.0
    while len(placed) < n:
        for _ in range(40):
            r = rng.uniform(lo, hi) * side * scale
            cx, cy = rng.uniform(r + margin, side - r - margin, size=2)
            if all(math.hypot(cx - x, cy - y) > r + q + margin for x, y, q in placed):
                placed.append((float(cx), float(cy), float(r)))
                break
        else:
            scale *= 0.85  # crowded: shrink and retry rather than overlap
    return placed


def _jitter_color(rng: np.random.Generator, name: str) -> tuple[int, int, int]:
    rgb = np.array(COLORS[name]) + rng.integers(-_COLOR_JITTER, _COLOR_JITTER + 1, size=3)
    r, g, b = (int(v) for v in np.clip(rgb, 0, 255))
    return r, g, b


def _draw_object(
    draw: ImageDraw.ImageDraw,
    shape: str,
    cx: float,
    cy: float,
    r: float,
    angle: float,
    fill: tuple[int, int, int],
) -> None:
    if shape == "circle":
        r *= 0.9  # a full-radius disc looks larger than the polygons
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        return
    c, s = math.cos(angle), math.sin(angle)
    xy = _OUTLINES[shape] @ np.array([[c, s], [-s, c]]) * r + np.array([cx, cy])
    draw.polygon(xy.ravel().tolist(), fill=fill)


def render(labels: dict[str, Any], rng: np.random.Generator, size: int = 128) -> Image.Image:
    """Draw an RGB image of ``size`` x ``size`` pixels for the given labels."""
    side = size * _SUPERSAMPLE
    img = _background(rng, labels["background"] == "dark", side)
    draw = ImageDraw.Draw(img)
    fill = _jitter_color(rng, labels["color"])
    for cx, cy, r in _layout(rng, labels["n_objects"], side):
        # Small tilts only: a square turned 45 degrees would be a diamond.
        angle = math.radians(rng.uniform(-15, 15))
        _draw_object(draw, labels["shape"], cx, cy, r, angle, fill)
    img = img.reduce(_SUPERSAMPLE)
    if labels["blur"]:
        # Clearly blurry, yet small shapes stay recognisable at 64 px.
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.022, 0.036) * size))
    if labels["noise"]:
        sigma = np.float32(rng.uniform(24, 42))
        arr = np.asarray(img, dtype=np.float32)
        arr += rng.standard_normal((size, size, 3), dtype=np.float32) * sigma
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _plural(shape: str) -> str:
    return _PLURAL.get(shape, shape + "s")


def _object_phrase(labels: dict[str, Any], rng: np.random.Generator) -> str:
    """'a red circle', 'two red circles', 'a red shape', 'a circle', 'shapes', ..."""
    n, shape, color = labels["n_objects"], labels["shape"], labels["color"]
    # Mostly the full description; sometimes only one attribute, so that the text
    # tower learns each word on its own (and "a red shape" or "a circle" work).
    detail = rng.choice(["full", "color", "shape", "generic"], p=[0.8, 0.08, 0.08, 0.04])
    noun = "shape" if detail in ("color", "generic") else shape
    adj = color if detail in ("full", "color") else ""
    # Several red circles do show "a red circle": saying so for some multi-object
    # images ties them to the same words as single ones, so that similar-image
    # search groups by shape and colour before the count.
    if n == 1 or rng.random() < 0.4:
        words = f"{adj} {noun}".strip()
        return f"{_article(words)} {words}"
    # The count is named only sometimes, for the same reason.
    u = rng.random()
    count = _NUMBER_WORDS[n] if u < 0.3 else "several" if u < 0.45 else ""
    return " ".join(w for w in (count, adj, _plural(noun)) if w)


_LEAD_PLAIN = ("", "", "a photo of ", "an image of ", "a picture of ")
_LEAD_BLUR = ("a blurry image of ", "a blurry photo of ", "a blurred picture of ")
_LEAD_NOISE = ("a noisy photo of ", "a noisy image of ", "a grainy photo of ")
_LEAD_BOTH = ("a blurry, noisy photo of ", "a noisy, blurry image of ")


def caption_for(labels: dict[str, Any], rng: np.random.Generator) -> str:
    """One caption built from the labels, from one of several templates.

    Shape and colour are named in most captions; image quality (blur, noise), the
    background and the count only in some, as in real captions; the wording is drawn from ``rng``, so the
    training script can draw a fresh caption for every image in every epoch.
    """
    blur, noise, bg = labels["blur"], labels["noise"], labels["background"]

    def pick(options: Sequence[str]) -> str:
        return options[int(rng.integers(len(options)))]

    # Quality-only captions ("a blurry image") teach the style words without any
    # object, which is exactly the shape of the style queries.
    if (blur or noise) and rng.random() < 0.05:
        if blur and noise:
            style = "a blurry, noisy photo"
        elif blur:
            style = pick(["a blurry image", "a blurry photo"])
        else:
            style = pick(["a noisy photo", "a noisy image"])
        return style + (f" on a {bg} background" if rng.random() < 0.5 else "")
    if rng.random() < 0.03:
        return pick(
            [f"a {bg} scene", f"a shape on a {bg} background", f"shapes on a {bg} background"]
        )

    obj = _object_phrase(labels, rng)
    # Style words are named in well under half of the captions: style is an easy,
    # global cue that needs few mentions, and every mention adds weight to it in
    # the image embedding, where similar-image search should group by what is drawn.
    show_quality = rng.random() < 0.3
    if blur and noise and show_quality:
        lead = pick(_LEAD_BOTH)
    elif blur and show_quality:
        lead = pick(_LEAD_BLUR)
    elif noise and show_quality:
        lead = pick(_LEAD_NOISE)
    else:
        lead = pick(_LEAD_PLAIN)
    u = rng.random()
    if u < 0.02 and not lead:
        return f"a {bg} scene with {obj}"
    if u < 0.1:
        return f"{lead}{obj} on a {bg} background"
    if u < 0.12:
        return f"{lead}{obj} in a {bg} scene"
    return f"{lead}{obj}"


def _rare_indices(n: int, seed: int) -> set[int]:
    """Exactly ``round(n * RARE_FRACTION)`` (at least one) rare positions."""
    k = max(1, round(n * RARE_FRACTION)) if n else 0
    rng = np.random.default_rng([seed, n, 0x5EED])
    return {int(i) for i in rng.choice(n, size=k, replace=False)} if k else set()


def _iter_raw(n: int, seed: int, size: int) -> Iterator[tuple[Image.Image, dict[str, Any], str]]:
    rare = _rare_indices(n, seed)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        labels = sample_labels(rng, rare=i in rare)
        image = render(labels, rng, size)
        # A separate stream for the caption: re-captioning never changes pixels.
        caption = caption_for(labels, np.random.default_rng([seed, i, 1]))
        labels["index"] = i
        yield image, labels, caption


def _file_format(i: int, formats: Sequence[str]) -> str:
    fmt = formats[i % len(formats)].lower().lstrip(".")
    return "jpg" if fmt == "jpeg" else fmt


def _as_jpeg(image: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=JPEG_QUALITY)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def generate(
    n: int,
    seed: int = 0,
    size: int = 128,
    formats: Sequence[str] = ("jpg", "png"),
) -> Iterator[tuple[Image.Image, dict[str, Any], str]]:
    """Yield ``(image, labels, caption)`` for ``n`` images, without writing files.

    Images are returned as :func:`make_dataset` would read them back from disk:
    those that it stores as JPEG have been through JPEG compression, so models
    trained on this stream see the same artefacts as at search time. ``labels``
    has the keys ``shape, color, background, blur, noise, n_objects, rare, index,
    format``.
    """
    for image, labels, caption in _iter_raw(n, seed, size):
        fmt = _file_format(labels["index"], formats)
        labels["format"] = fmt
        yield (_as_jpeg(image) if fmt == "jpg" else image), labels, caption


def make_dataset(
    folder: str | os.PathLike[str],
    n: int = 2000,
    seed: int = 0,
    size: int = 128,
    formats: Sequence[str] = ("jpg", "png"),
) -> pd.DataFrame:
    """Write ``n`` labelled images under ``folder`` and return their labels.

    Files go to ``folder/part-XX/img_NNNNN.<ext>`` (500 per subfolder), the
    formats taking turns. Existing files of the same name are overwritten; other
    files are left alone. Returns one row per image with the columns ``path``
    (absolute), ``shape, color, background, blur, noise, n_objects, rare,
    caption, format, index``.
    """
    import pandas as pd

    for fmt in formats:
        if fmt.lower().lstrip(".") not in ("jpg", "jpeg", "png"):
            raise ValueError(f"unsupported format {fmt!r}: use 'jpg' or 'png'")
    root = Path(folder).expanduser().resolve()
    rows: list[dict[str, Any]] = []
    for image, labels, caption in _iter_raw(n, seed, size):
        i = labels["index"]
        fmt = _file_format(i, formats)
        sub = root / f"part-{i // 500:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"img_{i:05d}.{fmt}"
        if fmt == "jpg":
            image.save(path, format="JPEG", quality=JPEG_QUALITY)
        else:
            # Low zlib effort: noisy PNGs barely compress anyway, and it is 5x faster.
            image.save(path, format="PNG", compress_level=1)
        rows.append({"path": str(path), **labels, "caption": caption, "format": fmt})
    columns = [
        "path", "shape", "color", "background", "blur", "noise",
        "n_objects", "rare", "caption", "format", "index",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
