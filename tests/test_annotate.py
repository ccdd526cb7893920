"""Labelling jobs on a real Label Studio server: ``Collection.annotate`` makes the
project, its storage and one task per image, ``job.progress()`` and ``job.pull()``
read it back, ``proj.jobs`` keeps the job across a restart, and a wrong key or an
unreachable server fails cleanly.

The server is the session's ``label_studio`` fixture (``_labelstudio.py``). Without
a ``label-studio`` executable, these tests are skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aisearch_widgets as aw
from aisearch_widgets._annotate import JOBS_FILE, label_config
from aisearch_widgets._errors import LabellingServerError

from _helpers import draw
from _labelstudio import Server
from _labelstudio import api as _api
from _labelstudio import fetch as _fetch
from _labelstudio import free_port as _free_port
from _labelstudio import tasks as _tasks
from _labelstudio import titles as _titles

SIZES = [(120, 80), (64, 96), (100, 100), (90, 70)]


def _images(folder: Path) -> None:
    for i, (c, size) in enumerate(zip(["red", "green", "blue", "red"], SIZES, strict=True)):
        draw(folder / ("sub" if i == 3 else "") / f"{c}_{i}.png", c, size=size, seed=i)


def _box(label: str, x, y, w, h, size=None) -> dict:
    """A rectangle result as Label Studio's editor saves it (percent of the image)."""
    iw, ih = size or (100, 100)
    r = {
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "value": {
            "x": 100 * x / iw,
            "y": 100 * y / ih,
            "width": 100 * w / iw,
            "height": 100 * h / ih,
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }
    if size is not None:
        r |= {"original_width": iw, "original_height": ih}
    return r


@pytest.mark.slow
def test_boxes_job_local_files_round_trip(
    project_factory, label_studio: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = label_studio.root / "night"
    _images(folder)
    proj = project_factory("ls-boxes", folder)
    proj.update()
    col = proj.search("x", limit=10)
    by_name = {Path(p).name: i for i, p in zip(col.df["id"], col.df["path"], strict=True)}
    paths = dict(zip(col.df["id"], col.df["path"], strict=True))
    pred = pd.DataFrame(
        [(paths[by_name["red_0.png"]], "car", 10.0, 5.0, 40.0, 30.0, 0.8)],
        columns=["path", "label", "x", "y", "w", "h", "confidence"],
    )
    proj.import_labels(pred, set="model-v3")
    job = col.annotate(
        "labelstudio",
        url=label_studio.url,
        api_key=label_studio.token,
        project="Night scenes",
        labels=["car", "truck"],
        kind="boxes",
        storage="local",
        root=label_studio.root,
        predictions="model-v3",
    )
    assert job.url == f"{label_studio.url}/projects/{job.project_id}/data"
    info = _api(label_studio, "GET", f"/api/projects/{job.project_id}")
    assert info["title"] == "Night scenes"
    assert info["label_config"] == label_config(["car", "truck"], "boxes")
    tasks = _tasks(label_studio, job.project_id)
    assert sorted(t["data"]["aisearch_id"] for t in tasks) == sorted(col.ids)
    for t in tasks:  # each task's image is the file itself, served by Label Studio
        assert t["data"]["image"].startswith("/data/local-files/?d=night/")
        data = _fetch(label_studio, t["data"]["image"])
        assert data == Path(paths[t["data"]["aisearch_id"]]).read_bytes()
    with_pred = [t for t in tasks if t["data"]["aisearch_id"] == by_name["red_0.png"]]
    (p,) = _api(label_studio, "GET", f"/api/predictions?task={with_pred[0]['id']}")
    assert p["model_version"] == "model-v3"
    assert p["result"][0]["value"]["x"] == pytest.approx(100 * 10 / 120)
    assert str(job.progress()) == "0/4 labelled"

    task_of = {t["data"]["aisearch_id"]: t["id"] for t in tasks}
    # Two boxes as the editor saves them (original size given), one box without the
    # size (the file's header gives it), one image reviewed with nothing on it.
    _api(
        label_studio,
        "POST",
        f"/api/tasks/{task_of[by_name['red_0.png']]}/annotations",
        {
            "result": [
                _box("car", 10.25, 5.5, 40.0, 30.75, SIZES[0]),
                _box("truck", 70.0, 10.0, 20.5, 60.0, SIZES[0]),
            ]
        },
    )
    _api(
        label_studio,
        "POST",
        f"/api/tasks/{task_of[by_name['green_1.png']]}/annotations",
        {"result": [_box("truck", 3.0, 4.0, 50.0, 80.0)]},  # percent of 100: x/w as given
    )
    _api(
        label_studio,
        "POST",
        f"/api/tasks/{task_of[by_name['blue_2.png']]}/annotations",
        {"result": []},
    )
    prog = job.progress()
    assert (prog.labelled, prog.total, prog.done) == (3, 4, False)
    rep = job.pull()
    assert (rep.set, rep.images, rep.labels) == ("ground_truth", 3, 3)
    assert rep.unmatched.empty
    w1, h1 = SIZES[1]
    mine = proj.labels("ground_truth")
    red = mine[mine["path"] == paths[by_name["red_0.png"]]].sort_values("label")
    assert red[["x", "y", "w", "h"]].to_numpy() == pytest.approx(
        np.array([[10.25, 5.5, 40.0, 30.75], [70.0, 10.0, 20.5, 60.0]]), abs=0.5
    )
    green = mine[mine["path"] == paths[by_name["green_1.png"]]].iloc[0]
    assert [green.x, green.y, green.w, green.h] == pytest.approx(
        [3 * w1 / 100, 4 * h1 / 100, 50 * w1 / 100, 80 * h1 / 100], abs=0.5
    )
    assert sorted(mine["label"]) == ["car", "truck", "truck"]

    # The job outlives the project object: recorded in the home, without the key.
    record = (proj.folder / JOBS_FILE).read_text()
    assert label_studio.token not in record
    name, home = proj.name, proj.home
    proj.close()
    again = aw.Project(name, home=home)
    try:
        (kept,) = again.jobs
        assert (kept.project_id, kept.url, kept.kind) == (job.project_id, job.url, "boxes")
        assert kept.labels == ["car", "truck"] and kept.images == 4
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
        assert kept.progress().labelled == 3
        assert kept.pull(set="second").labels == 3
    finally:
        again.close()


@pytest.mark.slow
def test_choices_job_uploads_the_images(project_factory, label_studio: Server) -> None:
    folder = label_studio.root.parent / "elsewhere"  # not under Label Studio's root
    _images(folder)
    proj = project_factory("ls-choices", folder)
    proj.update()
    col = proj.search("x", limit=10)
    paths = dict(zip(col.df["id"], col.df["path"], strict=True))
    job = col.annotate(
        "labelstudio",
        url=label_studio.url,
        api_key=label_studio.token,
        project="Upload review",
        labels=["day", "night"],
        kind="choices",
        storage="upload",
    )
    tasks = _tasks(label_studio, job.project_id)
    assert len(tasks) == 4
    for t in tasks:
        assert t["data"]["image"].startswith(f"/data/upload/{job.project_id}/")
        data = _fetch(label_studio, t["data"]["image"])
        assert data == Path(paths[t["data"]["aisearch_id"]]).read_bytes()
    first, second = sorted(tasks, key=lambda t: t["id"])[:2]
    for t, choice in ((first, "night"), (second, "day")):
        result = [
            {
                "from_name": "choice",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": [choice]},
            }
        ]
        _api(label_studio, "POST", f"/api/tasks/{t['id']}/annotations", {"result": result})
    rep = job.pull(set="review")
    assert (rep.images, rep.labels) == (2, 2)
    labels = proj.labels("review")
    got = dict(zip(labels["id"], labels["label"], strict=True))
    assert got == {first["data"]["aisearch_id"]: "night", second["data"]["aisearch_id"]: "day"}
    assert labels["x"].isna().all()
    assert [j.project_id for j in proj.jobs] == [job.project_id]
    # A personal access token (a JWT refresh token) works too: exchanged for an
    # access token, sent as Bearer.
    pat = _api(label_studio, "POST", "/api/token/", {})["token"]
    assert pat.count(".") == 2
    (kept,) = proj.jobs
    assert str(kept.progress(api_key=pat)) == "2/4 labelled"


@pytest.mark.slow
def test_wrong_key_unreachable_server_and_a_failed_step(
    project_factory, label_studio: Server, tmp_path: Path
) -> None:
    folder = label_studio.root / "errors"
    _images(folder)
    proj = project_factory("ls-errors", folder)
    proj.update()
    col = proj.search("x", limit=10)
    kw = {"project": "Never made", "labels": ["car"], "kind": "boxes", "storage": "upload"}
    before = _titles(label_studio)
    with pytest.raises(LabellingServerError, match="refused the API key"):
        col.annotate("labelstudio", url=label_studio.url, api_key="wrong-key", **kw)
    port = _free_port()  # nothing listens there
    with pytest.raises(LabellingServerError, match="Cannot reach Label Studio"):
        col.annotate("labelstudio", url=f"http://127.0.0.1:{port}", api_key="k", **kw)
    assert _titles(label_studio) == before
    # A step that fails after the project was made (the images are not under the
    # document root Label Studio was started with): the project is deleted again.
    other = tmp_path / "root"
    _images(other / "imgs")
    proj2 = project_factory("ls-errors-2", other / "imgs")
    proj2.update()
    with pytest.raises(LabellingServerError, match=r"'Half made'.*was deleted"):
        proj2.search("x", limit=10).annotate(
            "labelstudio",
            url=label_studio.url,
            api_key=label_studio.token,
            project="Half made",
            labels=["car"],
            storage="local",
            root=other,
        )
    assert _titles(label_studio) == before
    assert proj.jobs == [] and proj2.jobs == []
    assert not (proj.folder / JOBS_FILE).exists() and not (proj2.folder / JOBS_FILE).exists()


def test_arguments_are_checked_before_any_request(
    project_factory, images: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = project_factory("ls-args", images)
    proj.update()
    col = proj.search("x", limit=5)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    url = "http://127.0.0.1:9"  # would fail to connect: every error below comes first
    base = {"url": url, "project": "Checks", "labels": ["car"], "storage": "upload"}
    cases = [
        ({"api_key": None}, "No API key"),
        ({"api_key": "k", "kind": "polygons"}, "kind must be"),
        ({"api_key": "k", "storage": "s3"}, "storage must be"),
        ({"api_key": "k", "storage": None}, "storage must be"),
        ({"api_key": "k", "labels": "car"}, "list of class names"),
        ({"api_key": "k", "storage": "local"}, "needs root="),
        ({"api_key": "k", "storage": "local", "root": "/nowhere/else"}, "is not under root"),
        ({"api_key": "k", "storage": "local", "root": images}, "directly in the document root"),
        ({"api_key": "k", "predictions": "model-v9"}, "no such label set"),
        ({"api_key": "k", "url": "localhost:8080"}, "url must be"),
    ]
    for change, message in cases:
        with pytest.raises(aw.AISearchError, match=message):
            col.annotate("labelstudio", **(base | change))
    with pytest.raises(aw.AISearchError, match="backend must be"):
        col.annotate("cvat", **base)
    assert proj.jobs == []


def test_label_config_escapes_class_names() -> None:
    cfg = label_config(['a "quoted" & <odd> one', "car"], "choices")
    assert "<Choice value='a \"quoted\" &amp; &lt;odd&gt; one'/>" in cfg
    assert '<Choices name="choice" toName="image"' in cfg
    assert '<RectangleLabels name="label"' in label_config(["car"], "boxes")
