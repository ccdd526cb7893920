"""Active learning on the stored vectors: zero-shot classification, predictions of
the user's own model, the most uncertain images to label next, and labels that
look wrong.

Predictions are a label set like any other (the top label of each image, its
``confidence``); the class probabilities behind them (what margin and entropy need)
are kept beside the catalog in ``predictions/<set>.npz`` (numpy arrays, read with
``allow_pickle=False``). A set without that file (labels imported with a
``confidence``) still works: an image's rows are its distribution, the mass they
leave is one more class, "other".

Nothing here decodes an image: every score is computed from the vectors the store
already holds, through the copy :mod:`._matrix` keeps of them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InvalidArgument, check_int, show_value
from ._labels import check_name
from ._scope import WHOLE_PROJECT, QueryScope

UNCERTAINTY = ("margin", "entropy", "least_confident")
OTHER = "(other)"
_CHUNK = 4096  # vectors scored per matrix product: 8 MB of float32 at 512-d, in cache


# -- class prompts ---------------------------------------------------------------------
def check_classes(classes: Any, templates: Any = None) -> tuple[list[str], list[list[str]]]:
    """``(class names, prompts of each class)`` from a list of prompts (each its own
    class) or a mapping ``{name: prompt or [prompts]}``; ``templates`` (``"a photo
    of {}"``…) turn every prompt into several."""
    if isinstance(classes, Mapping):
        names = [check_name(k, "class") for k in classes]
        lists = [[v] if isinstance(v, str) else v for v in classes.values()]
    elif isinstance(classes, (list, tuple)):
        names = [check_name(c, "class") for c in classes]
        lists = [[c] for c in names]
    else:
        raise InvalidArgument(
            f"classes must be a list of prompts or a dict {{name: prompts}} (got {show_value(classes)})."
        )
    if len(names) < 2 or len(set(names)) != len(names):
        raise InvalidArgument(f"classify() needs at least two distinct classes (got {names}).")
    for name, lst in zip(names, lists, strict=True):
        if (
            not isinstance(lst, (list, tuple))
            or not lst
            or not all(isinstance(p, str) and p.strip() for p in lst)
        ):
            raise InvalidArgument(f"The prompts of class {name!r} must be non-empty texts.")
    if templates is not None:
        if isinstance(templates, str):
            templates = [templates]
        if not templates or not all(isinstance(t, str) and "{}" in t for t in templates):
            raise InvalidArgument(
                f"prompts_per_class must be templates with '{{}}' (got {show_value(templates)})."
            )
        lists = [[t.format(p) for t in templates for p in lst] for lst in lists]
    return names, [list(lst) for lst in lists]


def class_vectors(texts: Any, prompts: list[list[str]]) -> np.ndarray:
    """One unit vector per class: the mean of its prompts' vectors, through the
    project's prompt cache (:class:`~.search.TextVectors`): a class asked again, in
    another run, costs no text encoding."""
    return np.stack([np.asarray(texts.vector(lst), np.float32) for lst in prompts])


def logit_scale(embedder: Any) -> float:
    """The model's learned temperature (``exp(logit_scale)``, 100 for CLIP)."""
    raw = getattr(getattr(embedder, "model", None), "logit_scale", None)
    if raw is None:
        return 100.0
    return float(np.exp(float(raw.detach().cpu().float().reshape(-1)[0])))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def zero_shot(vecs: np.ndarray, text: np.ndarray, scale: float) -> np.ndarray:
    """Class probabilities of unit image vectors against unit class vectors:
    ``softmax(scale * vecs @ text.T)``, float32, in chunks."""
    return score_classes(vecs, text, scale)[0]


def score_classes(
    vecs: np.ndarray, text: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(probabilities, top class, its probability, margin to the second)`` of
    :func:`zero_shot`, the last three as :func:`top_two` gives them.

    Torch converts each chunk of the (float16) vectors to float32 and scores it
    while it is in cache (product, softmax, top two). The rows are split between as
    many threads as torch may use, each running torch on one thread of its own: a
    third of the CPU time of numpy's conversion and product at a million vectors,
    and none of the waiting of torch's own thread pool on busy cores
    (benchmarks/README.md section 16)."""
    import threading
    import warnings

    import torch

    n, k = len(vecs), len(text)
    w = torch.from_numpy(np.ascontiguousarray(np.asarray(text, np.float32) * np.float32(scale)))
    probs = np.empty((n, k), np.float32)
    top = np.zeros(n, np.int64)
    p1 = np.empty(n, np.float32)
    margin = np.empty(n, np.float32)
    threads = torch.get_num_threads()
    chunks = list(range(0, n, _CHUNK))
    workers = max(1, min(threads, len(chunks)))
    errors: list[BaseException] = []

    def run(mine: list[int]) -> None:
        # A thread count set in a thread stays with it (OpenMP); the library-wide
        # part of it (MKL) is given back to the caller's count after.
        torch.set_num_threads(1)
        try:
            for s in mine:
                block = torch.from_numpy(np.ascontiguousarray(vecs[s : s + _CHUNK]))
                e = s + len(block)
                got = torch.softmax(torch.nn.functional.linear(block.float(), w), dim=1)
                torch.from_numpy(probs[s:e]).copy_(got)
                if k == 1:
                    p1[s:e] = margin[s:e] = probs[s:e, 0]
                    continue
                best, idx = torch.topk(got, 2, dim=1)
                top[s:e] = idx[:, 0].numpy()
                p1[s:e] = best[:, 0].numpy()
                margin[s:e] = (best[:, 0] - best[:, 1]).numpy()
        except BaseException as exc:  # handed to the caller
            errors.append(exc)
        finally:
            torch.set_num_threads(threads)

    with warnings.catch_warnings():  # a read-only memory map is only read here
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        pool = [
            threading.Thread(target=run, args=(chunks[j::workers],), name=f"aisearch-score-{j}")
            for j in range(workers)
        ]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    if errors:
        raise errors[0]
    return probs, top, p1, margin


def top_two(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(index of the top class, its probability, margin to the second)``."""
    if probs.shape[1] == 1:
        return np.zeros(len(probs), int), probs[:, 0], probs[:, 0]
    part = -np.partition(-probs, 1, axis=1)[:, :2]
    return probs.argmax(axis=1), part[:, 0], part[:, 0] - part[:, 1]


# -- the probabilities beside a set ------------------------------------------------------
def _file(folder: Path, set_: str) -> Path:
    digest = hashlib.sha256(set_.encode()).hexdigest()[:20]
    return Path(folder) / "predictions" / f"{digest}.npz"


def save_probs(
    folder: Path, set_: str, ids: Sequence[str] | np.ndarray, classes: Sequence[str], probs: Any
) -> None:
    path = _file(folder, set_)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        set=np.array(set_),
        # ASCII point ids: a byte each, not four.
        ids=ids if isinstance(ids, np.ndarray) else np.array(list(ids), dtype="S"),
        classes=np.array(list(classes), dtype=str),
        probs=np.asarray(probs, np.float16),
    )
    os.replace(tmp, path)


def drop_probs(folder: Path, set_: str) -> None:
    _file(folder, set_).unlink(missing_ok=True)


def distribution(catalog: Any, folder: Path, set_: str) -> tuple[list[str], list[str], np.ndarray]:
    """``(ids, classes, probabilities)`` of every image the set labels (rows sum to
    1): the stored probabilities where the set's label still is their top class,
    else the image's label rows, the mass they leave going to :data:`OTHER`."""
    rows = catalog.classification_rows(set_)
    if not rows:
        raise InvalidArgument(
            f"The label set {set_!r} has no classification labels: run classify(set=...) "
            "or import_predictions(set=...) first."
        )
    per: dict[str, dict[str, float]] = {}
    for pid, label, conf in rows:
        per.setdefault(pid, {})[label] = 1.0 if conf is None else float(conf)
    stored: dict[str, np.ndarray] = {}
    classes: list[str] = []
    path = _file(folder, set_)
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            classes = [str(c) for c in z["classes"]]
            probs = z["probs"].astype(np.float32)
            for k, pid in enumerate(z["ids"].astype(str).tolist()):
                got = per.get(pid)
                if got and max(got, key=got.__getitem__) == classes[int(probs[k].argmax())]:
                    stored[pid] = probs[k]
    names = list(dict.fromkeys([*classes, *(lab for d in per.values() for lab in d), OTHER]))
    col = {c: j for j, c in enumerate(names)}
    ids = list(per)
    out = np.zeros((len(ids), len(names)), np.float32)
    for i, pid in enumerate(ids):
        if pid in stored:
            out[i, : len(classes)] = stored[pid]
            continue
        for label, p in per[pid].items():
            out[i, col[label]] = p
        out[i, col[OTHER]] += max(0.0, 1.0 - out[i].sum())
    out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-12)
    if not out[:, col[OTHER]].any():
        names, out = names[:-1], out[:, :-1]
    return ids, names, out


