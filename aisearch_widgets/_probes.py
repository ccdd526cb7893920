"""Relevance feedback: a linear probe (logistic regression) trained on the stored
vectors of the images a user marked relevant and not, and the probes a project
keeps (``proj.classifiers``).

A probe is ``sigmoid(w . x + b)`` over unit image vectors. With a prompt, the
prompt's similarity is one more feature of the fit, so a handful of marks start
from what the text tower knows and the marks decide how much it counts. That
feature is linear in ``x``: it folds into ``w``, and a saved probe is only ``w``,
``b`` and where they came from, in JSON (never a pickle).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InvalidArgument, check_int, show_value
from ._scope import QueryScope

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$")
# Unmarked images drawn as negatives when none are marked (a random image is
# almost never the concept); they weigh a tenth of a marked one.
_BACKGROUND = 200


@dataclass
class Probe:
    """A trained linear classifier over a model's image vectors.

    >>> res = proj.refine(positives=good, negatives=bad, prompt="a worn gear")  # doctest: +SKIP
    >>> probe = res.info["probe"]                                               # doctest: +SKIP
    >>> probe.probability(vecs)                                                 # doctest: +SKIP
    """

    weights: list[float]
    bias: float
    model: str
    prompt: str | None = None
    positives: list[str] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)

    def probability(self, vecs: np.ndarray) -> np.ndarray:
        """``sigmoid(w . x + b)`` of each row (float16 rows read a block at a time)."""
        w = np.asarray(self.weights, np.float32)
        z = np.empty(len(vecs), np.float32)
        for s in range(0, len(vecs), 65_536):
            z[s : s + 65_536] = np.asarray(vecs[s : s + 65_536], np.float32) @ w
        z += np.float32(self.bias)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Probe:
        w = d.get("weights")
        if not isinstance(w, list) or not w or not all(isinstance(v, (int, float)) for v in w):
            raise InvalidArgument("A probe needs a list of numeric 'weights'.")
        return cls(
            weights=[float(v) for v in w],
            bias=float(d.get("bias", 0.0)),
            model=str(d.get("model", "")),
            prompt=d.get("prompt"),
            positives=[str(i) for i in d.get("positives", [])],
            negatives=[str(i) for i in d.get("negatives", [])],
            created_at=float(d.get("created_at", 0.0)),
        )


def check_marks(positives: Any, negatives: Any) -> tuple[list[str], list[str]]:
    def ids(v: Any, what: str) -> list[str]:
        if v is None:
            return []
        if hasattr(v, "ids") and hasattr(v, "df"):
            return list(v.ids)
        if isinstance(v, str):
            return [v]
        if isinstance(v, (list, tuple, set, frozenset, pd.Index, np.ndarray, pd.Series)):
            return [str(i) for i in v]
        raise InvalidArgument(f"{what} must be ids or a Collection (got {show_value(v)}).")

    pos, neg = ids(positives, "positives"), ids(negatives, "negatives")
    both = set(pos) & set(neg)
    if both:
        raise InvalidArgument(f"Marked both relevant and not: {sorted(both)[:5]}.")
    return list(dict.fromkeys(pos)), list(dict.fromkeys(neg))


def train(
    x_pos: np.ndarray,
    x_neg: np.ndarray,
    background: np.ndarray | None,
    prompt_vec: np.ndarray | None,
    c: float,
) -> tuple[np.ndarray, float]:
    """``(w, b)`` of a class-balanced logistic regression on the marked vectors
    (plus ``background`` as light negatives), the prompt's similarity a feature."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    parts = [x_pos, x_neg] + ([background] if background is not None else [])
    x = np.concatenate(parts).astype(np.float64)
    y = np.r_[np.ones(len(x_pos)), np.zeros(len(x) - len(x_pos))]
    weight = np.ones(len(x))
    if background is not None:
        weight[len(x_pos) + len(x_neg) :] = 0.1
    # class balance by hand (sample weights and class_weight do not mix well)
    for cls in (0, 1):
        m = y == cls
        weight[m] *= len(y) / (2 * weight[m].sum())
    feats = x
    mu = sd = 0.0
    if prompt_vec is not None:
        s = x @ prompt_vec.astype(np.float64)
        mu, sd = float(s.mean()), float(s.std()) or 1.0
        feats = np.c_[x, (s - mu) / sd]
    lr = LogisticRegression(C=c, max_iter=2000)
    # One BLAS thread: a few hundred rows gain nothing from more, and on a busy
    # machine oversubscribed threads made a 0.2 s fit take 15 s (measured here).
    with threadpool_limits(1):
        lr.fit(feats, y, sample_weight=weight)
    coef = lr.coef_[0].astype(np.float64)
    w, b = coef[: x.shape[1]].copy(), float(lr.intercept_[0])
    if prompt_vec is not None:  # fold the prompt feature into w
        w += coef[-1] * prompt_vec / sd
        b -= coef[-1] * mu / sd
    return w.astype(np.float32), b


