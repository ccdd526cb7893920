"""What the panel shows, per tab: each mode tab keeps its own last result, score
filter and selection (:class:`Tab`), and the result bar's header names what the
gallery shows (:func:`header`), e.g. ``Prompt 'a red circle' · 120 of 500 · above
0.410``. Pure functions of a :class:`~aisearch_widgets.collection.Collection` and the
rows shown, so they are tested without a browser."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..quality import ISSUES
from ._media import clock
from ._protocol import Mode

if TYPE_CHECKING:
    from ..collection import Collection

#: A score filter: ("all" | "above" | "below" | "between", low, high).
Filter = tuple[str, float | None, float | None]
NO_FILTER: Filter = ("all", None, None)

#: The result type each tab's own search makes (``Collection.query["type"]``).
OWN_TYPE = {
    Mode.PROMPT: "prompt",
    Mode.DIVERSE: "diverse",
    Mode.SIMILAR: "similar",
    Mode.DUPLICATES: "duplicates",
    Mode.OUTLIERS: "outliers",
}
_TAB_NAME = {
    Mode.PROMPT: "Prompt",
    Mode.DIVERSE: "Diverse",
    Mode.SIMILAR: "Similar",
    Mode.DUPLICATES: "Duplicates",
    Mode.OUTLIERS: "Outliers",
}


@dataclass
class Tab:
    """One tab's view: its last result (None: nothing yet), what it is called, the
    score filter and the selection."""

    result: Collection | None = None
    title: str = ""
    filter: Filter = NO_FILTER
    selected: list[str] = field(default_factory=list)


def is_own(mode: str, res: Collection) -> bool:
    """Whether ``res`` is the tab's own kind of search (not a saved collection, a
    map selection or another tab's result shown there)."""
    return res.name is None and res.query.get("type") == OWN_TYPE.get(Mode(mode))


def title(res: Collection, names: dict[str, str] | None = None) -> str:
    """What a result is, without its counts: ``Prompt 'a red circle'``, ``Collection
    red-circles``, ``Similar to 3 images``… ``names``: file names of reference ids."""
    q = res.query
    kind = q.get("type")
    if res.name is not None:
        return f"Collection {res.name}"
    if kind == "prompt":
        text = q.get("text")
        text = " + ".join(map(str, text)) if isinstance(text, list) else str(text)
        return f"Prompt {text!r}"
    if kind == "similar":
        refs = q.get("references")
        refs = refs if isinstance(refs, list) else [refs]
        if len(refs) == 1:
            ref = str(refs[0])
            return f"Similar to {(names or {}).get(ref) or os.path.basename(ref)}"
        return f"Similar to {len(refs)} images"
    if kind == "diverse":
        method = {"centroids": "nearest to centroid", "random": "random per cluster"}
        return f"Diverse sample ({method.get(q.get('method'), q.get('method'))})"
    if kind == "duplicates":
        wide = q.get("kind")  # exact, near or similar: how wide the search was
        return f"Duplicates ({wide})" if isinstance(wide, str) and wide else "Duplicates"
    if kind == "outliers":
        return "Outliers"
    if kind == "refine":
        n_pos, n_neg = (
            q.get(k) if isinstance(q.get(k), int) else 0 for k in ("positives", "negatives")
        )
        return f"Refined ({n_pos}👍 {n_neg}👎)"
    if kind == "map":
        return "Map selection"
    if kind == "quality":
        issues = q.get("issues")
        some = isinstance(issues, list) and issues and set(issues) != set(ISSUES)
        shown = ", ".join(map(str, issues)).replace("_", " ") if some else ""
        return f"Quality issues ({shown})" if shown else "Quality issues"
    if kind == "tagged":
        return "Tagged " + ", ".join(map(str, q.get("tags", [])))
    return str(kind or "Result").capitalize()


def header(
    mode: str, tab: Tab, shown: pd.DataFrame, tag: str = "", scope: str = "", label: str = ""
) -> str:
    """The result bar's header: the tab's title, how many images are shown of how
    many, the scope it was searched in (``scope``: "in 'night' · width ≥ 1024 (340
    images)", "" for the whole project), the score filter and the tag and label
    filters (``tag``, ``label``: the one chosen, "" for none). ``shown``: the rows the
    gallery shows."""
    res = tab.result
    if res is None:
        return f"{_TAB_NAME.get(Mode(mode), mode)}: no results yet"
    n, total = len(shown), len(res)
    if "group" in shown.columns:
        groups = int(shown["group"].nunique())
        count = f"{groups} {'group' if groups == 1 else 'groups'} · {n} images"
        kinds = pd.Series(group_kinds(shown)).value_counts()
        if len(kinds):
            count += " (" + ", ".join(f"{v} {k}" for k, v in kinds.items()) + ")"
    else:
        count = f"{n}" if n == total else f"{n} of {total}"
    if scope:
        count += f" · {scope}"
    kind, lo, hi = tab.filter
    flt = {
        "above": f" · above {lo:.3f}" if lo is not None else "",
        "below": f" · below {hi:.3f}" if hi is not None else "",
        "between": f" · {lo:.3f} – {hi:.3f}" if lo is not None and hi is not None else "",
    }.get(kind, "")
    if tag:
        flt += f" · tagged {tag!r}"
    if label:
        flt += f" · labelled {label!r}"
    return f"{tab.title} · {count}{flt}"


