"""MapView (``aisearch_widgets/widgets/_map.py``): colours and ids, without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("jscatter")

from aisearch_widgets.widgets._map import MapView


def _map_df(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"img-{i:03d}.png" for i in range(n)],
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "cluster": rng.integers(0, 4, n),
        }
    )


def _drawn_colour_values(view: MapView) -> np.ndarray:
    """The colour component of the points sent to the browser (0-1 for a score)."""
    return np.asarray(view.widget.points)[:, 2]


def test_each_query_is_coloured_over_its_own_score_range() -> None:
    df = _map_df()
    view = MapView(df)
    ids = df["id"].tolist()
    view.color_by_score(dict(zip(ids, np.linspace(0.2, 0.3, len(ids)), strict=True)))
    first = _drawn_colour_values(view)
    assert first.min() == pytest.approx(0.0, abs=1e-6) and first.max() == pytest.approx(
        1.0, abs=1e-6
    )
    # A second query whose scores lie elsewhere: its best id is the top of the scale,
    # its worst the bottom (not measured against the first query's range).
    view.color_by_score(pd.Series(np.linspace(0.8, 0.5, len(ids)), index=ids))
    second = _drawn_colour_values(view)
    assert second[0] == pytest.approx(1.0, abs=1e-6) and second[-1] == pytest.approx(0.0, abs=1e-6)
    assert second.min() >= 0.0 and second.max() <= 1.0


def test_scores_of_unknown_ids_are_ignored_and_unscored_ids_get_the_lowest_colour() -> None:
    df = _map_df(10)
    view = MapView(df)
    view.color_by_score({"img-003.png": 0.9, "img-007.png": 0.4, "nope": 5.0})
    z = _drawn_colour_values(view)
    assert z[3] == pytest.approx(1.0, abs=1e-6) and z[7] == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(np.delete(z, [3, 7]), 0.0, atol=1e-6)


def test_a_map_with_a_repeated_id_is_refused() -> None:
    df = _map_df(5)
    df.loc[4, "id"] = df.loc[1, "id"]
    with pytest.raises(ValueError, match=r"img-001\.png"):
        MapView(df)
