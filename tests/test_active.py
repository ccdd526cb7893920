"""Active learning through the public API, on shape images drawn for the test and
embedded by the bundled demo model: zero-shot classification, predictions of a
user's model, uncertainty with diversity, likely label mistakes, relevance feedback
and saved probes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets import InvalidArgument
from aisearch_widgets.demo import DEMO_MODEL_DIR
from aisearch_widgets.demo.shapes import render

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        not (DEMO_MODEL_DIR / "open_clip_config.json").exists(), reason="demo model not built"
    ),
]

COLORS = ("red", "blue", "yellow")
SHAPES = ("circle", "square", "triangle", "star")
CLASSES = [f"{c} {s}" for c in COLORS for s in SHAPES]  # 12 colour x shape classes
PER_CLASS = 30


def draw_shapes(
    root: Path, per_class: int, seed: int, classes: list[str] = CLASSES
) -> pd.DataFrame:
    """``per_class`` images of each class (one to three objects, light or dark
    background, some blurred or noisy), written as PNG: their labels by path."""
    rows = []
    for cls in classes:
        color, shape = cls.split()
        for k in range(per_class):
            rng = np.random.default_rng([seed, len(rows)])
            labels = {
                "shape": shape,
                "color": color,
                "background": "dark" if rng.random() < 0.35 else "light",
                "blur": bool(rng.random() < 0.2),
                "noise": bool(rng.random() < 0.2),
                "n_objects": int(rng.choice([1, 2, 3], p=[0.7, 0.18, 0.12])),
            }
            path = root / f"{color}_{shape}_{seed}_{k:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            render(labels, rng, 96).save(path, compress_level=1)
            rows.append({"path": str(path), "cls": cls, **labels})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[aw.Project, pd.DataFrame]]:
    """360 images of the 12 classes, embedded once: ``(project, truth)``, the truth
    indexed by point id (columns ``path, cls, shape, color, ...``)."""
    root = tmp_path_factory.mktemp("active-images")
    truth = draw_shapes(root, PER_CLASS, seed=7)
    home = tmp_path_factory.mktemp("active-home")
    proj = aw.Project("active", sources=root, model="demo", home=home, precision="fp32")
    proj.update()
    assert proj.status.done == len(truth)
    ids = proj.catalog.ids_by_path(truth["path"].tolist())
    truth.index = pd.Index([ids[p] for p in truth["path"]], name="id")
    yield proj, truth
    proj.close()


def prompts() -> list[str]:
    return [f"a {c}" for c in CLASSES]


# -- zero-shot -------------------------------------------------------------------------
def test_zero_shot_labels_the_12_classes_with_one_prompt_each(shapes) -> None:
    proj, truth = shapes
    res = proj.classify(prompts(), set="zero-shot")
    df = res.df.set_index("id")
    assert len(df) == len(truth)
    predicted = df["prediction"].str.removeprefix("a ")
    accuracy = float((predicted == truth.loc[df.index, "cls"]).mean())
    assert accuracy >= 0.9, accuracy
    assert ((df["score"] > 0) & (df["score"] <= 1)).all()
    assert (df["margin"] >= 0).all() and (df["margin"] <= df["score"] + 1e-6).all()
    # Stored as a label set of predictions: the top class and its probability.
    labels = proj.labels("zero-shot").set_index("id")
    assert len(labels) == len(truth)
    assert (labels.loc[df.index, "label"] == df["prediction"]).all()
    assert np.allclose(labels.loc[df.index, "confidence"], df["score"], atol=1e-6)
    assert res.query["type"] == "classify"


def test_prompt_ensembles_and_templates_name_the_classes(shapes) -> None:
    proj, truth = shapes
    classes = {c: [f"a {c}", f"a picture of a {c}"] for c in CLASSES}
    res = proj.classify(classes, set="ensemble", prompts_per_class=["{}", "an image of {}"])
    df = res.df.set_index("id")
    assert set(df["prediction"]) <= set(CLASSES)
    assert float((df["prediction"] == truth.loc[df.index, "cls"]).mean()) >= 0.9
    assert res.query["classes"]["red circle"] == [
        "a red circle",
        "a picture of a red circle",
        "an image of a red circle",
        "an image of a picture of a red circle",
    ]


def test_classify_reads_stored_vectors_only(shapes, monkeypatch: pytest.MonkeyPatch) -> None:
    """No image is opened, decoded or embedded again: only the prompts are encoded."""
    import PIL.Image

    from aisearch_widgets import embedder, images

    proj, truth = shapes

    def refuse(*a, **kw):
        raise AssertionError("an image was decoded or embedded")

    monkeypatch.setattr(PIL.Image, "open", refuse)
    monkeypatch.setattr(images, "decode", refuse)
    monkeypatch.setattr(images, "load", refuse)
    monkeypatch.setattr(embedder.Embedder, "encode_images", refuse)
    monkeypatch.setattr(embedder.Embedder, "encode_batch", refuse)
    blue = truth.index[truth["color"] == "blue"].tolist()
    res = proj.classify(["a circle", "a square", "a triangle", "a star"], set="shape", within=blue)
    assert sorted(res.ids) == sorted(blue)  # the scope only
    got = res.df.set_index("id")["prediction"].str.removeprefix("a ")
    assert float((got == truth.loc[got.index, "shape"]).mean()) >= 0.9
    assert set(proj.labels("shape")["id"]) == set(blue)


# -- predictions of the user's model ----------------------------------------------------
def confusing_predictions(truth: pd.DataFrame, confusing: str) -> pd.DataFrame:
    """Class probabilities by path: every image of the class ``confusing`` about
    uniform (the most uncertain), the others sure to various degrees."""
    rng = np.random.default_rng(3)
    probs = np.zeros((len(truth), len(CLASSES)))
    for row, cls in enumerate(truth["cls"]):
        sure = 0.5 + 0.45 * rng.random()
        probs[row] = (1 - sure) / (len(CLASSES) - 1)
        probs[row, CLASSES.index(cls)] = sure
    mask = (truth["cls"] == confusing).to_numpy()
    probs[mask] = 1 / len(CLASSES) + rng.normal(0, 0.002, size=(mask.sum(), len(CLASSES)))
    df = pd.DataFrame(probs, columns=CLASSES)
    df.insert(0, "path", truth["path"].to_numpy())
    return df


def test_uncertain_diverse_spreads_a_batch_over_scenes(shapes) -> None:
    proj, truth = shapes
    unmatched = proj.import_predictions(confusing_predictions(truth, "blue star"), set="model")
    assert unmatched.empty
    stored = proj.labels("model").set_index("id")
    assert len(stored) == len(truth) and stored["confidence"].between(0, 1).all()

    plain = proj.uncertain(10, set="model", diverse=False)
    assert (truth.loc[plain.ids, "cls"] == "blue star").all()  # n views of one scene
    spread = proj.uncertain(10, set="model", diverse=True)
    classes = truth.loc[spread.ids, "cls"]
    assert len(spread) == 10 and len(set(spread.ids)) == 10
    assert (classes == "blue star").sum() <= 3, classes.tolist()
    assert classes.nunique() >= 6, classes.tolist()
    # The most uncertain image still leads the batch.
    assert classes.iloc[0] == "blue star"
    for by in ("entropy", "least_confident"):
        assert (
            truth.loc[proj.uncertain(5, set="model", by=by, diverse=False).ids, "cls"]
            == "blue star"
        ).all()
    # What is labelled already is left out.
    first = proj.uncertain(10, set="model", diverse=False)
    again = proj.uncertain(10, set="model", diverse=False, exclude=first)
    assert not set(first.ids) & set(again.ids)


def test_import_label_and_probability_rows(shapes, tmp_path: Path) -> None:
    proj, truth = shapes
    df = pd.DataFrame(
        {
            "path": truth["path"].to_numpy(),
            "label": truth["cls"].to_numpy(),
            "probability": np.linspace(0.3, 0.99, len(truth)),
        }
    )
    df.loc[len(df)] = ["/nowhere/else.png", "red circle", 0.5]
    csv = tmp_path / "preds.csv"
    df.to_csv(csv, index=False)
    unmatched = proj.import_predictions(csv, set="model-v2")
    assert len(unmatched) == 1
    stored = proj.labels("model-v2")
    assert len(stored) == len(truth)
    assert np.allclose(np.sort(stored["confidence"]), np.linspace(0.3, 0.99, len(truth)))
    least = proj.uncertain(5, set="model-v2", by="least_confident", diverse=False)
    first = set(truth.index[truth["path"].isin(df["path"].head(5))])
    assert set(least.ids) == first  # the lowest probabilities


def test_import_coco_results_with_scores(shapes, tmp_path: Path) -> None:
    proj, truth = shapes
    picked = truth.iloc[:6]
    cats = [{"id": k + 1, "name": s} for k, s in enumerate(SHAPES)]
    coco = {
        "images": [
            {"id": k + 1, "file_name": Path(p).name, "width": 96, "height": 96}
            for k, p in enumerate(picked["path"])
        ],
        "categories": cats,
    }
    images_dir = Path(picked["path"].iloc[0]).parent
    (images_dir / "val.json").write_text(json.dumps(coco))
    results = [
        {
            "image_id": k + 1,
            "category_id": SHAPES.index(s) + 1,
            "bbox": [10.0, 12.0, 30.0, 28.0],
            "score": 0.5 + k / 20,
        }
        for k, s in enumerate(picked["shape"])
    ]
    res_file = tmp_path / "results.json"
    res_file.write_text(json.dumps(results))
    unmatched = proj.import_predictions(res_file, set="det", images=images_dir / "val.json")
    assert unmatched.empty
    got = proj.labels("det").set_index("id").loc[picked.index]
    assert (got["label"] == picked["shape"]).all()
    assert np.allclose(got["confidence"], [0.5 + k / 20 for k in range(6)])
    assert np.allclose(got[["x", "y", "w", "h"]].to_numpy(), [10, 12, 30, 28])
    with pytest.raises(InvalidArgument, match="images="):
        proj.import_predictions(res_file, set="det")


# -- mistakes -------------------------------------------------------------------------
@pytest.mark.parametrize("with_predictions", [False, True])
def test_mistakes_rank_flipped_labels_first(shapes, with_predictions: bool) -> None:
    proj, truth = shapes
    rng = np.random.default_rng(11)
    given = truth["cls"].copy()
    flipped = rng.choice(len(truth), size=round(0.05 * len(truth)), replace=False)
    for row in flipped:
        given.iloc[row] = rng.choice([c for c in CLASSES if c != given.iloc[row]])
    proj.import_labels(pd.DataFrame({"id": truth.index, "label": given.to_numpy()}), set="gt")
    predictions = None
    if with_predictions:
        proj.classify({c: f"a {c}" for c in CLASSES}, set="zs")
        predictions = "zs"
    res = proj.mistakes("gt", predictions=predictions)
    assert len(res) == len(truth)
    top = set(res.ids[: 2 * len(flipped)])
    found = len(top & set(truth.index[flipped]))
    assert found >= 0.8 * len(flipped), (found, len(flipped))
    df = res.df.set_index("id").loc[truth.index[flipped]]
    assert (df["suggested"] == truth.loc[df.index, "cls"]).mean() >= 0.8
    assert ("prediction_doubt" in df) is with_predictions


# -- relevance feedback -----------------------------------------------------------------
def precision(truth_mask: pd.Series, ids: list[str]) -> float:
    return float(truth_mask.loc[ids].mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refine_learns_a_concept_the_text_tower_does_not_know(shapes, seed: int) -> None:
    """'Warm pointy shapes' (red or yellow stars and triangles): the prompt alone is far
    from it; 5 positives and 5 negatives, then one round of marks on the result,
    reach precision@50 >= 0.9."""
    proj, truth = shapes
    concept = truth["color"].isin(["red", "yellow"]) & truth["shape"].isin(["star", "triangle"])
    by_prompt = proj.search("a warm pointy shape", limit=50)
    assert precision(concept, by_prompt.ids) < 0.8  # the text tower does not know it

    rng = np.random.default_rng(seed)
    pos = list(rng.choice(truth.index[concept], 5, replace=False))
    neg = list(rng.choice(truth.index[~concept], 5, replace=False))
    res = proj.refine(positives=pos, negatives=neg, limit=50)
    assert len(res) == 50 and not set(res.ids) & set(pos + neg)  # marked ones left out
    rounds = [precision(concept, res.ids)]
    if rounds[-1] < 0.9:
        seen = res.ids[:20]  # the user marks what the first screen shows
        res = res.refine(
            positives=[i for i in seen if concept[i]][:5],
            negatives=[i for i in seen if not concept[i]][:5],
        )
        assert len(res) == 50  # the limit is kept
        probe = res.info["probe"]
        assert set(pos) <= set(probe.positives) and set(neg) <= set(probe.negatives)
        rounds.append(precision(concept, res.ids))
    assert rounds[-1] >= 0.9, rounds


def test_refine_continues_from_a_search_within_its_scope(shapes) -> None:
    proj, truth = shapes
    blue = truth.index[truth["color"] == "blue"].tolist()
    found = proj.search("a blue star", limit=20, within=blue)
    stars = [i for i in found.ids if truth.loc[i, "shape"] == "star"][:3]
    others = [i for i in found.ids if truth.loc[i, "shape"] != "star"][:3]
    res = proj.refine(positives=stars, negatives=others, within=blue, limit=20)
    assert set(res.ids) <= set(blue)
    assert res.query["type"] == "refine" and res.query["positives"] == 3
    nxt = res.refine(positives=[i for i in res.ids[:10] if truth.loc[i, "shape"] == "star"][:2])
    assert set(nxt.ids) <= set(blue)  # the scope is kept
    assert len(nxt.info["probe"].positives) >= 3
    # From a prompt search: the prompt becomes the prior.
    from_search = found.refine(positives=stars, negatives=others)
    assert from_search.info["probe"].prompt == "a blue star"
    assert len(from_search) == 20  # the search's limit


def test_classifiers_are_saved_and_apply_to_images_synced_later(tmp_path: Path) -> None:
    root = tmp_path / "images"
    first = draw_shapes(root, 4, seed=21)
    proj = aw.Project("probes", sources=root, model="demo", home=tmp_path / "home")
    try:
        proj.update()
        ids = proj.catalog.ids_by_path(first["path"].tolist())
        first.index = pd.Index([ids[p] for p in first["path"]])
        red = first["color"] == "red"
        res = proj.refine(
            positives=first.index[red][:6].tolist(), negatives=first.index[~red][:6].tolist()
        )
        proj.classifiers["red things"] = res
        assert list(proj.classifiers) == ["red things"] and "red things" in proj.classifiers
        saved = json.loads((proj.folder / "classifiers" / "red things.json").read_text())
        assert len(saved["weights"]) == proj.store.dim  # plain JSON, never a pickle
    finally:
        proj.close()

    later = draw_shapes(root / "later", 2, seed=22)  # 24 new images, 8 of them red
    proj = aw.Project.open("probes", home=tmp_path / "home")
    try:
        proj.update()
        ids = proj.catalog.ids_by_path(later["path"].tolist())
        new_red = {ids[p] for p in later.loc[later["color"] == "red", "path"]}
        top = proj.classifiers.apply("red things", limit=len(first[red]) + len(new_red))
        assert new_red <= set(top.ids)
        only_new = proj.classifiers.apply("red things", limit=8, within=root / "later")
        assert set(only_new.ids) == new_red
        with pytest.raises(KeyError, match="red things"):
            proj.classifiers["blue things"]
        del proj.classifiers["red things"]
        assert len(proj.classifiers) == 0
    finally:
        proj.close()
    shutil.rmtree(root)


# -- errors -----------------------------------------------------------------------------
def test_bad_input_is_refused_with_a_clear_error(shapes, tmp_path: Path) -> None:
    proj, truth = shapes
    some = truth.index[:3].tolist()
    cases = [
        (lambda: proj.classify(["a red circle"]), "two distinct classes"),
        (lambda: proj.classify(["a", "a"]), "two distinct classes"),
        (lambda: proj.classify("a red circle"), "list of prompts"),
        (lambda: proj.classify({"x": [], "y": "a"}), "non-empty texts"),
        (lambda: proj.classify(["a", "b"], prompts_per_class="no slot"), "templates"),
        (lambda: proj.classify(["a", "b"], set=""), "label set"),
        (lambda: proj.uncertain(0, set="zero-shot"), "n"),
        (lambda: proj.uncertain(5, set="zero-shot", by="luck"), "Unknown uncertainty"),
        (lambda: proj.uncertain(5, set="no such set"), "no classification labels"),
        (lambda: proj.mistakes("no such set"), "no classification labels"),
        (lambda: proj.refine(negatives=some), "at least one positive"),
        (lambda: proj.refine(positives=some, negatives=some[:1]), "both relevant and not"),
        (lambda: proj.refine(positives=["not-an-id"]), "not images of project"),
        (lambda: proj.refine(positives=some, C=0), "C"),
        (lambda: proj.refine(positives=some, limit=0), "limit"),
        (lambda: proj.refine(positives=42), "positives"),
        (lambda: proj.import_predictions(pd.DataFrame({"x": [1]})), "'id' or a 'path'"),
        (lambda: proj.import_predictions(pd.DataFrame({"id": some, "a": 1.0})), "one numeric"),
        (
            lambda: proj.import_predictions(pd.DataFrame({"id": some, "a": -1.0, "b": 1.0})),
            ">= 0",
        ),
        (
            lambda: proj.import_predictions(
                pd.DataFrame({"id": some, "label": "x", "probability": 2.0})
            ),
            r"\[0, 1\]",
        ),
        (lambda: proj.import_predictions(tmp_path / "missing.csv"), "does not exist"),
        (lambda: proj.import_predictions(tmp_path / "missing.json"), "Could not read"),
        (lambda: proj.import_predictions(42), "DataFrame or a file"),
        (lambda: proj.classifiers.apply("../escape"), "Invalid classifier name"),
        (lambda: proj.classifiers.__setitem__("x", 42), "refine"),
    ]
    for call, message in cases:
        with pytest.raises(InvalidArgument, match=message):
            call()


def test_all_vectors_are_read_from_the_store_once_per_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Classify, refine and saved probes share one kept copy of the vectors, read again
    only after a sync changed them (images added or deleted)."""
    root = tmp_path / "images"
    first = draw_shapes(root, 2, seed=31)
    proj = aw.Project("kept", sources=root, model="demo", home=tmp_path / "home")
    try:
        proj.update()
        store = proj.store
        reads = []
        original = store.iter_vectors

        def counting(*a, **kw):
            reads.append(1)
            return original(*a, **kw)

        monkeypatch.setattr(store, "iter_vectors", counting)
        assert len(proj.classify(prompts())) == len(first)
        proj.classify(prompts(), set="again")
        some = proj.search("a red star", limit=6).ids
        res = proj.refine(positives=some[:2], negatives=some[-2:])
        proj.classifiers["x"] = res
        proj.classifiers.apply("x")
        assert len(reads) == 1

        later = draw_shapes(root / "later", 1, seed=32)
        Path(first["path"].iloc[0]).unlink()
        proj.update()
        res = proj.classify(prompts())
        assert len(reads) == 2
        ids = proj.catalog.ids_by_path(later["path"].tolist())
        assert set(ids.values()) <= set(res.ids)
        assert len(res) == len(first) - 1 + len(later)
        assert proj.classify(prompts()).ids == res.ids and len(reads) == 2
    finally:
        proj.close()


def test_drop_label_set_forgets_labels_and_probabilities(shapes) -> None:
    proj, truth = shapes
    proj.import_predictions(confusing_predictions(truth, "red star"), set="gone")
    assert proj.drop_label_set("gone") == len(truth)
    assert proj.labels("gone").empty
    with pytest.raises(InvalidArgument, match="no classification labels"):
        proj.uncertain(5, set="gone")
    assert proj.drop_label_set("gone") == 0
