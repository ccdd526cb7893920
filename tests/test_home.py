"""The project home: where it is, its lock, and project.json with its versions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import aisearch_widgets as aw
from aisearch_widgets._errors import ProjectCorrupt, ProjectFormatTooNew, ProjectLocked
from aisearch_widgets._home import (
    CONFIG_VERSION,
    LOCK_NAME,
    HomeLock,
    check_name,
    holder_alive,
    parse_interval,
    project_names,
    read_config,
    read_holder,
    resolve_home,
    write_json_atomic,
)
from aisearch_widgets._upgrade import upgrade_config


def test_resolve_home_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AISEARCH_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "given") == tmp_path / "given"
    assert resolve_home(None) == tmp_path / "env"
    assert resolve_home("") == tmp_path / "env"  # an empty --home means "not given"
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert resolve_home("~/projects") == tmp_path / "user" / "projects"
    monkeypatch.setenv("AISEARCH_HOME", "~/env-home")
    assert resolve_home() == tmp_path / "user" / "env-home"
    monkeypatch.delenv("AISEARCH_HOME")
    assert resolve_home().name == "aisearch_widgets"  # the user data dir


def test_every_entry_point_resolves_home_one_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: str, images: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("AISEARCH_HOME", "~/h")
    with aw.Project("p", sources=images, model=tiny_model) as p:
        assert p.home == tmp_path / "user" / "h"
    assert aw.Project.names() == ["p"] == project_names("~/h")
    assert aw.read_status("p").total == 0
    aw.Project.open("p").close()


def test_names(tmp_path: Path) -> None:
    assert project_names(tmp_path / "nothing") == []
    for n in ("b", "a"):
        (tmp_path / n).mkdir()
        (tmp_path / n / "project.json").write_text("{}")
    (tmp_path / "not-a-project").mkdir()
    assert project_names(tmp_path) == ["a", "b"]
    with pytest.raises(aw.AISearchError, match="Invalid project name"):
        check_name("../x")


def test_lock_is_exclusive_and_says_who_holds_it(tmp_path: Path) -> None:
    a = HomeLock(tmp_path, "p")
    a.acquire()
    b = HomeLock(tmp_path, "p")
    with pytest.raises(ProjectLocked, match="open in another process") as ei:
        b.acquire()
    assert ei.value.holder["pid"] == os.getpid()
    a.release()
    b.acquire()  # free again
    b.release()
    assert (tmp_path / "lock").read_text() == ""  # no stale holder after release


def test_the_lock_record_is_read_back_by_one_reader(tmp_path: Path) -> None:
    """What a holder writes is what a status reader and a second opener read."""
    a = HomeLock(tmp_path, "p")
    a.acquire()
    try:
        held = read_holder(tmp_path / LOCK_NAME)
        assert held["pid"] == os.getpid() and holder_alive(held)
        with pytest.raises(ProjectLocked) as ei:
            HomeLock(tmp_path, "p").acquire()
        assert ei.value.holder == held
    finally:
        a.release()
    assert read_holder(tmp_path / LOCK_NAME) == {}  # released: nobody
    (tmp_path / LOCK_NAME).write_text("[" * 4000)  # damaged: hides the holder, no error
    assert read_holder(tmp_path / LOCK_NAME) == {}
    assert not holder_alive({"pid": True}) and not holder_alive({"pid": 2**80})


def test_schedule_parsing() -> None:
    assert parse_interval("10m") == 600 and parse_interval(None) is None
    assert parse_interval("off") is None and parse_interval(90) == 90
    with pytest.raises(aw.AISearchError, match="Invalid schedule"):
        parse_interval("soon")


def _v1(model: str, root: Path) -> dict:
    return {
        "version": 1,
        "name": "p",
        "sources": [{"kind": "folder", "label": "images", "root": str(root)}],
        "model": model,
        "enabled": False,
        "schedule": None,
        "qdrant_url": None,
        "created_at": 1.0,
    }


def test_read_config_checks_content_and_version(tmp_path: Path, tiny_model: str) -> None:
    path = tmp_path / "project.json"
    path.write_text("{not json")
    with pytest.raises(ProjectCorrupt, match="repair"):
        read_config(path, "p")
    cfg = _v1(tiny_model, tmp_path)
    write_json_atomic(path, cfg)
    assert read_config(path, "p") == cfg  # an older format is read as it is
    write_json_atomic(path, {**cfg, "version": CONFIG_VERSION + 7})
    with pytest.raises(ProjectFormatTooNew) as ei:
        read_config(path, "p")
    msg = str(ei.value)
    assert f"format version {CONFIG_VERSION + 7}" in msg and aw.__version__ in msg
    assert f"up to {CONFIG_VERSION}" in msg and "Upgrade aisearch_widgets" in msg
    assert (ei.value.found, ei.value.supported) == (CONFIG_VERSION + 7, CONFIG_VERSION)


def test_upgrade_config_records_identity_and_dim(tmp_path: Path, tiny_model: str) -> None:
    from aisearch_widgets.embedder import model_identity, parse_model_spec

    cfg = _v1(tiny_model, tmp_path)
    assert upgrade_config(cfg, tmp_path) is True
    assert cfg["version"] == CONFIG_VERSION == 3
    assert cfg["identity"] == model_identity(parse_model_spec(tiny_model))
    assert cfg["dim"] == 32  # the tiny model's embed_dim, from its config file
    assert upgrade_config(cfg, tmp_path) is False  # already current


def test_a_new_project_records_format_identity_and_dim(project_factory, images: Path) -> None:
    p = project_factory("p", images)
    cfg = json.loads((p.folder / "project.json").read_text())
    assert cfg["version"] == CONFIG_VERSION
    assert cfg["identity"] == p.model_identity and cfg["dim"] == 32


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("200000d", "'200000d'"),
        ("1" * 400, "'1111111111"),  # 400 digits: named (cut short), not an overflow
        (10**400, "1000000000"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
        ("366d", "'366d'"),
        ("0.5s", "'0.5s'"),
        (0, "0"),
    ],
)
def test_a_schedule_out_of_range_is_refused_naming_value_and_range(value, shown) -> None:
    with pytest.raises(aw.AISearchError, match="out of range") as ei:
        parse_interval(value)
    msg = str(ei.value)
    assert shown in msg and "between 1s and 365d" in msg and len(msg) < 250


def test_schedule_edges_and_non_schedules() -> None:
    assert parse_interval("365d") == 365 * 86400 and parse_interval("1s") == 1
    assert parse_interval(" 2H ") == 7200 and parse_interval("None") is None
    for bad in (True, "-5", "10 minutes", "--home=/tmp", [1]):
        with pytest.raises(aw.AISearchError, match="Invalid schedule"):
            parse_interval(bad)  # type: ignore[arg-type]