def uncertainty(probs: np.ndarray, by: str, other: int | None = None) -> np.ndarray:
    """Higher = less sure: ``1 - margin``, the entropy (nats) or ``1 - top``.

    ``other``: the column of :data:`OTHER` (the mass a set's labels leave). It is never
    the top class (an image's label is its prediction); for the margin it stands for
    the best of the classes it hides, no likelier than the top one."""
    if by not in UNCERTAINTY:
        raise InvalidArgument(f"Unknown uncertainty {show_value(by)}: use one of {UNCERTAINTY}.")
    if by == "entropy":
        p = np.clip(probs, 1e-12, 1.0)
        return -(probs * np.log(p)).sum(axis=1)
    real = probs if other is None else np.delete(probs, other, axis=1)
    if by == "least_confident":
        return 1.0 - real.max(axis=1)
    if real.shape[1] == 1:
        p1, p2 = real[:, 0], np.zeros(len(real), real.dtype)
    else:
        part = -np.partition(-real, 1, axis=1)[:, :2]
        p1, p2 = part[:, 0], part[:, 1]
    if other is not None:
        p2 = np.maximum(p2, np.minimum(probs[:, other], p1))
    return 1.0 - (p1 - p2)


def predicted(classes: Sequence[str], probs: np.ndarray) -> list[str]:
    """The top class of each row, :data:`OTHER` left out."""
    if OTHER not in classes:
        return [classes[int(k)] for k in probs.argmax(axis=1)]
    j = list(classes).index(OTHER)
    real = [c for c in classes if c != OTHER]
    return [real[int(k)] for k in np.delete(probs, j, axis=1).argmax(axis=1)]


