"""The explore engine (kNN graph, map, duplicates, outliers, suggested threshold) on
vectors the bundled demo model computes for images drawn here, plus unit tests of
caching, incremental maps and tiny inputs on synthetic vectors."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from aisearch_widgets._errors import AISearchError, InvalidArgument
from aisearch_widgets.demo import DEMO_MODEL_DIR
from aisearch_widgets.explore import (
    compute_map,
    find_duplicates,
    find_outliers,
    knn_graph,
    outlier_scores,
    suggest_threshold,
)
from aisearch_widgets.explore import knn as knn_mod
from aisearch_widgets.images import content_hash

from _lookalikes import altered_copy

needs_demo = pytest.mark.skipif(
    not (DEMO_MODEL_DIR / "open_clip_config.json").exists(), reason="demo model not built"
)
MAP_CLASSES = [
    ("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "star"),
    ("purple", "arrow"), ("orange", "cross"), ("pink", "diamond"), ("red", "square"),
    ("blue", "circle"),
]  # fmt: skip


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _clustered(n: int, dim: int = 32, k: int = 5, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dim))
    x = centres[rng.integers(k, size=n)] + 0.3 * rng.standard_normal((n, dim))
    return [f"{seed}-{i:05d}" for i in range(n)], _unit(x)


# --- data drawn for the quality tests ----------------------------------------------


def _off_domain(kind: str, k: int, size: int = 128) -> Image.Image:
    rng = np.random.default_rng([99, k])
    if kind == "noise":
        return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    if kind == "text":
        img = Image.new("RGB", (size, size), "white")
        draw = ImageDraw.Draw(img)
        words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "page", "text"]
        for line in range(12):
            draw.text((4, 2 + 10 * line), " ".join(rng.choice(words, 4)), fill="black")
        return img
    period = 6 + 4 * k
    stripes = (np.arange(size) // period) % 2
    arr = np.where(stripes[None, :, None] if k % 2 else stripes[:, None, None], 255, 30)
    return Image.fromarray(np.broadcast_to(arr, (size, size, 3)).astype(np.uint8))


def _class_images(per_class: int, seed: int) -> tuple[list[Image.Image], list[str]]:
    from aisearch_widgets.demo.shapes import render, sample_labels

    imgs, labels = [], []
    for c, (color, shape) in enumerate(MAP_CLASSES):
        for i in range(per_class):
            rng = np.random.default_rng([seed, c, i])
            lab = sample_labels(rng) | {"color": color, "shape": shape}
            imgs.append(render(lab, rng))
            labels.append(f"{color} {shape}")
    return imgs, labels


@pytest.fixture(scope="module")
def embedder():
    from aisearch_widgets.embedder import Embedder

    return Embedder("demo", device="cpu")


@pytest.fixture(scope="module")
def scenes(embedder, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """400 multi-shape scenes as files, with altered (35 %) and exact (10 %) copies."""
    from aisearch_widgets.demo.shapes import generate

    root = tmp_path_factory.mktemp("scenes")
    rng = np.random.default_rng(5)
    names, scene, images, data = [], [], [], []
    for img, labels, _ in generate(400, seed=4242, formats=("png",)):
        i = labels["index"]
        buf = io.BytesIO()
        img.save(buf, "PNG")
        copies = [(f"s{i:03d}.png", buf.getvalue())]
        u = rng.random()
        if u < 0.35:
            copies.append((f"s{i:03d}_alt.jpg", altered_copy(img, rng)))
        elif u < 0.45:
            copies.append((f"s{i:03d}_copy.png", buf.getvalue()))
        for name, blob in copies:
            (root / name).write_bytes(blob)
            names.append(name)
            scene.append(i)
            data.append(blob)
            images.append(Image.open(io.BytesIO(blob)).convert("RGB"))
    vecs = embedder.encode_images(images)
    return {
        "root": root,
        "ids": names,
        "scene": np.array(scene),
        "content": [content_hash(b) for b in data],
        "vecs": vecs,
        "paths": lambda ids: [root / i for i in ids],
    }


@pytest.fixture(scope="module")
def classes(embedder) -> dict:
    imgs, labels = _class_images(45, seed=77)
    return {"ids": [f"c{i:04d}" for i in range(len(imgs))], "labels": np.array(labels),
            "vecs": embedder.encode_images(imgs)}  # fmt: skip


def _pairs(groups: dict[str, int]) -> set[tuple[str, str]]:
    by: dict[int, list[str]] = {}
    for i, g in groups.items():
        by.setdefault(g, []).append(i)
    return {(a, b) for m in by.values() for a in m for b in m if a < b}


# --- quality ----------------------------------------------------------------------


@needs_demo
def test_duplicates_recall_and_precision(scenes: dict, tmp_path: Path) -> None:
    ids, scene = scenes["ids"], scenes["scene"]
    df = find_duplicates(
        ids, scenes["vecs"], scenes["paths"], content=scenes["content"], cache_dir=tmp_path
    )
    truth = _pairs({i: int(s) for i, s in zip(ids, scene, strict=True) if (scene == s).sum() > 1})
    found = _pairs(dict(zip(df["id"], df["group"], strict=True)))
    recall = len(found & truth) / len(truth)
    precision = len(found & truth) / max(1, len(found))
    assert len(truth) > 150
    assert recall >= 0.95 and precision >= 0.9, (recall, precision, len(truth), len(found))
    # Biggest group first; the best copy (the larger original PNG) leads its group.
    sizes = df.groupby("group").size().to_numpy()
    assert (np.diff(sizes) <= 0).all()
    firsts = df[df["best"]]
    assert len(firsts) == df["group"].nunique()
    assert firsts["id"].str.endswith(".png").mean() > 0.95
    assert (df.loc[df["best"], "score"] > 0.999).all()
    copies = df[df["id"].str.endswith("_copy.png")]
    assert copies["exact"].all() and (copies["score"] > 0.999).all()


@needs_demo
def test_duplicates_reuse_cached_pixel_fingerprints(scenes: dict, tmp_path: Path) -> None:
    args = (scenes["ids"], scenes["vecs"])
    first = find_duplicates(*args, scenes["paths"], content=scenes["content"], cache_dir=tmp_path)
    assert (tmp_path / "pixels.npz").exists()

    def no_reads(ids):
        raise AssertionError(f"read {len(ids)} files although their fingerprints are cached")

    mt = np.zeros(len(scenes["ids"]))
    again = find_duplicates(
        *args, no_reads, content=scenes["content"], mtimes=mt, cache_dir=tmp_path
    )
    assert again.equals(first)


@needs_demo
def test_duplicates_without_content_hashes_still_group_exact_copies(scenes: dict) -> None:
    ids = scenes["ids"]
    df = find_duplicates(ids, scenes["vecs"], scenes["paths"])
    exact = [i for i in ids if i.endswith("_copy.png")]
    got = dict(zip(df["id"], df["group"], strict=True))
    for c in exact:
        assert c in got and got[c] == got.get(c.replace("_copy", ""))


@needs_demo
def test_outliers_off_domain_images_rank_in_top_2_percent(classes: dict, embedder) -> None:
    odd = [_off_domain(kind, k) for kind in ("noise", "text", "stripes") for k in range(2)]
    ids = classes["ids"] + [f"odd{k}" for k in range(len(odd))]
    vecs = np.concatenate([classes["vecs"], embedder.encode_images(odd)])
    top = int(0.02 * len(ids))
    df = find_outliers(ids, vecs, n=top)
    assert set(df["id"]) >= {f"odd{k}" for k in range(len(odd))}, df
    assert (np.diff(df["score"]) <= 0).all()


@pytest.fixture(scope="module")
def umap_map(classes: dict, tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("umap")
    cache = tmp_path_factory.mktemp("map-cache")
    return compute_map(classes["ids"], classes["vecs"], cache_dir=cache), cache


def _purity(xy: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]
    return float((labels[nn] == labels[:, None]).mean())


@needs_demo
def test_map_same_class_shapes_are_neighbours(umap_map, classes: dict) -> None:
    df, _ = umap_map
    assert df["id"].tolist() == classes["ids"]
    assert np.isfinite(df[["x", "y"]].to_numpy()).all()
    assert _purity(df[["x", "y"]].to_numpy(), classes["labels"]) >= 0.8


@needs_demo
def test_map_fitted_on_a_sample_places_the_rest_through_the_graph(classes: dict) -> None:
    pytest.importorskip("umap")
    # Fitted points alone: purity 1.0; placed ones inherit the purity of the 512-d
    # neighbours (0.88 overall with 3/4 fitted here, 0.70 with 1/3).
    df = compute_map(classes["ids"], classes["vecs"], sample=300)
    assert np.isfinite(df[["x", "y"]].to_numpy()).all()
    assert _purity(df[["x", "y"]].to_numpy(), classes["labels"]) >= 0.8


@needs_demo
def test_map_pca_is_a_fast_approximate_map(classes: dict) -> None:
    df = compute_map(classes["ids"], classes["vecs"], method="pca")
    assert len(df) == len(classes["ids"]) and df["cluster"].between(0, 19).all()


@needs_demo
def test_suggested_threshold_separates_colour_shape_prompts(
    classes: dict, scenes: dict, embedder
) -> None:
    from aisearch_widgets.demo.shapes import generate

    keep = [k for k, i in enumerate(scenes["ids"]) if "_" not in i]
    vecs = np.concatenate([classes["vecs"], scenes["vecs"][keep]])
    labels = list(classes["labels"])
    for _, lab, _ in generate(400, seed=4242, formats=("png",)):
        labels.append(f"{lab['color']} {lab['shape']}")
    labels = np.array(labels)
    f1s = {}
    for color, shape in MAP_CLASSES:
        article = "an" if color[0] in "aeiou" else "a"
        q = embedder.encode_text([f"{article} {color} {shape}"])[0]
        scores = vecs @ q
        cut = suggest_threshold(scores)
        assert cut is not None, (color, shape)
        above = scores >= cut
        truth = labels == f"{color} {shape}"
        tp = (above & truth).sum()
        f1s[(color, shape)] = 2 * tp / (above.sum() + truth.sum())
    assert min(f1s.values()) >= 0.9, f1s


# --- threshold units --------------------------------------------------------------


def test_threshold_unimodal_says_no_clear_cut() -> None:
    rng = np.random.default_rng(0)
    assert suggest_threshold(rng.normal(0.2, 0.02, 1000)) is None
    assert suggest_threshold(rng.uniform(0.1, 0.3, 500)) is None
    # Skewed, long-tailed unimodal scores: a cut is suggested rarely (measured ~5 %
    # over normal, uniform and gamma samples of 12-1000 scores).
    said = [suggest_threshold(rng.gamma(3, 1, n)) is not None for n in (50, 300) for _ in range(40)]
    assert np.mean(said) <= 0.15


def test_threshold_bimodal_cuts_between_the_modes() -> None:
    rng = np.random.default_rng(1)
    s = np.concatenate([rng.normal(0.15, 0.02, 950), rng.normal(0.32, 0.015, 50)])
    cut = suggest_threshold(s)
    assert cut is not None and 0.2 < cut < 0.3


def test_threshold_handful_of_results_and_degenerate_inputs() -> None:
    assert suggest_threshold([0.31, 0.30, 0.29, 0.12, 0.11, 0.10, 0.10, 0.09]) == pytest.approx(
        0.205
    )
    assert suggest_threshold([0.3, 0.29, 0.28, 0.27, 0.26]) is None
    for few in ([], [0.5], [0.5, 0.4], [0.3] * 50, [np.nan, 0.2]):
        assert suggest_threshold(few) is None


# --- kNN graph, cache, tiny inputs ------------------------------------------------


def test_knn_exact_matches_brute_force_and_is_cached(tmp_path: Path, monkeypatch) -> None:
    ids, x = _clustered(300)
    g = knn_graph(ids, x, k=7, cache_dir=tmp_path)
    s = x @ x.T
    np.fill_diagonal(s, -np.inf)
    assert (np.sort(g.indices, 1) == np.sort(np.argsort(-s, 1)[:, :7], 1)).all()
    assert (np.diff(g.sims, axis=1) <= 1e-6).all() and g.exact

    def boom(*a, **kw):
        raise AssertionError("recomputed although cached")

    monkeypatch.setattr(knn_mod, "exact_knn", boom)
    again = knn_graph(ids, x, k=5, cache_dir=tmp_path)  # fewer neighbours: a slice
    assert (again.indices == g.indices[:, :5]).all()
    perm = np.random.default_rng(0).permutation(len(ids))
    shuffled = knn_graph([ids[i] for i in perm], x[perm], k=7, cache_dir=tmp_path)
    assert [shuffled.ids[j] for j in shuffled.indices[0]] == [ids[j] for j in g.indices[perm[0]]]
    with pytest.raises(AssertionError, match="recomputed"):
        knn_graph(ids[:-1], x[:-1], k=7, cache_dir=tmp_path)  # a point less: invalidated
    y = x.copy()
    y[3] = _unit(y[3:4] + 0.5)[0]
    with pytest.raises(AssertionError, match="recomputed"):
        knn_graph(ids, y, k=7, cache_dir=tmp_path)  # a re-embedded point: invalidated


def test_knn_corrupt_or_old_cache_is_recomputed(tmp_path: Path) -> None:
    ids, x = _clustered(50)
    g = knn_graph(ids, x, k=5, cache_dir=tmp_path)
    (tmp_path / "knn.npz").write_bytes(b"not a zip")
    assert (knn_graph(ids, x, k=5, cache_dir=tmp_path).indices == g.indices).all()


def test_knn_ivf_recall() -> None:
    ids, x = _clustered(6000, dim=64, k=40, seed=3)
    exact = knn_graph(ids, x, k=10, method="exact")
    approx = knn_graph(ids, x, k=10, method="ivf")
    assert not approx.exact and (approx.indices != np.arange(6000)[:, None]).all()
    assert (np.diff(approx.sims, axis=1) <= 1e-6).all()
    hits = [len(set(a) & set(b)) for a, b in zip(exact.indices, approx.indices, strict=True)]
    assert np.mean(hits) / 10 >= 0.95


@pytest.mark.slow  # numba compiles pynndescent on first use (~40 s here)
@pytest.mark.timeout(600)
def test_knn_nndescent_recall(tmp_path: Path) -> None:
    pytest.importorskip("pynndescent")
    ids, x = _clustered(3000, dim=64, k=30, seed=3)
    exact = knn_graph(ids, x, k=10, method="exact")
    approx = knn_graph(ids, x, k=10, method="nndescent")
    assert not approx.exact and (approx.indices != np.arange(3000)[:, None]).all()
    hits = [len(set(a) & set(b)) for a, b in zip(exact.indices, approx.indices, strict=True)]
    assert np.mean(hits) / 10 >= 0.9


def test_missing_extra_says_how_to_install(monkeypatch) -> None:
    import builtins

    real = builtins.__import__

    def no_umap(name, *a, **kw):
        if name.split(".")[0] in ("umap", "pynndescent"):
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_umap)
    monkeypatch.setattr(knn_mod.importlib, "import_module", lambda m: no_umap(m))
    ids, x = _clustered(30)
    with pytest.raises(AISearchError, match=r"pip install 'aisearch-widgets\[explore\]'"):
        compute_map(ids, x, method="umap")
    assert len(compute_map(ids, x, method="pca")) == 30  # the rest works without
    assert len(find_outliers(ids, x, n=5)) == 5


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_tiny_inputs(n: int, tmp_path: Path) -> None:
    ids, x = _clustered(n) if n else ([], np.zeros((0, 32), np.float32))
    g = knn_graph(ids, x, k=5)
    assert g.indices.shape == (n, 5) and (g.indices[:, max(0, n - 1) :] == -1).all()
    assert len(outlier_scores(ids, x)) == n
    assert len(find_outliers(ids, x, n=10)) == n
    df = find_duplicates(ids, x, lambda i: [None] * len(i), cache_dir=tmp_path)
    assert df.empty
    for method in ("pca", "umap"):
        if method == "umap":
            pytest.importorskip("umap")
        m = compute_map(ids, x, method=method, cache_dir=tmp_path / method)
        assert list(m.columns) == ["id", "x", "y", "cluster"] and len(m) == n
        assert np.isfinite(m[["x", "y"]].to_numpy()).all()


def test_bad_inputs_name_the_argument() -> None:
    ids, x = _clustered(10)
    with pytest.raises(InvalidArgument, match="10 ids but 9 vectors"):
        knn_graph(ids, x[:9])
    with pytest.raises(InvalidArgument, match="unique"):
        knn_graph(ids[:9] + ids[:1], x)
    bad = x.copy()
    bad[2, 0] = np.nan
    with pytest.raises(InvalidArgument, match=ids[2]):
        knn_graph(ids, bad)
    with pytest.raises(InvalidArgument, match="method"):
        compute_map(ids, x, method="tsne")
    with pytest.raises(InvalidArgument, match="content"):
        find_duplicates(ids, x, lambda i: i, content=["a"])


# --- map cache and incremental updates ---------------------------------------------


def test_map_cached_then_incremental_then_refit(tmp_path: Path) -> None:
    ids, x = _clustered(500, seed=4)
    first = compute_map(ids, x, method="pca", cache_dir=tmp_path)
    calls = []
    again = compute_map(
        ids, x, method="pca", cache_dir=tmp_path, progress=lambda *a: calls.append(a)
    )
    assert (again[["x", "y"]].to_numpy() == first[["x", "y"]].to_numpy()).all()
    assert calls[-1] == ("map", 1.0)
    # 10 % new points: the old ones keep their places, the new ones are placed.
    new_ids, new_x = _clustered(50, seed=5)
    inc = compute_map(ids + new_ids, np.concatenate([x, new_x]), method="pca", cache_dir=tmp_path)
    assert np.allclose(inc[["x", "y"]].to_numpy()[:500], first[["x", "y"]].to_numpy())
    assert np.isfinite(inc[["x", "y"]].to_numpy()).all()
    # Another 30 %: a full refit, whose axes differ from the first fit's.
    more_ids, more_x = _clustered(200, seed=6)
    all_ids, all_x = ids + new_ids + more_ids, np.concatenate([x, new_x, more_x * -1])
    refit = compute_map(all_ids, all_x, method="pca", cache_dir=tmp_path)
    fresh = compute_map(all_ids, all_x, method="pca", refit=True)
    assert np.allclose(refit[["x", "y"]].to_numpy(), fresh[["x", "y"]].to_numpy(), atol=1e-4)


@needs_demo
def test_umap_map_incremental_places_new_points_near_their_class(umap_map, classes, embedder):
    df, cache = umap_map
    imgs, labels = _class_images(3, seed=78)
    new_ids = [f"n{i}" for i in range(len(imgs))]
    ids = classes["ids"] + new_ids
    vecs = np.concatenate([classes["vecs"], embedder.encode_images(imgs)])
    inc = compute_map(ids, vecs, cache_dir=cache)
    xy = inc[["x", "y"]].to_numpy()
    assert np.allclose(xy[: len(df)], df[["x", "y"]].to_numpy())  # old points stay put
    assert _purity(xy, np.concatenate([classes["labels"], labels])) >= 0.8


# --- the map view's scatter (draft; no browser) ----------------------------------


def test_map_view_lasso_reads_back_ids_and_gallery_selection_highlights() -> None:
    pytest.importorskip("jscatter")
    from aisearch_widgets.widgets._map import MapView

    ids, x = _clustered(200, seed=8)
    df = compute_map(ids, x, method="pca")
    view = MapView(df)
    w = view.plot  # (view.widget: the plot in its frame)
    assert isinstance(w.points, np.ndarray) and w.points.shape[0] == 200  # binary, not JSON
    got: list[list[str]] = []
    view.on_select(got.append)
    w.selection = np.array([5, 2, 9], dtype=np.uint32)  # what a lasso in the browser sets
    assert view.selected_ids() == [ids[2], ids[5], ids[9]] and got[-1] == view.selected_ids()
    view.select_ids([ids[10], "not-an-id", ids[20]])
    assert sorted(w.selection.tolist()) == [10, 20]
    view.color_by_score({ids[0]: 0.9, ids[1]: 0.2})
    assert w.color_by == "valueA"
    view.color_by_score(None)


def test_duplicates_best_copy_is_the_largest_resolution_not_the_decoded_size(
    tmp_path: Path,
) -> None:
    """JPEGs are decoded at a reduced scale for fingerprints; the order must use the
    file's real size: a 512 px JPEG copy beats its 128 px PNG original."""
    from aisearch_widgets.demo.shapes import generate

    img = next(generate(1, seed=3, formats=("png",)))[0]
    img.save(tmp_path / "small.png")
    img.resize((512, 512), Image.Resampling.BICUBIC).save(tmp_path / "big.jpg", quality=90)
    ids = ["small.png", "big.jpg"]
    x = _unit(np.array([[1.0, 0.0, 0.0], [1.0, 0.01, 0.0]]))
    df = find_duplicates(ids, x, lambda i: [tmp_path / p for p in i], mtimes=[0.0, 1.0])
    assert df["id"].tolist() == ["big.jpg", "small.png"], df
    assert df[["width", "height"]].to_numpy().tolist() == [[512, 512], [128, 128]]


