"""Image-quality signals, computed from an image already decoded for embedding.

One pass over a small grey (and colour) copy of the image; the numbers are stored in
the catalog next to the image's metadata and serve as filter columns
(``where="blur < 50"``) and as the input of the per-dataset quality issues.

Signals (all floats):

- ``blur``: variance of the 4-neighbour Laplacian of the grey image (0-255 scale) at
  a fixed working size; low means blurry.
- ``brightness``: mean perceived luminance, 0 (black) to 1 (white).
- ``contrast``: standard deviation of the luminance, 0 to 0.5.
- ``colorfulness``: Hasler and Süsstrunk's colourfulness (0 for a grey image).
- ``entropy``: Shannon entropy of the 256-bin grey histogram, in bits (0 to 8); low
  means little information (a flat or nearly flat image).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The signal columns, in the order they are stored.
SIGNALS: tuple[str, ...] = ("blur", "brightness", "contrast", "colorfulness", "entropy")

# Signals are measured on a copy whose longer side is at most this many pixels: the
# cost stays flat for large photos and blur is comparable across image sizes.
WORK_SIDE = 256


def _working_copy(img: Any) -> np.ndarray:
    """An RGB float32 array of ``img`` with the longer side ≤ :data:`WORK_SIDE`."""
    from PIL import Image

    im = img if img.mode == "RGB" else img.convert("RGB")
    w, h = im.size
    scale = WORK_SIDE / max(w, h, 1)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        im = im.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.float32)


def image_signals(img: Any) -> dict[str, float]:
    """The quality signals of a decoded PIL image (see the module's docstring)."""
    rgb = _working_copy(img)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    grey = 0.299 * r + 0.587 * g + 0.114 * b
    if grey.shape[0] >= 3 and grey.shape[1] >= 3:
        lap = (grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]) - 4.0 * grey[
            1:-1, 1:-1
        ]
        blur = float(lap.var())
    else:
        blur = 0.0
    lum = grey / 255.0
    rg = r - g
    yb = 0.5 * (r + g) - b
    colorfulness = float(
        np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    )
    hist = np.bincount(np.clip(grey, 0, 255).astype(np.uint8).ravel(), minlength=256)
    p = hist[hist > 0] / grey.size
    entropy = float(-(p * np.log2(p)).sum()) + 0.0
    return {
        "blur": blur,
        "brightness": float(lum.mean()),
        "contrast": float(lum.std()),
        "colorfulness": colorfulness,
        "entropy": entropy,
    }
