"""Image-quality signals, computed from an image already decoded for embedding.

Measured on the thumbnail-sized copy of the image (indexing makes it anyway); the numbers are stored in
the catalog next to the image's metadata and serve as filter columns
(``where="blur < 50"``) and as the input of the per-dataset quality issues.

Signals (all floats):

- ``blur``: variance of the 4-neighbour Laplacian of the grey image (0-255 scale) at
  the working size (:data:`WORK_SIDE`, the thumbnail's); low means blurry.
- ``brightness``: mean perceived luminance, 0 (black) to 1 (white).
- ``contrast``: standard deviation of the luminance, 0 to 0.5.
- ``colorfulness``: Hasler and Süsstrunk's colourfulness (0 for a grey image).
- ``entropy``: Shannon entropy of the 256-bin grey histogram, in bits (0 to 8); low
  means little information (a flat or nearly flat image).

:func:`find_issues` turns the signals of one data set (plus width and height) into
issues: ``blurry``, ``dark``, ``bright``, ``low_information``, ``grayscale``,
``odd_size``, ``odd_aspect``, each an outlier of its data set beyond an absolute guard.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .images import THUMB_SIDE, thumbnail_image

#: The signal columns, in the order they are stored.
SIGNALS: tuple[str, ...] = ("blur", "brightness", "contrast", "colorfulness", "entropy")

# Signals are measured on a copy whose longer side is at most this many pixels: the
# cost stays flat for large photos and blur is comparable across image sizes. It is
# the thumbnail's side, and the copy is made as the thumbnail is
# (:func:`~.images.thumbnail_image`): indexing measures the thumbnail it makes anyway.
WORK_SIDE = THUMB_SIDE


def working_image(img: Any) -> Any:
    """``img`` as RGB with the longer side ≤ :data:`WORK_SIDE` (the image itself when
    it is that small already): what the signals are measured on, the same pixels as
    the thumbnail indexing makes."""
    return thumbnail_image(img if img.mode == "RGB" else img.convert("RGB"), WORK_SIDE)


def image_signals(img: Any) -> dict[str, float]:
    """The quality signals of a decoded PIL image (see the module's docstring)."""
    return working_signals(working_image(img))


def working_signals(work: Any) -> dict[str, float]:
    """The quality signals of :func:`working_image`'s copy of an image.

    Few passes over the pixels, each over contiguous memory: grey in one conversion
    (Pillow's, in C), the Laplacian from four shifted slices of it, the histogram by
    ``bincount``, the opponent colour planes straight from the 8-bit channels."""
    if work.mode != "RGB":
        work = work.convert("RGB")
    grey = np.asarray(work.convert("F"))  # 0.299 R + 0.587 G + 0.114 B, float32
    if grey.shape[0] >= 3 and grey.shape[1] >= 3:
        lap = grey[:-2, 1:-1] + grey[2:, 1:-1]
        lap += grey[1:-1, :-2]
        lap += grey[1:-1, 2:]
        lap -= 4.0 * grey[1:-1, 1:-1]
        blur = float(lap.var())
    else:
        blur = 0.0
    r, g, b = (np.asarray(c) for c in work.split())
    rg = np.subtract(r, g, dtype=np.float32)
    yb = np.add(r, g, dtype=np.float32)
    yb *= 0.5
    yb -= b
    colorfulness = np.sqrt(rg.var() + yb.var()) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    # The grey level's integer part (0.299 + 0.587 + 0.114 = 1: never above 255).
    hist = np.bincount(grey.astype(np.uint8).ravel(), minlength=256)
    p = hist[hist > 0] / grey.size
    return {
        "blur": blur,
        "brightness": float(grey.mean()) / 255.0,
        "contrast": float(grey.std()) / 255.0,
        "colorfulness": float(colorfulness),
        "entropy": float(-(p * np.log2(p)).sum()) + 0.0,
    }


# -- issues ------------------------------------------------------------------------------

#: The issues :func:`find_issues` can raise, in the order they are checked.
ISSUES: tuple[str, ...] = (
    "blurry", "dark", "bright", "low_information", "grayscale", "odd_size", "odd_aspect",
)  # fmt: skip

#: Robust z-score (MADs beyond the dataset's median, in the bad direction) from which
#: an image is an outlier of its dataset, per issue.
Z_DEFAULT: dict[str, float] = {
    "blurry": 3.0, "dark": 3.0, "bright": 3.0, "low_information": 3.0,
    "odd_size": 3.0, "odd_aspect": 3.0,
}  # fmt: skip

#: Absolute guards: an outlier is an issue only beyond these values, so that a data set
#: of good images (whose spread is small) raises nothing. ``blur`` at most 100
#: (variance of the Laplacian, 0-255 grey at the working size), ``brightness`` at most
#: 0.2 (dark) or at least 0.9 (bright), ``entropy`` at most 1.75 bits (about three grey
#: levels), ``colorfulness`` at most 2, a side (square root of the area) at least 3
#: times off the dataset's median, an aspect ratio (long side / short side) of 2.5.
GUARDS: dict[str, float] = {
    "blurry": 100.0, "dark": 0.2, "bright": 0.9, "low_information": 1.75,
    "grayscale": 2.0, "odd_size": 3.0, "odd_aspect": 2.5,
}  # fmt: skip

#: The column each issue reports as ``value`` and compares to a threshold given by the
#: user: flagged when below it, or above it for ``bright``, ``odd_size`` (the side's
#: ratio to the median side, either way) and ``odd_aspect`` (long side / short side).
VALUE_OF: dict[str, str] = {
    "blurry": "blur", "dark": "brightness", "bright": "brightness",
    "low_information": "entropy", "grayscale": "colorfulness",
    "odd_size": "size_ratio", "odd_aspect": "aspect",
}  # fmt: skip
_ABOVE = ("bright", "odd_size", "odd_aspect")

# The smallest spread (MAD) counted per issue variable: a dataset of near-identical
# values does not turn a hair's difference into a large z.
_MAD_FLOOR: dict[str, float] = {
    "blurry": 0.05, "dark": 0.01, "bright": 0.01, "low_information": 0.05,
    "grayscale": 0.05, "odd_size": 0.05, "odd_aspect": 0.05,
}  # fmt: skip
#: ``grayscale`` is raised only in a colour data set: median colourfulness at least this.
COLOUR_SET = 10.0
ISSUE_COLUMNS = ["id", "issue", "severity", "value"]


def _robust_z(bad: pd.Series, reference: pd.Series, floor: float) -> pd.Series:
    """(x - median) / (1.4826 MAD) of ``bad`` (higher is worse), median and MAD taken
    over ``reference``; NaN stays NaN."""
    ok = reference.dropna()
    if ok.empty:
        return bad * np.nan
    med = float(ok.median())
    mad = max(float((ok - med).abs().median()), floor)
    return (bad - med) / (1.4826 * mad)


def _variables(frame: pd.DataFrame) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Per issue, the variable whose robust z is taken (higher is worse) and the value
    reported and compared with the guard or a user's threshold."""
    f = frame.astype({c: float for c in (*SIGNALS, "width", "height") if c in frame})
    bad: dict[str, pd.Series] = {}
    value: dict[str, pd.Series] = {}
    if "blur" in f and "contrast" in f:
        # Sharpness relative to the image's own contrast: a dark or washed-out picture
        # has weak edges without being out of focus; a flat one has no edges at all
        # (left to low_information).
        var = (f["contrast"] * 255.0) ** 2
        sharp = (f["blur"] / var).where(var > 1.0)
        bad["blurry"], value["blurry"] = -np.log(sharp + 1e-6), f["blur"]
    if "brightness" in f:
        bad["dark"], value["dark"] = -f["brightness"], f["brightness"]
        bad["bright"], value["bright"] = f["brightness"], f["brightness"]
    if "entropy" in f:
        bad["low_information"], value["low_information"] = -f["entropy"], f["entropy"]
    if "colorfulness" in f:
        # On a log scale: washed-out and dark pictures have little colour too, which
        # would widen the spread that grey ones are measured against.
        bad["grayscale"] = -np.log1p(f["colorfulness"].clip(lower=0))
        value["grayscale"] = f["colorfulness"]
    if "width" in f and "height" in f:
        w, h = f["width"].where(f["width"] > 0), f["height"].where(f["height"] > 0)
        side = np.log(np.sqrt(w * h))
        off = (side - side.median()).abs()
        bad["odd_size"], value["odd_size"] = off, np.exp(side - side.median())
        aspect = np.log(w / h)
        bad["odd_aspect"] = (aspect - aspect.median()).abs()
        value["odd_aspect"] = np.exp(aspect.abs())
    return bad, value


def _beyond(issue: str, v: pd.Series, user: dict[str, float]) -> np.ndarray:
    """Whether each value is past the issue's guard (or the user's threshold)."""
    limit = user.get(issue, GUARDS[issue])
    if issue == "odd_size":  # either way: 3 times the median side, or a third of it
        limit = max(limit, 1.0 / limit) if limit > 0 else np.inf
        past = (v >= limit) | (v <= 1.0 / limit)
    else:
        past = v > limit if issue in _ABOVE else v < limit
    if issue == "grayscale" and issue not in user:
        # Grey is a property of the picture, not of its rank: what depends on the
        # data set is whether grey stands out (a colour set) or is the norm.
        past &= bool(v.median() >= COLOUR_SET)
    return past.fillna(False).to_numpy(bool)


def check_thresholds(thresholds: dict[str, float] | None) -> dict[str, float]:
    """``thresholds`` checked: issue names (or ``"z"``) to finite numbers."""
    out: dict[str, float] = {}
    for k, v in (thresholds or {}).items():
        if k != "z" and k not in ISSUES:
            raise ValueError(
                f"thresholds: unknown issue {k!r}; use one of {', '.join(ISSUES)} or 'z'."
            )
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise ValueError(f"thresholds[{k!r}] must be a finite number (got {v!r}).")
        out[k] = float(v)
    return out


def find_issues(frame: pd.DataFrame, thresholds: dict[str, float] | None = None) -> pd.DataFrame:
    """Quality issues of the images of one data set, from their signals.

    ``frame``: one row per image, indexed by id, with the :data:`SIGNALS` and
    ``width``, ``height`` (missing columns: those issues are not checked). Returns
    ``id, issue, severity, value``, one row per image and issue found, most severe
    first. An image has an issue when it is an outlier of its data set, its robust
    z-score (MADs beyond the median, in the bad direction; median and MAD of the
    typical images, those past no guard) at least :data:`Z_DEFAULT`,
    *and* its value is beyond the absolute guard (:data:`GUARDS`): a data set of good
    images raises nothing. ``grayscale`` needs no z: a grey image is flagged in a
    colour data set (median colourfulness >= :data:`COLOUR_SET`), never in one that
    is all grey (X-rays). ``severity`` is the robust z-score (0 at or below the median).

    ``thresholds`` sets the rule per issue: ``{"blurry": 50}`` flags every image whose
    ``blur`` is below 50 (:data:`VALUE_OF` names each issue's column; ``bright``,
    ``odd_size`` and ``odd_aspect`` are flagged above theirs), whatever the data set;
    ``{"z": 2.5}`` sets the z-score cutoff of every data-set rule.

    >>> find_issues(pd.DataFrame({"brightness": [0.5] * 9 + [0.02]}))  # doctest: +SKIP
      id issue   severity  value
    0  9  dark  32.375556   0.02
    """
    user = check_thresholds(thresholds)
    bad, value = _variables(frame)
    beyond = {issue: _beyond(issue, value[issue], user) for issue in ISSUES if issue in bad}
    # Medians and spreads are those of the typical images, past no guard: in a set with
    # many dark or flat pictures, their entropy would otherwise widen the spread a flat
    # picture is compared with (the MAD breaks down at half the set).
    clean = ~np.logical_or.reduce(list(beyond.values())) if beyond else np.ones(len(frame), bool)
    if clean.sum() < max(5, 0.1 * len(frame)):
        clean = np.ones(len(frame), bool)
    parts = []
    for issue, past in beyond.items():
        z = _robust_z(bad[issue], bad[issue][clean], _MAD_FLOOR[issue])
        hit = past.copy()
        if issue not in user and issue != "grayscale":
            hit &= (z >= user.get("z", Z_DEFAULT[issue])).fillna(False).to_numpy()
        if hit.any():
            v = value[issue]
            parts.append(
                pd.DataFrame(
                    {
                        "id": frame.index[hit].astype(str),
                        "issue": issue,
                        "severity": z[hit].clip(lower=0).fillna(0).to_numpy(float),
                        "value": v[hit].to_numpy(float),
                    }
                )
            )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(ISSUE_COLUMNS, (str, str, float, float), strict=True)})  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["severity", "id"], ascending=[False, True]).reset_index(drop=True)