def refine(
    vectors: Any,
    catalog: Any,
    folder: Path,
    positives: Any,
    negatives: Any,
    scope: QueryScope,
    limit: int,
    prompt: str | None,
    c: float,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """Rows, query and info (``probe``, the scope) of a relevance-feedback round."""
    from ._matrix import rows_of, stored_matrix
    from .search import check_ids, vectors_of_ids

    pos, neg = check_marks(positives, negatives)
    if not pos:
        raise InvalidArgument("refine() needs at least one positive (an image that is relevant).")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise InvalidArgument(
            f"prompt must be a non-empty text or None (got {show_value(prompt)})."
        )
    store = vectors.store()
    pos = check_ids(catalog, pos, scope.project)
    neg = check_ids(catalog, neg, scope.project) if neg else []
    x_pos, x_neg = vectors_of_ids(store, pos), vectors_of_ids(store, neg) if neg else None
    only = scope.ids(catalog)
    ids, vecs = rows_of(*stored_matrix(vectors, catalog, folder), only)
    bg = None
    if len(neg) < 3:  # too few negatives to say what the concept is not
        rng = np.random.default_rng(seed)
        marked = set(pos) | set(neg)
        cand = [
            i
            for i in rng.permutation(len(ids))[: _BACKGROUND + len(marked)]
            if ids[i] not in marked
        ]
        bg = np.asarray(vecs[np.sort(cand[:_BACKGROUND])], np.float32) if cand else None
    if x_neg is None:
        x_neg = np.zeros((0, store.dim), np.float32)
    if not len(x_neg) and bg is None:
        raise InvalidArgument("refine() needs negatives: mark a few images that are not relevant.")
    pvec = None if prompt is None else np.asarray(vectors.text.vector(prompt), np.float32)
    w, b = train(x_pos, x_neg, bg, pvec, c)
    probe = Probe(w.tolist(), b, vectors.identity, prompt, pos, neg)
    marked = set(pos) | set(neg)
    p = probe.probability(vecs) if len(vecs) else np.zeros(0)
    order = [i for i in np.argsort(-p, kind="stable") if ids[i] not in marked][:limit]
    items = pd.DataFrame({"id": [ids[i] for i in order], "score": p[order].astype(float)})
    query = {
        "type": "refine",
        "prompt": prompt,
        "positives": len(pos),
        "negatives": len(neg),
        "limit": limit,
        "C": c,
    }
    query |= scope.describe()
    return items, query, {"probe": probe, "scope": (scope.within, scope.where)}


def continue_from(res: Any, positives: Any, negatives: Any) -> dict[str, Any]:
    """The arguments of the next round from a result: the marks so far plus the new
    ones (a mark given again wins over the opposite one before), and the prompt,
    scope, limit and ``C`` of the round before. From a prompt search, its prompt is
    the prior and its result size the limit."""
    pos, neg = check_marks(positives, negatives)
    probe = res.info.get("probe")
    q = res.query
    prompt = (
        probe.prompt if probe is not None else q.get("text") if q.get("type") == "prompt" else None
    )
    if isinstance(prompt, list):
        prompt = " ".join(prompt)
    old_pos = [] if probe is None else [i for i in probe.positives if i not in neg]
    old_neg = [] if probe is None else [i for i in probe.negatives if i not in pos]
    kw: dict[str, Any] = {"positives": [*old_pos, *pos], "negatives": [*old_neg, *neg]}
    kw["prompt"] = prompt
    kw["within"], kw["where"] = res.info.get("scope", (None, None))
    if isinstance(q.get("limit"), int):
        kw["limit"] = q["limit"]
    if q.get("type") == "refine" and isinstance(q.get("C"), (int, float)):
        kw["C"] = q["C"]
    return kw


class Classifiers:
    """The probes a project keeps, by name (dict-like), in ``classifiers/NAME.json``
    of the project home.

    >>> res = proj.refine(positives=good, negatives=bad)          # doctest: +SKIP
    >>> proj.classifiers["worn"] = res          # or a Probe              # doctest: +SKIP
    >>> proj.update()                           # new images arrive       # doctest: +SKIP
    >>> proj.classifiers.apply("worn", limit=50).df                     # doctest: +SKIP
    """

    def __init__(self, folder: Path, vectors: Any, catalog: Any, result: Any) -> None:
        self._root, self._dir = Path(folder), Path(folder) / "classifiers"
        self._vectors, self._catalog, self._result = vectors, catalog, result

    def _path(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidArgument(
                f"Invalid classifier name {show_value(name)}: letters, digits, '._- ' (up to 100)."
            )
        return self._dir / f"{name}.json"

    def __setitem__(self, name: str, value: Any) -> None:
        probe = value.info.get("probe") if hasattr(value, "info") else value
        if not isinstance(probe, Probe):
            raise InvalidArgument("Save a Probe or the result of refine() (it holds one).")
        path = self._path(name)
        self._dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(probe.to_json()), encoding="utf-8")
        os.replace(tmp, path)

    def __getitem__(self, name: str) -> Probe:
        path = self._path(name)
        if not path.exists():
            raise KeyError(f"No classifier {name!r}; saved: {list(self)}.")
        return Probe.from_json(json.loads(path.read_text(encoding="utf-8")))

    def __delitem__(self, name: str) -> None:
        path = self._path(name)
        if not path.exists():
            raise KeyError(name)
        path.unlink()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(p.stem for p in self._dir.glob("*.json")) if self._dir.exists() else [])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(n == name for n in self)

    def __repr__(self) -> str:
        return f"<Classifiers {list(self)}>"

    def apply(self, name: str, limit: int = 100, *, within: Any = None, where: Any = None) -> Any:
        """The images the probe ``name`` finds most likely, now (images added by a
        sync included): a Collection ranked by its probability, of the scope
        ``within`` / ``where`` (as in ``Project.search``) when given."""
        from ._matrix import rows_of, stored_matrix

        limit = check_int("limit", limit, 1)
        probe = self[name]
        if _base(probe.model) != _base(self._vectors.identity):
            raise InvalidArgument(
                f"Classifier {name!r} was trained on vectors of {probe.model!r}; the project "
                f"now has {self._vectors.identity!r}: train it again with refine()."
            )
        if len(probe.weights) != self._vectors.store().dim:
            raise InvalidArgument(
                f"Classifier {name!r} has {len(probe.weights)} weights; the vectors have "
                f"{self._vectors.store().dim} dimensions: train it again with refine()."
            )
        scope = QueryScope(within, where)
        only = scope.ids(self._catalog)
        ids, vecs = rows_of(*stored_matrix(self._vectors, self._catalog, self._root), only)
        p = probe.probability(vecs) if len(vecs) else np.zeros(0)
        order = np.argsort(-p, kind="stable")[:limit]
        items = pd.DataFrame({"id": [ids[i] for i in order], "score": p[order].astype(float)})
        query = {"type": "classifier", "name": name, "limit": limit} | scope.describe()
        return self._result(items, query, {"probe": probe})


def _base(identity: str) -> str:
    """The weights part of a vectors identity: int8 and fp32 vectors of one model
    are close enough for one probe."""
    return identity.split("+")[0]
