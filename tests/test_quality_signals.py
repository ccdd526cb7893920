"""The image-quality signals move the way their names say on images built here."""

import numpy as np
from PIL import Image, ImageFilter

from aisearch_widgets.quality import SIGNALS, image_signals


def _scene(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    big = Image.fromarray(a).resize((512, 384), Image.Resampling.NEAREST)
    return big


def test_signals_have_every_name_and_are_finite():
    s = image_signals(_scene())
    assert tuple(s) == SIGNALS
    assert all(np.isfinite(v) for v in s.values())


def test_blur_dark_grey_and_flat_images_move_their_signal():
    sharp = _scene()
    base = image_signals(sharp)
    blurred = image_signals(sharp.filter(ImageFilter.GaussianBlur(6)))
    assert blurred["blur"] < base["blur"] / 10
    dark = image_signals(Image.fromarray((np.asarray(sharp) * 0.1).astype(np.uint8)))
    assert dark["brightness"] < base["brightness"] / 5
    grey = image_signals(sharp.convert("L").convert("RGB"))
    assert grey["colorfulness"] < 1.0 < base["colorfulness"]
    flat = image_signals(Image.new("RGB", (300, 200), (120, 130, 140)))
    assert flat["entropy"] == 0.0 and flat["blur"] < 1e-6 and flat["contrast"] < 1e-6
    assert base["entropy"] > 6


def test_tiny_and_greyscale_mode_images_work():
    assert image_signals(Image.new("L", (1, 1), 5))["blur"] == 0.0
    assert image_signals(Image.new("RGBA", (2000, 40), (9, 9, 9, 0)))["brightness"] < 0.1