def segments(view: Collection | None, df: pd.DataFrame) -> list[dict[str, Any]]:
    """The time segments of the video frames shown (best first), each with the id
    of its best frame (what a click on the row previews)."""
    if view is None or df.empty or not (df["kind"] == "frame").any():
        return []
    seg = view.segments()
    frames = df[df["kind"] == "frame"]
    best = {(p, t): i for i, p, t in zip(frames["id"], frames["path"], frames["t"], strict=True)}
    return [
        {
            "id": best.get((r.path, r.best_t), ""),
            "name": os.path.basename(r.path),
            "path": r.path,
            "start": clock(r.start),
            "end": clock(r.end),
            "frames": int(r.frames),
            "score": None if pd.isna(r.best_score) else float(r.best_score),
        }
        for r in seg.head(500).itertuples(index=False)
    ]


#: How a copy matches its group's best copy, closest first (``Project.duplicates``
#: results say it per row, in ``match``).
DUP_KINDS = ("exact", "near", "similar")


def dup_kind_column(df: pd.DataFrame) -> str | None:
    """The column of a duplicates view that says how each row matches its group's
    best copy (exact, near, similar), if the result has one. ``Collection.df``'s own
    ``kind`` (image or video frame) is not it."""
    if "group" not in df.columns or df.empty:
        return None
    for col in ("match", "dup_kind", "kind"):
        if col in df.columns:
            vals = set(df[col].dropna().astype(str).unique())
            if vals and vals <= set(DUP_KINDS):
                return col
    return None


def group_kinds(df: pd.DataFrame) -> dict[int, str]:
    """Each group's kind: the loosest match of its copies to the best one (a group of
    byte copies and one re-encoded copy is "near"). Empty without such a column."""
    col = dup_kind_column(df)
    if col is None:
        return {}
    copies = df[~df["best"].astype(bool)] if "best" in df.columns else df
    kind = copies[col].astype(str)
    rank = kind.map({k: i for i, k in enumerate(DUP_KINDS)}).fillna(0)
    rows = pd.DataFrame({"g": copies["group"].to_numpy(), "kind": kind.to_numpy(), "r": rank})
    # The last of the loosest kind of each group, groups in the order they first appear.
    loosest = rows.sort_values("r", kind="stable").drop_duplicates("g", keep="last")
    at = dict(zip(loosest["g"].tolist(), loosest["kind"].tolist(), strict=True))
    return {int(g): at[g] for g in rows["g"].drop_duplicates().tolist()}


def copies(shown: pd.DataFrame, keepers: dict[int, str], group: int | None = None) -> list[str]:
    """Ids of the shown duplicates that are not their group's keeper (the user's
    choice in ``keepers``, else the proposed best copy), of one group or of all."""
    if "group" not in shown.columns:
        return []
    rows = shown if group is None else shown[shown["group"] == group]
    keep = keeper_ids(rows, keepers)
    return rows.loc[~rows["id"].isin(keep), "id"].tolist()


def keeper_ids(shown: pd.DataFrame, keepers: dict[int, str]) -> set[str]:
    """The id kept in each shown group: the user's choice if it is shown, else the
    proposed best copy (else the group's first row)."""
    if shown.empty:
        return set()
    rows = pd.DataFrame(
        {
            "g": shown["group"].to_numpy(),
            "id": shown["id"].to_numpy(object),
            "best": shown["best"].to_numpy().astype(bool),
        }
    )
    first = rows.drop_duplicates("g")
    best = rows[rows["best"]].drop_duplicates("g")
    keep = dict(zip(first["g"].tolist(), first["id"].tolist(), strict=True))
    keep.update(zip(best["g"].tolist(), best["id"].tolist(), strict=True))
    if keepers:
        chosen = rows[rows["id"].isin(set(keepers.values()))]
        for g, i in zip(chosen["g"].tolist(), chosen["id"].tolist(), strict=True):
            if keepers.get(int(g)) == i:
                keep[g] = i
    return set(keep.values())


def describe_report(report: pd.DataFrame, verbs: dict[str, str]) -> tuple[str, str | None]:
    """A file action's report (id, source, target, status, message) as one line, e.g.
    ``Moved 5 to trash · 2 skipped (…)``, and the first error (None if none).
    ``verbs``: status -> how to say it (``{"trashed": "Moved {n} to trash"}``)."""
    counts = report["status"].value_counts().to_dict() if len(report) else {}
    parts = [verbs[s].format(n=counts[s]) for s in verbs if counts.get(s)]
    skipped = report[report["status"] == "skipped"]
    if len(skipped):
        parts.append(f"{len(skipped)} skipped ({_first_reason(skipped)})")
    other = {s: n for s, n in counts.items() if s not in verbs and s not in ("skipped", "error")}
    parts += [f"{n} {s}" for s, n in other.items()]
    bad = report[report["status"] == "error"]
    if len(bad):
        parts.append(f"{len(bad)} failed")
    text = " · ".join(parts) if parts else "Nothing to do"
    first = None
    if len(bad):
        first = f"{_name(bad.iloc[0])}: {bad['message'].iloc[0]}"
    return text, first


def _first_reason(rows: pd.DataFrame) -> str:
    r = rows.iloc[0]
    reason = str(r.get("message") or "no reason given")
    more = f"; {len(rows) - 1} more" if len(rows) > 1 else ""
    return f"{_name(r)}: {reason}{more}"


def _name(row: Any) -> str:
    src = row.get("source") if hasattr(row, "get") else None
    return os.path.basename(str(src)) if src else str(row.get("id", "?"))