# -- the work of each Project method ---------------------------------------------------
def classify(
    vectors: Any,
    catalog: Any,
    folder: Path,
    classes: Any,
    set_: str,
    templates: Any,
    scope: QueryScope = WHOLE_PROJECT,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows (``id, score, prediction, margin``) and query of a zero-shot run; the
    set's labels are replaced by the top class of every image (of the scope)."""
    from ._matrix import rows_of, stored_rows
    from ._predsets import decode, id_column

    set_ = check_name(set_, "label set")
    names, prompts = check_classes(classes, templates)
    only = scope.ids(catalog)
    text = class_vectors(vectors.text, prompts)
    scale = logit_scale(vectors.embedder())
    raw, mat = stored_rows(vectors, catalog, folder)
    kept: Any = raw  # the ids as the kept copy holds them: bytes, in the store's order
    if only is not None:
        kept, mat = rows_of(decode(raw), mat, only)
    probs, top, p1, margin = score_classes(mat, text, scale)
    catalog.replace_prediction_set(set_, kept, names, top, p1, "zero-shot")
    save_probs(folder, set_, kept, names, probs)
    # Best first, as the Collection shows them (its stable sort, done here in numpy).
    order = np.argsort(-p1, kind="stable")
    ids = id_column(raw[order]) if only is None else [kept[k] for k in order]
    items = pd.DataFrame(
        {
            "id": ids,
            "score": p1[order].astype(float),
            "prediction": np.asarray(names, dtype=object)[top[order]],
            "margin": margin[order].astype(float),
        }
    )
    query = {"type": "classify", "classes": dict(zip(names, prompts, strict=True)), "set": set_}
    return items, query | scope.describe()


def import_predictions(catalog: Any, folder: Path, source: Any, set_: str) -> pd.DataFrame:
    """Store a model's predictions in ``set_``; returns the rows that matched no image
    (empty when all did). Class-probability tables are handled here; ``label`` +
    ``probability`` rows and COCO results go through the label importer."""
    from . import _import_labels

    set_ = check_name(set_, "label set")
    df = _read_table(source)
    key = "id" if "id" in df else "path" if "path" in df else None
    if key is None:
        raise InvalidArgument("Predictions need an 'id' or a 'path' column.")
    if "label" in df:
        long = df.rename(columns={"probability": "confidence", "score": "confidence"})
        conf = pd.to_numeric(long["confidence"], errors="coerce") if "confidence" in long else None
        if conf is None or conf.isna().any() or not conf.between(0, 1).all():
            raise InvalidArgument(
                "Predictions with a 'label' column need a 'probability' in [0, 1] on every row."
            )
        catalog.remove_labels(set_)
        report = _import_labels.run(catalog, long, set_, "dataframe", None, None)
        drop_probs(folder, set_)
        return pd.DataFrame(report.unmatched)
    classes = [
        c for c in df.columns if c not in ("id", "path") and pd.api.types.is_numeric_dtype(df[c])
    ]
    if len(classes) < 2:
        raise InvalidArgument(
            "Predictions need one numeric column per class (two or more), or 'label' and "
            f"'probability' columns (got columns {list(df.columns)})."
        )
    probs = df[classes].to_numpy(np.float32, copy=True)
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise InvalidArgument("Class probabilities must be finite and >= 0.")
    if (probs.sum(axis=1) <= 0).any():
        raise InvalidArgument("Every row needs a class probability above 0.")
    probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
    ids = _match(catalog, df[key].astype(str).tolist(), key)
    ok = np.array([i is not None for i in ids], bool)
    got = [i for i in ids if i is not None]
    top, p1, _ = top_two(probs[ok])
    nan = float("nan")
    src = source if isinstance(source, (str, os.PathLike)) else "dataframe"
    rows = [
        (i, str(classes[k]), nan, nan, nan, nan, float(p), os.fspath(src), None)
        for i, k, p in zip(got, top, p1, strict=True)
    ]
    catalog.remove_labels(set_)
    catalog.put_labels(set_, rows)
    save_probs(folder, set_, got, [str(c) for c in classes], probs[ok])
    return df[~ok].reset_index(drop=True)


def import_coco_results(
    catalog: Any, folder: Path, source: Any, set_: str, images: Any
) -> pd.DataFrame:
    """Boxes with scores from a COCO JSON: a dataset with ``score`` in its
    annotations, or a results list (``image_id, category_id, bbox, score``) whose
    images and categories are in the COCO file ``images``."""
    import json
    import tempfile

    from . import _import_labels

    set_ = check_name(set_, "label set")
    path = Path(source).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"Could not read the COCO predictions {str(path)!r}: {exc}.") from exc
    if isinstance(data, list):
        if images is None:
            raise InvalidArgument(
                f"{str(path)!r} is a COCO results list: pass images= the COCO file that "
                "names its images and categories."
            )
        gt = json.loads(Path(images).expanduser().read_text(encoding="utf-8"))
        merged = {"images": gt.get("images", []), "categories": gt.get("categories", [])}
        merged["annotations"] = [{"id": k + 1, **a} for k, a in enumerate(data)]
        # The merged file lives in the project home; names resolve beside the COCO file.
        where = Path(folder) / "predictions"
        where.mkdir(parents=True, exist_ok=True)
        root = Path(images).expanduser().absolute().parent
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=where, delete=False) as f:
            json.dump(merged, f)
        try:
            report = _import_labels.run(catalog, f.name, set_, "coco", root, None)
        finally:
            os.unlink(f.name)
    else:
        report = _import_labels.run(catalog, path, set_, "coco", None, None)
    drop_probs(folder, set_)
    return pd.DataFrame(report.unmatched)


