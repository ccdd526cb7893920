"""MapView (``aisearch_widgets/widgets/_map.py``): colours and ids, without a browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("jscatter")

import aisearch_widgets as aw
from aisearch_widgets.widgets._map import MapView

from _helpers import make_folder


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
    return np.asarray(view.plot.points)[:, 2]


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


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every comm message any widget publishes (state, updates, custom messages)."""
    import comm

    out: list = []
    real = comm.DummyComm.publish_msg

    def publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        out.append((msg_type, data))
        return real(self, msg_type, data, metadata, buffers, **keys)

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish)
    return out


def test_no_message_of_a_map_with_non_finite_values_holds_nan_or_infinity(sent) -> None:
    import json

    df = _map_df(20)
    df.loc[2, "x"] = np.nan
    df.loc[5, "y"] = np.inf
    df.loc[7, "x"] = -np.inf
    view = MapView(df)
    ids = df["id"].tolist()
    view.widget  # noqa: B018  (built: its state is sent)
    scores = np.linspace(0.1, 0.9, len(ids))
    scores[[1, 4]] = [np.nan, np.inf]
    view.color_by_score(dict(zip(ids, scores, strict=True)))
    view.color_by_score({ids[0]: np.nan})  # no finite score at all
    view.color_by_score({})
    view.color_by_score(None)
    view.plot.selection = np.array([0, 2, 5], dtype=np.uint32)  # a lasso
    view.select_ids(ids[:3])
    assert len(sent) > 5
    for _type, data in sent:
        json.dumps(data, allow_nan=False)  # raises on NaN or Infinity
    # Points that cannot be placed are drawn nowhere near the others' scale: at the
    # data's own edge, and the drawn coordinates are all finite.
    pts = np.asarray(view.plot.points)
    assert np.isfinite(pts).all()


def test_jupyter_scatters_page_wide_reset_is_scoped_to_the_plot() -> None:
    """Opening the map restyled JupyterLab (file-browser rows 24 -> 27.5 px): Tailwind's
    reset in jupyter-scatter's style sheet (``*``, ``html``, ``img, svg``) applied to
    the whole page. The plot is sent a copy whose every layer is scoped to it."""
    import re

    view = MapView(_map_df(5))
    css = view.plot._css
    assert view.plot._anywidget_id != "jscatter.widget.JupyterScatter"  # not the original
    assert "aisw-scatter" in view.plot._dom_classes
    layers = re.findall(r"^@layer [\w-]+ \{\n(.*)$", css, flags=re.M)
    assert len(layers) >= 4 and all(b == "@scope (.aisw-scatter) {" for b in layers)
    assert "line-height: 1.5" in css  # the reset is still there, for the plot
    assert css.count("{") == css.count("}")


def test_clusters_are_labelled_by_their_most_common_tag() -> None:
    df = _map_df(6)
    df["cluster"] = [0, 0, 0, 1, 1, 2]
    ids = df["id"].tolist()
    tags = {ids[0]: ["cat"], ids[1]: ["cat", "dog"], ids[2]: ["dog", "cat"], ids[3]: ["car"]}
    view = MapView(df, labels=tags)
    assert view._data["label"].tolist() == ["cat"] * 3 + ["car", "car", ""]
    assert view.scatter.label()["by"] == "label"
    assert "label" not in MapView(df, labels={})._data


def test_the_view_says_which_method_drew_the_map() -> None:
    from aisearch_widgets.explore.map import compute_map

    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(12, 8)).astype(np.float32)
    ids = [f"{i:040x}" for i in range(12)]
    assert MapView(compute_map(ids, vecs, method="pca")).method == "pca"
    # Fewer than 4 points are always drawn by PCA, whatever was asked for.
    few = compute_map(ids[:3], vecs[:3], method="pca")
    assert few.attrs["method"] == "pca"


