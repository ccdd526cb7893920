"""A score cutoff per query, from the query's own score distribution.

A fixed similarity cutoff does not carry across queries and models, so the cutoff
is read off the scores themselves. Method:

1. With at least :data:`MIN_MIXTURE` scores, a two-component 1-D Gaussian mixture
   is fitted by EM (numpy; started from the split at the largest gap of the upper
   half). The cut is where a score becomes more likely to belong to the upper
   component than to the lower one. It is reported only when the two components are
   well separated: Ashman's D = |mu1 - mu2| * sqrt(2 / (s1^2 + s2^2)) >= :data:`MIN_D`
   (D > 2 is the usual mark of a clean bimodal split), the upper component holds
   at least :data:`MIN_HEAD` scores and is either much tighter than the lower one
   (sd ratio <= :data:`MAX_SD_RATIO`) or far from it (D >= :data:`CLEAR_D`), and the mixture density at the cut is at most
   :data:`MAX_VALLEY` times the lower of its two peaks (a valley, not a plateau).
   The cut is then moved into the widest gap between consecutive scores from the
   lower component's mean + 2 sd (or the crossing, if lower) up to the upper mean:
   a narrow upper component otherwise puts the cut inside the matching results'
   own lower tail.
2. With fewer scores (a handful of results), the largest gap between consecutive
   sorted scores is used when it is at least :data:`MIN_GAP_RATIO` times the median
   gap: the cut is its midpoint.

Otherwise the answer is None: no clear cut (one mode, or too few scores).

>>> suggest_threshold([0.31, 0.30, 0.29, 0.12, 0.11, 0.10, 0.10, 0.09])  # doctest: +SKIP
0.205
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

MIN_MIXTURE = 12
MIN_D = 2.0
MIN_GAP_RATIO = 4.0
MAX_VALLEY = 0.5
MIN_HEAD = 3
MAX_SD_RATIO = 0.25
CLEAR_D = 6.0


def _gap_cut(s: np.ndarray) -> float | None:
    """Midpoint of the largest gap in sorted scores ``s`` when it stands out."""
    if len(s) < 3:
        return None
    gaps = np.diff(s)
    k = int(np.argmax(gaps))
    med = float(np.median(gaps))
    if gaps[k] <= 0 or gaps[k] < MIN_GAP_RATIO * max(med, 1e-9):
        return None
    return float((s[k] + s[k + 1]) / 2)


def _fit(s: np.ndarray, cut: float, iters: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-component EM from the split at ``cut``: ``(weights, means, sds)``."""
    lo, hi = s[s < cut], s[s >= cut]
    spread = max(float(s.std()), 1e-6)
    w = np.array([len(lo), len(hi)], float) / len(s)
    mu = np.array([lo.mean(), hi.mean()])
    sd = np.array(
        [lo.std() if len(lo) > 1 else spread / 10, hi.std() if len(hi) > 1 else spread / 10]
    )
    floor = spread / 100  # no component may collapse on one point
    sd = np.maximum(sd, floor)
    for _ in range(iters):
        z = (s[:, None] - mu) / sd
        logp = np.log(np.maximum(w, 1e-12)) - np.log(sd) - 0.5 * z**2
        logp -= logp.max(axis=1, keepdims=True)
        r = np.exp(logp)
        r /= r.sum(axis=1, keepdims=True)
        nk = r.sum(axis=0) + 1e-12
        new_mu = (r * s[:, None]).sum(axis=0) / nk
        sd = np.maximum(np.sqrt((r * (s[:, None] - new_mu) ** 2).sum(axis=0) / nk), floor)
        w = nk / len(s)
        done = np.allclose(new_mu, mu, atol=1e-7 * spread)
        mu = new_mu
        if done:
            break
    order = np.argsort(mu)
    return w[order], mu[order], sd[order]


def _crossing(w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> float:
    """The score between the two means where both components are equally likely."""
    grid = np.linspace(mu[0], mu[1], 2001)
    z = (grid[:, None] - mu) / sd
    logp = np.log(w) - np.log(sd) - 0.5 * z**2
    above = np.flatnonzero(logp[:, 1] >= logp[:, 0])
    return float(grid[above[0]]) if len(above) else float((mu[0] + mu[1]) / 2)


def suggest_threshold(scores: Iterable[Any]) -> float | None:
    """A cutoff that separates the scores of the results matching a query from the
    background, or None when the scores show no clear cut. See the module text."""
    s = np.sort(np.asarray([float(v) for v in scores], dtype=np.float64))
    s = s[np.isfinite(s)]
    if len(s) < 3 or float(s[-1] - s[0]) <= 0:
        return None
    if len(s) < MIN_MIXTURE:
        return _gap_cut(s)
    upper = s[len(s) // 2 :]
    k = int(np.argmax(np.diff(upper)))
    w, mu, sd = _fit(s, float((upper[k] + upper[k + 1]) / 2))
    d = abs(mu[1] - mu[0]) * np.sqrt(2.0 / (sd[0] ** 2 + sd[1] ** 2))
    # A unimodal sample's extreme tail fits as a small, wide "upper component" of a
    # few points; matching results form a head of several points, tighter than the
    # background (sd ratio <= 0.14 on the demo prompts), or a far-apart mode.
    if d < MIN_D or w[1] * len(s) < MIN_HEAD:
        return None
    if sd[1] > MAX_SD_RATIO * sd[0] and d < CLEAR_D:
        return None
    cut = _crossing(w, mu, sd)
    if not (s[0] < cut <= s[-1]):
        return None
    # A real valley: between the modes the mixture is well below both of its peaks
    # (two Gaussians also fit a flat, unimodal spread with a D above 2).
    dens = _density(np.array([cut, mu[0], mu[1]]), w, mu, sd)
    if dens[0] > MAX_VALLEY * min(dens[1], dens[2]):
        return None
    # The mixture finds the valley but puts the cut where a narrow upper component
    # ends, inside the matching results' own lower tail. The cut goes into the widest
    # gap between consecutive scores from the background's upper edge (its mean +
    # 2 sd, or the crossing if lower) up to the upper mean: no score sits on it.
    lo = min(mu[0] + 2.0 * sd[0], cut)
    i = np.flatnonzero((s[1:] > lo) & (s[:-1] < mu[1]))
    if len(i):
        j = i[int(np.argmax(s[i + 1] - s[i]))]
        cut = float((s[j] + s[j + 1]) / 2)
    return cut


def _density(t: np.ndarray, w: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    z = (t[:, None] - mu) / sd
    return (w / sd * np.exp(-0.5 * z**2)).sum(axis=1)