def test_the_state_check_of_a_large_matrix_needs_no_copy_of_it() -> None:
    """Checking the vectors and fingerprinting their state (what every cached graph
    and map is keyed by) runs in blocks of rows: at 1M x 512 a float64 copy of the
    matrix was a 6 GB peak on top of the 2 GB the vectors take. The fingerprint is the
    one of the whole-matrix formula, so caches written before stay valid."""
    import hashlib
    import tracemalloc

    from aisearch_widgets.explore import _cache

    rng = np.random.default_rng(5)
    n = 300_000
    x = rng.normal(size=(n, 64)).astype(np.float32)
    ids = [f"{i:x}" for i in rng.permutation(n)]
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        _, checked = _cache.check_inputs(ids, x)
        fp = _cache.fingerprint(ids, checked)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert checked is x or np.shares_memory(checked, x)  # float32 C-order: no copy
    assert peak < x.nbytes, (peak, x.nbytes)

    h = hashlib.blake2b(digest_size=12)  # the whole-matrix formula
    h.update(f"{n}:64".encode())
    order = np.argsort(np.asarray(ids, dtype=object))
    h.update("\0".join(ids[i] for i in order).encode())
    whole = x[order].astype(np.float64)
    h.update(np.round(whole.sum(axis=1), 5).tobytes())
    h.update(np.round(whole @ np.arange(1, 65, dtype=np.float64), 3).tobytes())
    assert fp == h.hexdigest()

    bad = x.copy()
    bad[250_000, 3] = np.nan  # in a later block
    with pytest.raises(InvalidArgument, match=ids[250_000]):
        _cache.check_inputs(ids, bad)