def _read_table(source: Any) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise InvalidArgument(f"Predictions: a DataFrame or a file (got {show_value(source)}).")
    path = Path(source)
    if not path.exists():
        raise InvalidArgument(f"Predictions file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    raise InvalidArgument(f"Predictions file {str(path)!r}: use .csv or .parquet (or a DataFrame).")


def _match(catalog: Any, keys: list[str], key: str) -> list[str | None]:
    if key == "id":
        known = set(catalog.records(keys))
        return [k if k in known else None for k in keys]
    by = catalog.ids_by_path([os.path.abspath(os.path.expanduser(k)) for k in keys])
    return [by.get(os.path.abspath(os.path.expanduser(k))) for k in keys]


def uncertain(
    vectors: Any,
    catalog: Any,
    folder: Path,
    n: int,
    set_: str,
    by: str,
    diverse: bool,
    pool: int | None,
    seed: int,
    scope: QueryScope = WHOLE_PROJECT,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows (``id, score, prediction, pick``) and query of the ``n`` images to label
    next. ``diverse``: the ``pool`` most uncertain, clustered (k-means, ``n``
    clusters), taken round-robin across clusters, most uncertain first in each."""

    if by not in UNCERTAINTY:
        raise InvalidArgument(f"Unknown uncertainty {show_value(by)}: use one of {UNCERTAINTY}.")
    n = check_int("n", n, 1, " (how many images to pick)")
    pool = n * 10 if pool is None else check_int("pool", pool, 1)
    set_ = check_name(set_, "label set")
    ids, classes, probs = distribution(catalog, folder, set_)
    score = uncertainty(probs, by, classes.index(OTHER) if OTHER in classes else None)
    tops = predicted(classes, probs)
    only, ex = scope.resolve(catalog)
    keep = np.array([i not in ex and (only is None or i in only) for i in ids], bool)
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(-score[idx], kind="stable")][: max(n, pool) if diverse else n]
    if diverse and len(idx) > n:
        idx = _spread(vectors.store(), [ids[i] for i in idx], idx, score, n, seed)
    items = pd.DataFrame(
        {
            "id": [ids[i] for i in idx],
            "score": score[idx].astype(float),
            "prediction": [tops[i] for i in idx],
            "pick": np.arange(1, len(idx) + 1),
        }
    )
    query = {"type": "uncertain", "set": set_, "by": by, "n": n, "diverse": bool(diverse)}
    return items, query | scope.describe()


def _spread(
    store: Any, pids: list[str], idx: np.ndarray, score: np.ndarray, n: int, seed: int
) -> np.ndarray:
    """``n`` of ``idx`` round-robin over k-means clusters of their vectors (the
    clustering of :mod:`.diverse`), so a batch is not n views of one scene."""
    from .diverse import cluster
    from .search import vectors_of_ids

    vecs = vectors_of_ids(store, pids)
    labels, _ = cluster(vecs, n, seed)
    groups = [np.flatnonzero(labels == c) for c in range(int(labels.max()) + 1)]
    groups = [g for g in groups if len(g)]  # members stay in uncertainty order
    groups.sort(key=lambda g: -score[idx[g[0]]])
    picks: list[int] = []
    depth = 0
    while len(picks) < n:
        for g in groups:
            if depth < len(g) and len(picks) < n:
                picks.append(int(g[depth]))
        depth += 1
    # The batch is shown most uncertain first; `pick` keeps the round-robin order.
    return idx[np.array(picks)]


def mistakes(
    vectors: Any,
    catalog: Any,
    folder: Path,
    set_: str,
    predictions: str | None,
    k: int,
    cache_dir: Path | None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows (``id, score, label, suggested, disagreement``) of labelled images by
    how likely their label is wrong: the similarity-weighted share of their ``k``
    nearest labelled neighbours that carry another label, averaged with ``1 -`` the
    probability the ``predictions`` set gives the label."""
    from ._matrix import rows_of, stored_matrix
    from .explore.knn import knn_graph

    k = check_int("k", k, 1, " (neighbours that vote)")
    set_ = check_name(set_, "label set")
    lids, lclasses, lprobs = distribution(catalog, folder, set_)
    label_of = dict(zip(lids, predicted(lclasses, lprobs), strict=True))
    ids, x = rows_of(*stored_matrix(vectors, catalog, folder), label_of)
    given = [label_of[i] for i in ids]
    if len(ids) < 2:
        raise InvalidArgument(f"The label set {set_!r} labels fewer than two embedded images.")
    x = np.asarray(x, np.float32)
    graph = knn_graph(ids, x, k=min(k, len(ids) - 1), cache_dir=cache_dir)
    names, code = np.unique(np.array(given, dtype=object).astype(str), return_inverse=True)
    nb = graph.indices
    w = np.where(nb >= 0, np.clip(graph.sims, 0.0, None), 0.0).astype(np.float64)
    nb_code = np.where(nb >= 0, code[np.clip(nb, 0, None)], -1)
    votes = np.zeros((len(ids), len(names)))
    for j in range(nb.shape[1]):
        np.add.at(
            votes,
            (np.arange(len(ids)), np.clip(nb_code[:, j], 0, None)),
            w[:, j] * (nb_code[:, j] >= 0),
        )
    total = np.maximum(votes.sum(axis=1), 1e-12)
    disagree = 1.0 - votes[np.arange(len(ids)), code] / total
    score = disagree.copy()
    items = {
        "id": ids,
        "label": given,
        "suggested": list(names[votes.argmax(axis=1)]),
        "disagreement": disagree,
    }
    if predictions is not None:
        pids, pclasses, pprobs = distribution(catalog, folder, check_name(predictions, "label set"))
        row = {p: r for r, p in enumerate(pids)}
        col = {c: j for j, c in enumerate(pclasses)}
        p_given = np.array(
            [
                pprobs[row[i], col[g]]
                if i in row and g in col
                else (np.nan if i not in row else 0.0)
                for i, g in zip(ids, given, strict=True)
            ]
        )
        doubt = np.where(np.isnan(p_given), disagree, 1.0 - p_given)
        score = (disagree + doubt) / 2
        items["prediction_doubt"] = doubt
    items["score"] = score
    query = {"type": "mistakes", "set": set_, "predictions": predictions, "k": k}
    return pd.DataFrame(items), query
