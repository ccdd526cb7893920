"""End-to-end search quality with the bundled demo model, through the public API, on
a freshly generated dataset whose seed differs from the training data's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets.demo import DEMO_MODEL_DIR

pytestmark = [
    pytest.mark.slow,
    # The first test of each precision also indexes the 2,000 images (~1 min idle).
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not (DEMO_MODEL_DIR / "open_clip_config.json").exists(), reason="demo model not built"
    ),
]
REPORT = Path(__file__).resolve().parent.parent / "test-artifacts" / "demo-quality.json"


@pytest.fixture(scope="module")
def demo(demo_index) -> tuple[aw.Project, pd.DataFrame, str]:
    """The session's demo index (tests/conftest.py); its indexing time goes to the report."""
    _record("index_seconds", demo_index.index_seconds, demo_index.precision)
    return demo_index.project, demo_index.labels, demo_index.precision


def _record(key: str, value: object, precision: str = "fp32") -> None:
    """Numbers of fp32 under their own key (as before), others under ``key@precision``."""
    REPORT.parent.mkdir(exist_ok=True)
    data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    data[key if precision == "fp32" else f"{key}@{precision}"] = value
    REPORT.write_text(json.dumps(data, indent=2, sort_keys=True))


@pytest.fixture(scope="module")
def colour_shape(demo) -> dict[str, float]:
    from aisearch_widgets.demo.shapes import COLORS, SHAPES

    proj, labels, precision = demo
    per = {}
    for shape in SHAPES:
        for color in COLORS:
            relevant = ((labels["shape"] == shape) & (labels["color"] == color)).sum()
            if relevant < 20:
                continue  # a prompt with fewer true answers cannot reach 1.0
            article = "an" if color[0] in "aeiou" else "a"
            res = proj.search(f"{article} {color} {shape}", limit=20)
            got = labels.loc[res.paths]
            per[f"{color} {shape}"] = float(
                ((got["shape"] == shape) & (got["color"] == color)).mean()
            )
    values = list(per.values())
    _record(
        "colour_shape_p_at_20",
        {"mean": np.mean(values), "min": min(values), "n_prompts": len(per)},
        precision,
    )
    return per


def test_colour_shape_prompts_on_average(colour_shape: dict[str, float]) -> None:
    assert len(colour_shape) >= 30
    assert np.mean(list(colour_shape.values())) >= 0.9


def test_colour_shape_every_prompt_at_target(colour_shape: dict[str, float]) -> None:
    assert min(colour_shape.values()) >= 0.9, sorted(colour_shape.items(), key=lambda kv: kv[1])[:5]


def test_background_and_blur_prompts(demo) -> None:
    from aisearch_widgets.demo.evaluate import STYLE_PROMPTS

    proj, labels, precision = demo
    per = {}
    for prompt, (col, value) in STYLE_PROMPTS.items():
        res = proj.search(prompt, limit=20)
        per[prompt] = float((labels.loc[res.paths, col] == value).mean())
    _record("style_p_at_20", per, precision)
    assert min(per.values()) >= 0.8, per


@pytest.fixture(scope="module")
def similar_same_class(demo) -> dict[str, float]:
    """Every common image as a query: the share of its 10 results of its own class."""
    proj, labels, precision = demo
    common = labels[~labels["rare"]]
    fractions = []
    for q in common.index:
        res = proj.similar(q, limit=10)
        assert len(res) == 10 and q not in set(res.paths)
        fractions.append(float((labels.loc[res.paths, "cls"] == labels.loc[q, "cls"]).mean()))
    value = {
        "mean": float(np.mean(fractions)),
        "all_10_match": float(np.mean(np.asarray(fractions) == 1.0)),
        "n_queries": len(fractions),
    }
    _record("similar_top10_same_class", value, precision)
    return value


def test_similar_by_image_at_target(similar_same_class: dict[str, float]) -> None:
    assert similar_same_class["n_queries"] > 1900
    assert similar_same_class["mean"] >= 0.9, similar_same_class


def test_diverse_covers_classes_better_than_random(demo) -> None:
    proj, labels, precision = demo
    n_classes = labels["cls"].nunique()
    n = 2 * n_classes
    res = proj.diverse(n=n, method="centroids", seed=0)
    covered = labels.loc[res.paths, "cls"].nunique() / n_classes
    rare_found = bool(labels.loc[res.paths, "rare"].any())
    rng = np.random.default_rng(0)
    random_cov = [
        labels["cls"].iloc[rng.choice(len(labels), n, replace=False)].nunique() / n_classes
        for _ in range(20)
    ]
    random_rare = np.mean(
        [labels["rare"].iloc[rng.choice(len(labels), n, replace=False)].any() for _ in range(200)]
    )
    _record(
        "diverse_coverage",
        {
            "classes": n_classes,
            "n": n,
            "diverse_centroids": covered,
            "diverse_found_rare": rare_found,
            "uniform_random_mean": float(np.mean(random_cov)),
            "uniform_random_found_rare": float(random_rare),
        },
        precision,
    )
    assert covered >= 0.95 and rare_found
    assert covered > np.mean(random_cov) + 0.03