def test_the_panel_names_the_method_that_drew_its_map(project_factory, tmp_path) -> None:
    import aisearch_widgets as aw

    from _helpers import make_folder

    root = tmp_path / "imgs"
    make_folder(root, 3, sub=False)
    proj = project_factory("p", root)
    proj.update()
    # UMAP asked for, but 3 images are drawn by PCA: the label says PCA.
    panel = aw.SearchPanel(proj, page_size=8, poll_interval=0, map_method="umap")
    try:
        assert proj.map(method="umap", progress=False).attrs["method"] == "pca"
        panel.show_map()
        assert panel.map_view is not None and panel.map_view.method == "pca"
        assert panel._map_label.value == "3 images, PCA map"
    finally:
        panel.close()


def test_dragging_the_frame_sets_the_plots_height() -> None:
    view = MapView(_map_df(5))
    assert view.scatter.height() == 320
    guard = view.widget.children[1]
    guard.height = 500  # what the frame's resize handle sends
    assert view.scatter.height() == 500 and view.plot.height == 500
    guard.height = 40  # too small to use: ignored
    assert view.scatter.height() == 500


def test_hovering_a_point_sends_its_thumbnail_once_the_cursor_rests() -> None:
    """jupyter-scatter's ``hovering`` (a row) is answered by a thumbnail for our own
    tooltip; a sweep across points sends nothing for the points passed."""
    import time

    asked: list[str] = []

    def thumb(i: str) -> tuple[bytes, str]:
        asked.append(i)
        return b"\xff\xd8jpeg-of-" + i.encode(), f"imgs/{i}.jpg"

    view = MapView(_map_df(5), thumbnail=thumb)
    guard = view.widget.children[1]
    sent: list = []
    guard.send = lambda msg, buffers=None: sent.append((msg, buffers or []))
    assert view.plot.tooltip_enable is False  # ours instead of jupyter-scatter's
    for row in (0, 1, 3):  # the cursor passes two points and rests on the third
        view.plot.hovering = row
    time.sleep(0.5)
    i3 = view.ids[3]
    assert asked == [i3]
    assert sent == [
        ({"type": "hover", "id": i3, "name": f"imgs/{i3}.jpg"}, [b"\xff\xd8jpeg-of-" + i3.encode()])
    ]
    view.plot.hovering = None  # off every point: hidden at once
    assert sent[-1] == ({"type": "hover", "id": None}, [])
    view.plot.hovering = 4
    view.close()  # closing cancels what was about to be sent
    time.sleep(0.3)
    assert asked == [i3]
    # Without thumbnails, jupyter-scatter's own tooltip stays.
    assert MapView(_map_df(5)).plot.tooltip_enable is True


def test_the_panels_map_tooltip_names_the_image_inside_the_project(
    project_factory, tmp_path
) -> None:
    root = tmp_path / "imgs"
    make_folder(root, 4, sub=False)
    proj = project_factory("p", root)
    proj.update()
    panel = aw.SearchPanel(proj, page_size=8, poll_interval=0)
    try:
        panel.show_map()
        pid = panel.map_view.ids[0]
        jpeg, name = panel.map_view._thumbnail(pid)
        assert jpeg[:2] == b"\xff\xd8" and name.startswith("imgs/") and str(tmp_path) not in name
        assert panel.map_view._thumbnail("not-an-id") == (None, "")
        assert "aisw-map-on" in panel._split._dom_classes
        panel.show_map(False)
        assert "aisw-map-on" not in panel._split._dom_classes
    finally:
        panel.close()


def test_a_map_coloured_from_the_start_sends_its_points_once() -> None:
    """Scores given to the constructor colour the first drawing (the points reach the
    browser once); the same scores again send nothing."""
    df = _map_df(20)
    ids = df["id"].tolist()
    scores = dict(zip(ids, np.linspace(0.1, 0.9, len(ids)), strict=True))
    later = MapView(df)
    later.color_by_score(scores)
    view = MapView(df, scores=scores)
    assert view.scatter.color()["by"] == "score"
    assert np.allclose(_drawn_colour_values(view), _drawn_colour_values(later))
    sent: list = []
    view.plot.observe(lambda ch: sent.append(ch["name"]), names=["points"])
    view.color_by_score(scores)
    assert sent == []
    view.color_by_score(None)  # back to clusters: sent
    assert view.scatter.color()["by"] == "cluster"
