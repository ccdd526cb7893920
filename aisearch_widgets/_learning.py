"""The active-learning methods of ``Project``: :class:`LearningViews` checks what a
call needs and hands the work to :mod:`.active` (classification, predictions,
uncertainty, mistakes) or :mod:`._probes` (relevance feedback, saved probes)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._errors import InvalidArgument, check_int, check_real
from ._scope import QueryScope
from .explore.views import ExploreViews

if TYPE_CHECKING:
    from ._probes import Classifiers
    from .collection import Collection


class LearningViews(ExploreViews):
    """Given to ``Project``: uses what :class:`ExploreViews` does, and ``layout``."""

    layout: Any

    def classify(
        self,
        classes: Any,
        set: str = "zero-shot",
        prompts_per_class: str | list[str] | None = None,
        *,
        within: Any = None,
        where: Any = None,
        allow_partial: bool = False,
    ) -> Collection:
        """Zero-shot classification of every image from its stored vector.

        ``classes``: prompts (each one class, named by its text) or ``{name: prompt
        or [prompts]}`` (a prompt ensemble: the mean of its vectors).
        ``prompts_per_class``: templates such as ``["a photo of {}", "a drawing of
        {}"]`` applied to every prompt. Each image gets the class with the highest
        ``softmax(logit_scale * cos)``: the label set ``set`` is replaced by these
        predictions (``confidence`` = probability). Returns a Collection of every
        image (of the scope ``within`` / ``where``, as in :meth:`search`, when given):
        ``score`` (the probability), ``prediction`` and ``margin`` (to the second
        class). One text encoding per prompt; no image is decoded.

        >>> res = proj.classify({"scratch": ["a scratched part", "a part with a scratch"],
        ...                      "clean": "a clean part"})          # doctest: +SKIP
        >>> res.df[["path", "prediction", "score", "margin"]]       # doctest: +SKIP
        """
        from . import active

        self._check_ready(allow_partial)
        args = (classes, set, prompts_per_class, QueryScope(within, where, self.name))
        return self._result(
            *active.classify(self._vectors, self.catalog, self.layout.folder, *args)
        )

    def import_predictions(
        self, source: Any, set: str = "predictions", *, images: Any = None
    ) -> pd.DataFrame:
        """Predictions of your own model into the label set ``set`` (replaced).

        ``source``: a DataFrame, CSV or Parquet file with ``id`` or ``path`` and
        either one column per class (probabilities: the top class is stored with its
        ``confidence``, all of them kept for :meth:`uncertain`) or ``label`` and
        ``probability``; or a COCO JSON of boxes with ``score`` (a results list needs
        ``images=`` the COCO file naming its images and categories). Returns the
        rows that matched no image.

        >>> proj.import_predictions(probs_df, set="model-v3")      # doctest: +SKIP
        >>> proj.import_predictions("results.json", set="det-v2", images="val.json")  # doctest: +SKIP
        """
        from . import active

        self._check_ready(True)
        if isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(".json"):
            return active.import_coco_results(self.catalog, self.layout.folder, source, set, images)
        return active.import_predictions(self.catalog, self.layout.folder, source, set)

    def drop_label_set(self, set: str) -> int:
        """Forget the label set ``set`` (its labels and the class probabilities kept
        beside a prediction set). Returns the number of labels removed.

        >>> proj.drop_label_set("probe")                          # doctest: +SKIP
        """
        from . import active
        from ._labels import check_name

        set_ = check_name(set, "label set")
        removed = self.catalog.remove_labels(set_)
        active.drop_probs(self.layout.folder, set_)
        return removed

    def uncertain(
        self,
        n: int = 50,
        set: str = "predictions",
        by: str = "margin",
        diverse: bool = True,
        exclude: Any = None,
        *,
        pool: int | None = None,
        seed: int = 0,
        within: Any = None,
        where: Any = None,
    ) -> Collection:
        """The ``n`` images whose predictions in ``set`` are least sure, to label next.

        ``by``: ``"margin"`` (score ``1 - (p1 - p2)``), ``"entropy"`` or
        ``"least_confident"`` (``1 - p1``). ``diverse=True`` takes the ``pool``
        (default ``10 * n``) most uncertain and spreads them over ``n`` k-means
        clusters (round-robin, most uncertain first in each), so a batch is not ``n``
        views of one confusing scene. ``exclude``: e.g. ``proj.labelled(...)``;
        ``within`` / ``where``: a scope, as in :meth:`search`.

        >>> batch = proj.uncertain(20, set="model-v3", exclude=proj.labelled("ok", "bad"))  # doctest: +SKIP
        """
        from . import active

        self._check_ready(True)
        scope = QueryScope(within, where, self.name, exclude=exclude)
        args = (n, set, by, diverse, pool, seed, scope)
        return self._result(
            *active.uncertain(self._vectors, self.catalog, self.layout.folder, *args)
        )

    def mistakes(
        self, set: str = "ground_truth", predictions: str | None = None, *, k: int = 10
    ) -> Collection:
        """Labelled images ranked by how likely their label in ``set`` is wrong:
        ``disagreement`` (the similarity-weighted share of the ``k`` nearest labelled
        images with another label; ``suggested`` is their vote), averaged with
        ``prediction_doubt`` (``1 -`` the probability the set ``predictions`` gives
        the label) when given.

        >>> proj.mistakes("ground_truth", predictions="model-v3").head(50)   # doctest: +SKIP
        """
        from . import active

        self._check_ready(True)
        k = check_int("k", k, 1, " (neighbours that vote)")
        # Not the map's graph: the labelled images have a kNN graph of their own.
        cache = self.layout.explore(self._vectors.identity) / "labelled"
        args = (set, predictions, k, cache)
        return self._result(
            *active.mistakes(self._vectors, self.catalog, self.layout.folder, *args)
        )

    def refine(
        self,
        positives: Any = None,
        negatives: Any = None,
        *,
        within: Any = None,
        where: Any = None,
        limit: int = 100,
        prompt: str | None = None,
        C: float = 10.0,
        allow_partial: bool = False,
    ) -> Collection:
        """Relevance feedback: a logistic regression (class-balanced) on the stored
        vectors of ``positives`` and ``negatives`` (ids or Collections), with the
        ``prompt`` as a prior when given, ranks the images of the scope (``within`` /
        ``where``, as in :meth:`search`; default all) by its probability; marked
        images are left out. ``C``: the inverse regularisation of the fit.
        ``res.refine(more_pos, more_neg)`` continues from a result (its marks, prompt,
        scope and limit kept); ``proj.classifiers["name"] = res`` saves the probe.

        >>> res = proj.search("a worn gear", limit=50)                     # doctest: +SKIP
        >>> res = res.refine(positives=ids[:5], negatives=ids[5:10])       # doctest: +SKIP
        >>> res = res.refine(positives=more_good, negatives=more_bad)      # doctest: +SKIP
        """
        from . import _probes

        self._check_ready(allow_partial)
        limit = check_int("limit", limit, 1)
        c = check_real("C", C)
        if not c > 0:
            raise InvalidArgument(f"C must be > 0 (got {C!r}).")
        args = (positives, negatives, QueryScope(within, where, self.name), limit, prompt, c)
        folder = self.layout.folder
        return self._result(*_probes.refine(self._vectors, self.catalog, folder, *args))

    @property
    def classifiers(self) -> Classifiers:
        """Saved probes by name (dict-like; JSON in the project home):
        ``proj.classifiers["worn"] = res`` and, after a sync,
        ``proj.classifiers.apply("worn", limit=50)``."""
        from ._probes import Classifiers

        return Classifiers(self.layout.folder, self._vectors, self.catalog, self._result)
