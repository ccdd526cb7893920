""" "Send to labelling…" in the panel, driven as the front end drives it: the form's
defaults, a Label Studio project made on a real server from exactly the images
selected, the API key kept out of every reply, message, log line and file, and the
errors that leave nothing recorded."""

from __future__ import annotations

import logging
import re
import socket
import time
from pathlib import Path

import pandas as pd
import pytest
from test_widgets import _msg, _replies, _send, _wait_reply

import aisearch_widgets as aw
from aisearch_widgets._annotate import JOBS_FILE
from aisearch_widgets.widgets._sendlab import default_title, split_labels

from _helpers import make_folder, record_sends
from _labelstudio import Server, free_port, tasks

KEY = "panel0secret0key0do0not0keep"


def _panel(project_factory, folder: Path) -> aw.SearchPanel:
    make_folder(folder, 12, sub=False)
    proj = project_factory("p", folder)
    proj.update()
    panel = aw.SearchPanel(proj, page_size=6, poll_interval=0)
    record_sends(panel)
    return panel


def _request(**change) -> dict:
    base = {
        "type": "send_to_labelling",
        "url": "http://127.0.0.1:9",
        "project": "Panel job",
        "labels": "car, truck",
        "kind": "choices",
        "storage": "upload",
        "root": "",
        "api_key": KEY,
        "count": 12,
    }
    return base | change


def _files_holding(folder: Path, secret: str) -> list[Path]:
    return [f for f in folder.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]


@pytest.fixture
def panel(project_factory, tmp_path: Path):
    panel = _panel(project_factory, tmp_path / "imgs")
    yield panel
    panel.close()


@pytest.mark.slow
def test_sends_exactly_the_selection_and_never_keeps_the_key(
    project_factory, label_studio: Server, home: Path, monkeypatch, caplog
) -> None:
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(label_studio.root))
    caplog.set_level(logging.DEBUG)
    panel = _panel(project_factory, label_studio.root / "panel-imgs")
    try:
        proj, a = panel.project, panel.actions
        ids = panel.search("x", limit=12).ids
        rows = [{"id": i, "label": "car"} for i in ids[:2]] + [{"id": ids[3], "label": "truck"}]
        proj.import_labels(pd.DataFrame(rows), set="ground_truth")
        form = _msg(a, type="labelling_form")
        assert form["ok"] and form["url"] == "http://localhost:8080"
        assert form["labels"] == ["car", "truck"] and form["project"] == "p: x"
        assert form["storage"] == "local" and form["root"] == str(label_studio.root)
        assert form["key_from_env"] is False

        chosen = [ids[1], ids[4], ids[7]]
        panel.selected = chosen
        request = _request(
            url=label_studio.url,
            labels=" car, truck ,car,",
            kind="boxes",
            storage="local",
            root=str(label_studio.root),
            api_key=label_studio.token,
            count=3,
        )
        rid = _send(a, **request)
        reply = _wait_reply(a, rid, timeout=120)
        assert reply["ok"], reply
        (job,) = proj.jobs
        assert reply["url"] == job.url and reply["tasks"] == 3 and reply["title"] == "Panel job"
        assert re.fullmatch(rf"{re.escape(label_studio.url)}/projects/\d+/data", reply["url"])
        assert job.labels == ["car", "truck"] and job.kind == "boxes" and job.storage == "local"
        made = tasks(label_studio, job.project_id)
        assert sorted(t["data"]["aisearch_id"] for t in made) == sorted(chosen)

        # The key: in no reply, no message, no log line, no file of the home.
        assert not any(label_studio.token in str(m) for m, _ in a.sent)
        assert label_studio.token not in a.message
        assert label_studio.token not in caplog.text
        assert (proj.folder / JOBS_FILE).exists()
        assert _files_holding(home, label_studio.token) == []
        # The next form starts with what was sent (never the key).
        again = _msg(a, type="labelling_form")
        assert again["url"] == label_studio.url and again["labels"] == ["car", "truck"]
        assert set(again) == {"type", "rid", "ok", *form} - {"error"}
    finally:
        panel.close()


def test_an_unreachable_server_is_a_clear_error_and_nothing_is_recorded(panel, home) -> None:
    a = panel.actions
    panel.search("x", limit=12)
    port = free_port()  # nothing listens there
    reply = _msg(a, **_request(url=f"http://127.0.0.1:{port}"))
    assert reply["ok"] is False
    assert reply["error"].startswith(f"Cannot reach Label Studio at http://127.0.0.1:{port}")
    assert "Is it running, and is the address right" in reply["error"]
    assert a.message == reply["error"] and a.message_kind == "error"
    assert panel.project.jobs == [] and not (panel.project.folder / JOBS_FILE).exists()
    assert KEY not in str(a.sent) and _files_holding(home, KEY) == []


def test_the_form_is_checked_before_any_request(panel, monkeypatch) -> None:
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    a = panel.actions
    panel.search("x", limit=12)
    cases = [
        ({"labels": " , "}, "Labels: name the classes"),
        ({"project": "ab"}, "Project title: 3 to 50 characters"),
        ({"project": "x" * 51}, "Project title: 3 to 50 characters"),
        ({"storage": "local", "root": " "}, "Local files: name Label Studio's document root"),
        ({"api_key": "  "}, "API key: type it"),
        ({"url": "localhost:8080"}, "url must be the address of Label Studio"),
        ({"kind": "polygons"}, "must be one of choices, boxes"),
        ({"count": 5}, "the menu said 5 images"),
    ]
    for change, message in cases:
        reply = _msg(a, **_request(**change))
        assert reply["ok"] is False and message in reply["error"], (change, reply)
        assert KEY not in reply["error"]
    assert panel.project.jobs == []


def test_a_running_job_leaves_the_spinner_and_the_searches_alone(panel) -> None:
    """The job runs on its own worker: searches run and are cancelled meanwhile without
    touching it, and the panel's spinner does not dim the results for it."""
    a, c = panel.actions, panel.controls
    panel.search("x", limit=12)
    with socket.socket() as srv:  # accepts the connection, never answers
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        rid = _send(a, **_request(url=f"http://127.0.0.1:{srv.getsockname()[1]}"))
        time.sleep(0.2)
        assert c.busy is False and c.busy_label == ""
        assert _msg(c, type="search_prompt", prompt="y", limit=5)["ok"]
        assert _msg(c, type="cancel")["ok"] and c.message == "Nothing is running."
        assert _replies(a, rid) == []  # still waiting for the server
    reply = _wait_reply(a, rid, timeout=60)  # the server went: a clear error
    assert reply["ok"] is False and "Label Studio" in reply["error"]
    assert panel.project.jobs == []


def test_default_title_and_labels() -> None:
    assert split_labels(" car, truck ,car,, bus ") == ["car", "truck", "bus"]
    assert default_title("night", None) == "night"
    assert default_title("ab", None) == "ab images"
    long = default_title("p", type("C", (), {"name": "x" * 80, "query": {}})())
    assert len(long) == 50 and long.endswith("…")
