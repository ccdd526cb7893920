"""End-to-end search quality with the bundled demo model, through the public API, on
a freshly generated dataset whose seed differs from the training data's."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets.demo import DEMO_MODEL_DIR, make_dataset

pytestmark = [
    pytest.mark.slow,
    # The first test of each precision also indexes the 2,000 images (~1 min idle).
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not (DEMO_MODEL_DIR / "open_clip_config.json").exists(), reason="demo model not built"
    ),
]
REPORT = Path(__file__).resolve().parent.parent / "test-artifacts" / "demo-quality.json"


PRECISIONS = ["fp32"] + (["int8"] if importlib.util.find_spec("onnxruntime") else [])


@contextlib.contextmanager
def _precision(precision: str, cache: Path) -> Iterator[dict[str, str]]:
    """Keyword arguments for ``aw.Project`` that embed at ``precision``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AISEARCH_CACHE", str(cache))
        if precision == "fp32":
            yield {}
        elif "precision" in inspect.signature(aw.Project).parameters:
            yield {"precision": precision}
        else:  # until Project takes a precision: its embedder and identity at int8
            import aisearch_widgets.project as project_module
            from aisearch_widgets.embedder import Embedder, with_precision

            mp.setattr(project_module, "Embedder", functools.partial(Embedder, precision=precision))
            ident = project_module.model_identity
            mp.setattr(
                project_module, "model_identity", lambda s: with_precision(ident(s), precision)
            )
            yield {}


@pytest.fixture(scope="module", params=PRECISIONS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    from aisearch_widgets.demo.evaluate import EVAL_SEED

    root = tmp_path_factory.mktemp("quality")
    df = make_dataset(root / "images", n=2000, seed=EVAL_SEED)
    df["cls"] = np.where(df["rare"], df["shape"], df["color"] + " " + df["shape"])
    with _precision(request.param, root / "cache") as kw:
        proj = aw.Project(
            "quality", sources=root / "images", model="demo", home=root / "home", **kw
        )
        t0 = time.perf_counter()
        proj.update()
        assert proj.status.done == 2000
        if request.param != "fp32":
            assert proj.model_identity.endswith("+" + request.param)
        _record("index_seconds", round(time.perf_counter() - t0, 1), request.param)
        yield proj, df.set_index("path"), request.param
        proj.close()


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
