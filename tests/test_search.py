from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw

from _helpers import clustered, draw, inject, make_folder, slow_down, unit


@pytest.fixture
def ready(project_factory, images: Path) -> aw.Project:
    proj = project_factory("p", images)
    proj.update()
    return proj


def _ids_by_name(proj: aw.Project) -> dict[str, str]:
    df = proj.catalog.query("SELECT path, id FROM files WHERE status = 'embedded'")
    return {Path(p).name: i for p, i in df}


def _graded(proj: aw.Project, prompt: str, seed: int = 0) -> list[str]:
    """Give every image a known cosine to the prompt; return ids best first."""
    q = proj.embedder.encode_text([prompt])[0]
    rng = np.random.default_rng(seed)
    ids = sorted(_ids_by_name(proj).values())
    order = rng.permutation(len(ids))
    vecs = {}
    for rank, k in enumerate(order):
        r = unit(rng.normal(size=q.shape))
        r = unit(r - (r @ q) * q)  # orthogonal to q
        cos = 0.9 - 0.05 * rank
        vecs[ids[k]] = unit(cos * q + np.sqrt(1 - cos**2) * r)
    inject(proj, vecs)
    return [ids[k] for k in order]


def test_prompt_search_is_sorted_and_limited(ready: aw.Project) -> None:
    truth = _graded(ready, "a red disc")
    res = ready.search("a red disc", limit=5)
    assert res.ids == truth[:5]
    assert list(res.df["rank"]) == [1, 2, 3, 4, 5]
    assert np.all(np.diff(res.scores) <= 0)
    assert res.scores[0] == pytest.approx(0.9, abs=1e-4)
    assert ready.last is res
    everything = ready.search("a red disc", limit=1000)
    assert len(everything) == 12 and everything.ids == truth
    assert set(everything.df.columns) >= {"id", "path", "score", "rank", "tags"}


def test_filters_and_histogram(ready: aw.Project) -> None:
    # Scores 0.90, 0.85, …, 0.35 (float32, so 0.7 may come back as 0.69999999).
    # The thresholds sit on scores on purpose: above= and between= include a score at
    # the boundary, below= excludes it, within float32 rounding.
    _graded(ready, "x")
    res = ready.search("x", limit=12)
    counts, edges = res.histogram(bins=5)
    assert counts.sum() == 12 and len(edges) == 6
    above = res.filter(above=0.7)
    below = res.filter(below=0.7)
    assert (len(above), len(below)) == (5, 7)  # 0.90 … 0.70 | 0.65 … 0.35
    assert above.scores.min() == pytest.approx(0.7, abs=1e-4)
    assert below.scores.max() == pytest.approx(0.65, abs=1e-4)
    mid = res.filter(between=(0.6, 0.8))
    assert len(mid) == 5  # 0.80, 0.75, 0.70, 0.65, 0.60
    assert list(below.df["rank"]) == list(range(1, len(below) + 1))
    assert ready.last is res  # filtering does not replace the temporary collection


def test_negative_prompt_pushes_matches_down(ready: aw.Project) -> None:
    emb = ready.embedder
    pos, neg = emb.encode_text(["cat"])[0], emb.encode_text(["reflection"])[0]
    neg_o = unit(neg - (neg @ pos) * pos)
    ids = sorted(_ids_by_name(ready).values())
    vecs = {
        i: unit(np.random.default_rng(k).normal(size=pos.shape) - 3 * pos)
        for k, i in enumerate(ids)
    }
    vecs[ids[0]] = unit(0.8 * pos + 0.6 * neg_o)  # a cat with a reflection
    vecs[ids[1]] = unit(0.79 * pos - 0.6 * neg_o)  # a cat without
    inject(ready, vecs)
    assert ready.search("cat", limit=2).ids == [ids[0], ids[1]]
    assert ready.search("cat", limit=2, negative="reflection").ids == [ids[1], ids[0]]


def test_similar_batch_fusion_and_reference_exclusion(ready: aw.Project) -> None:
    ids = sorted(_ids_by_name(ready).values())
    vecs, labels = clustered([4, 4, 4], dim=ready.embedder.dim, spread=0.1)
    inject(ready, dict(zip(ids, vecs, strict=True)))
    a, b = ids[0], ids[4]  # one reference in cluster 0, one in cluster 1
    want = {ids[i] for i in range(12) if labels[i] in (0, 1)} - {a, b}
    res = ready.similar([a, b], limit=6)  # "max": near any reference
    assert set(res.ids) == want
    assert np.all(np.diff(res.scores) <= 0)

    # "mean" and "rrf" against brute force on the same vectors.
    others = [i for i in range(12) if ids[i] not in (a, b)]
    sims = vecs[others] @ vecs[[0, 4]].T
    mean_q = unit(vecs[[0, 4]].mean(axis=0))
    want_mean = [ids[others[j]] for j in np.argsort(-(vecs[others] @ mean_q))[:6]]
    assert ready.similar([a, b], limit=6, fusion="mean").ids == want_mean
    ranks = np.argsort(np.argsort(-sims, axis=0), axis=0) + 1
    rrf = (1.0 / (60 + ranks)).sum(axis=1)
    want_rrf = [ids[others[j]] for j in np.argsort(-rrf, kind="stable")[:6]]
    assert set(ready.similar([a, b], limit=6, fusion="rrf").ids) == set(want_rrf)
    one = ready.similar(a, limit=3)
    assert set(one.ids) == {ids[1], ids[2], ids[3]}
    with_refs = ready.similar(a, limit=1, include_references=True)
    assert with_refs.ids == [a] and with_refs.scores[0] == pytest.approx(1, abs=1e-5)


