"""Offline demo: labelled synthetic shape images and a small CLIP trained on them.

>>> from aisearch_widgets.demo import DEMO_MODEL_DIR, make_dataset
>>> df = make_dataset("data/shapes", n=2000, seed=0)                # doctest: +SKIP
>>> import aisearch_widgets as aw                                    # doctest: +SKIP
>>> proj = aw.Project("shapes", sources="data/shapes", model="demo")  # doctest: +SKIP

``DEMO_MODEL_DIR`` is an open_clip ``local-dir:`` model folder (config + safetensors),
built by ``scripts/train_demo_model.py``.
"""

from __future__ import annotations

from ..embedder import DEMO_MODEL_DIR
from .run import ensure_dataset
from .shapes import COLORS, RARE_SHAPE, SHAPES, caption_for, generate, make_dataset

__all__ = [
    "COLORS",
    "DEMO_MODEL_DIR",
    "RARE_SHAPE",
    "SHAPES",
    "caption_for",
    "ensure_dataset",
    "generate",
    "make_dataset",
]