# --- duplicates are copies of one picture, not look-alikes ---------------------------


@pytest.fixture(scope="module")
def lookalikes(embedder, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """160 drawn scenes with altered and byte copies, and look-alikes of many of them
    (another tint, position, size or blur): tests/_lookalikes.py."""
    from _lookalikes import make_set

    s = make_set(tmp_path_factory.mktemp("lookalikes"), 160, seed=11)
    images = [Image.open(s.root / n).convert("RGB") for n in s.names]
    return {
        "set": s,
        "vecs": embedder.encode_images(images),
        "content": [content_hash((s.root / n).read_bytes()) for n in s.names],
        "paths": lambda ids: [s.root / i for i in ids],
    }


@needs_demo
def test_near_duplicates_are_copies_of_one_picture_not_lookalikes(lookalikes: dict) -> None:
    s = lookalikes["set"]
    args = (s.names, lookalikes["vecs"], lookalikes["paths"])
    df = find_duplicates(*args, content=lookalikes["content"])
    truth = s.true_pairs()
    found = _pairs(dict(zip(df["id"], df["group"], strict=True)))
    precision = len(found & truth) / max(1, len(found))
    recall = len(found & truth) / len(truth)
    assert len(truth) > 50 and sum(k in ("tint", "shift", "size", "blur") for k in s.kind) > 80
    assert precision >= 0.95 and recall >= 0.9, (precision, recall, sorted(found - truth)[:5])
    # Each row says how it matches its best copy, with the pixel evidence.
    assert set(df["match"]) <= {"exact", "near"}
    assert (df.loc[df["match"] == "exact", "pixel_similarity"] == 1.0).all()
    assert (df.loc[df["match"] == "near", "pixel_similarity"].between(0.9, 1.0)).all()
    assert df.loc[df["id"].str.endswith("_copy.png"), "match"].eq("exact").all()
    # Wider and narrower on purpose.
    similar = find_duplicates(*args, content=lookalikes["content"], kind="similar")
    assert len(_pairs(dict(zip(similar["id"], similar["group"], strict=True)))) > 2 * len(found)
    assert "similar" in set(similar["match"])
    exact = find_duplicates(*args, content=lookalikes["content"], kind="exact")
    assert set(exact["match"]) == {"exact"}
    assert set(exact["id"]) == {n for n in s.names if n.endswith("_copy.png")} | {
        n.replace("_copy", "") for n in s.names if n.endswith("_copy.png")
    }


def test_pixel_similarity_tells_a_copy_from_a_lookalike(tmp_path: Path) -> None:
    from aisearch_widgets.explore.duplicates import fingerprint_image, pixel_similarity

    from _lookalikes import altered_copy, lookalike, random_scene, render

    rng = np.random.default_rng(3)
    scene = random_scene(rng)
    img = render(scene)
    fp = fingerprint_image(img)
    assert pixel_similarity(fp, fp) == 1.0
    copy = fingerprint_image(Image.open(io.BytesIO(altered_copy(img, rng))))
    assert pixel_similarity(fp, copy) >= 0.9
    for kind in ("tint", "shift", "size", "blur"):
        other = fingerprint_image(render(lookalike(scene, kind, rng)))
        assert pixel_similarity(fp, other) < 0.9, kind


def test_a_link_and_its_target_are_one_file_never_copies(tmp_path: Path) -> None:
    original = tmp_path / "original.png"
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(original)
    for i in range(6):
        os.symlink(original, tmp_path / f"link{i}.png")
    shutil.copy(original, tmp_path / "real_copy.png")
    os.utime(tmp_path / "real_copy.png", (original.stat().st_mtime + 60,) * 2)
    ids = [f"link{i}.png" for i in range(6)] + ["original.png", "real_copy.png"]
    x = _unit(np.ones((len(ids), 8)))
    content = [content_hash(original.read_bytes())] * len(ids)
    paths = lambda i: [tmp_path / p for p in i]  # noqa: E731
    df = find_duplicates(ids, x, paths, content=content, stat_files=True)
    assert list(df["id"]) == ["original.png", "real_copy.png"] and df["best"].iloc[0]
    # Only links and their target: no group at all.
    df = find_duplicates(ids[:7], x[:7], paths, content=content[:7], stat_files=True)
    assert df.empty