def test_similar_accepts_paths_images_arrays_and_collections(
    ready: aw.Project, tmp_path: Path
) -> None:
    from PIL import Image

    path = next(
        iter(
            ready.catalog.ids_by_path(
                [str(p) for p in (Path(ready.sources[0].root)).rglob("*.png")]
            )
        )
    )
    assert len(ready.similar(path, limit=3)) == 3
    outside = draw(tmp_path / "outside.jpg", "yellow")
    assert len(ready.similar(str(outside), limit=4)) == 4
    assert len(ready.similar(Image.open(outside), limit=2)) == 2
    assert len(ready.similar(np.asarray(Image.open(outside)), limit=2)) == 2
    first = ready.search("x", limit=2)
    res = ready.similar(first, limit=20)
    assert not set(first.ids) & set(res.ids) and len(res) == 10
    with pytest.raises(aw.AISearchError, match="No image with id"):
        ready.similar("00000000-0000-0000-0000-000000000000")
    with pytest.raises(aw.AISearchError, match="fusion"):
        ready.similar([path, str(outside)], fusion="median")


def test_tags_filter_later_searches(ready: aw.Project) -> None:
    res = ready.search("x", limit=3)
    res.tag("night", "review")
    assert ready.tags == {"night": 3, "review": 3}
    assert set(ready.search("x", limit=100, tags=["night"]).ids) == set(res.ids)
    assert all(t == ["night", "review"] for t in res.df["tags"])
    tagged = ready.tagged("night")
    assert set(tagged.ids) == set(res.ids) and ready.last is not tagged
    res.untag("review")
    assert ready.tags == {"night": 3}
    assert len(ready.search("x", tags="nothing")) == 0


def test_exclude_ids_and_collections(ready: aw.Project) -> None:
    first = ready.search("x", limit=4)
    rest = ready.search("x", limit=100, exclude=first)
    assert len(rest) == 8 and not set(rest.ids) & set(first.ids)
    rest2 = ready.search("x", limit=100, exclude=first.paths[:2])
    assert len(rest2) == 10


def test_embeddings_not_ready_during_first_pass(project_factory, tmp_path: Path) -> None:
    root = tmp_path / "many"
    make_folder(root, 40, sub=False)
    proj = project_factory("p", root, batch_size=2)
    with pytest.raises(aw.EmbeddingsNotReady, match="enable"):
        proj.search("x")
    slow_down(proj, 0.05)
    proj.enable(schedule=None)
    while proj.status.done < 4:
        time.sleep(0.01)
    with pytest.raises(aw.EmbeddingsNotReady) as ei:
        proj.search("x")
    assert 0 < ei.value.done < ei.value.total == 40
    assert "being prepared" in str(ei.value)
    partial = proj.search("x", limit=100, allow_partial=True)
    assert 0 < len(partial) < 40
    proj.wait(progress=False)
    assert len(proj.search("x", limit=100)) == 40
    # Later updates never block searches.
    draw(root / "new.jpg", "green")
    fut = proj.update_async()
    assert len(proj.search("x", limit=100)) >= 40
    fut.result(timeout=30)


def test_a_huge_limit_returns_every_image_without_allocating_for_it(ready) -> None:
    for fusion in ("max", "rrf"):
        res = ready.similar(ids=ready.search("x", limit=2).ids, limit=10**12, fusion=fusion)
        assert len(res) == ready.status.done - 2
    assert len(ready.search("x", limit=10**12)) == ready.status.done


# -- vectors that cannot be searched with ---------------------------------------------


def _damage(proj: aw.Project, name: str, value: float) -> str:
    """Overwrite the stored vector of image ``name`` with ``value`` everywhere (what an
    older version stored from a damaged model); returns its id."""
    pid = _ids_by_name(proj)[name]
    proj.store.upsert([pid], np.full((1, proj.store.dim), value, np.float32))
    return pid


def test_a_nan_vector_is_reported_not_searched_silently(ready: aw.Project, images: Path) -> None:
    bad = _damage(ready, "red_000.jpg", np.nan)
    n = len(_ids_by_name(ready))
    # A reference whose vector is NaN matched nothing, silently.
    with pytest.raises(aw.ProjectCorrupt, match=rf"{bad}.*NaN.*reembed") as err:
        ready.similar(ids=[bad])
    assert err.value.path  # names the damaged store
    with pytest.raises(aw.ProjectCorrupt, match=bad):
        ready.similar(images / "red_000.jpg")
    # The store leaves a NaN point out of every result: a full-length search says so.
    with pytest.raises(aw.ProjectCorrupt, match=rf"1 stored vector .*{bad}"):
        ready.search("a red disc", limit=n)
    with pytest.raises(aw.ProjectCorrupt, match=bad):
        ready.similar(ids=[_ids_by_name(ready)["green_001.png"]], limit=n)
    # A short search whose results are complete still works.
    assert len(ready.search("a red disc", limit=3)) == 3


def test_a_zero_reference_vector_is_reported(ready: aw.Project) -> None:
    bad = _damage(ready, "blue_002.jpg", 0.0)
    with pytest.raises(aw.ProjectCorrupt, match=rf"{bad}.*zero vector"):
        ready.similar(ids=[bad])


def test_a_query_without_direction_is_an_invalid_argument(ready: aw.Project) -> None:
    with pytest.raises(aw.InvalidArgument, match=r"no direction.*negative_weight"):
        ready.search("a red disc", negative="a red disc", negative_weight=1.0)


def test_a_model_that_gives_nan_for_a_prompt_says_so(ready: aw.Project) -> None:
    original = ready.embedder.encode_text
    ready.embedder.encode_text = lambda texts: original(texts) * np.nan
    with pytest.raises(aw.ModelLoadError, match=r"NaN.*'a red disc'.*precision='fp32'"):
        ready.search("a red disc")
