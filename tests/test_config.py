"""Opening a project: sources that cannot silently change, a vectors folder that
went missing, damaged files in the project home and their repair, credentials kept
off disk."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest

import aisearch_widgets as aw
from aisearch_widgets._errors import ProjectCorrupt, SourcesChanged
from aisearch_widgets.cli import main

from _helpers import damage_files_table, make_folder
from _integrity import assert_consistent


def _two_folders(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a" / "imgs", tmp_path / "b" / "imgs"
    make_folder(a, 6, sub=False)
    make_folder(b, 4, colors=("yellow",), sub=False)
    return a, b


# -- sources never change by accident ---------------------------------------------------
def test_reopen_with_other_sources_refuses_and_keeps_everything(
    tiny_model: str, tmp_path: Path, home: Path
) -> None:
    a, b = _two_folders(tmp_path)
    with aw.Project("p", sources=a, model=tiny_model, home=home) as p:
        p.update()
        p.search("x", limit=3).tag("keep")
        p.search("x", limit=2).save("best")
    before = (home / "p" / "project.json").read_text()
    with pytest.raises(SourcesChanged) as info:
        aw.Project("p", sources=b, home=home)
    msg = str(info.value)
    assert str(a) in msg and str(b) in msg
    assert "set_sources" in msg and "replace_sources=True" in msg
    assert isinstance(info.value, aw.ProjectExists)
    assert (home / "p" / "project.json").read_text() == before
    # Same sources (any spelling that resolves to them) open as before.
    with aw.Project("p", sources=str(a) + "/", home=home) as p:
        assert p.status.done == 6 and p.tags == {"keep": 3} and "best" in p.collections


def test_relative_sources_are_stored_absolute_and_checked_per_cwd(
    tiny_model: str, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _b = _two_folders(tmp_path)
    monkeypatch.chdir(tmp_path / "a")
    with aw.Project("p", sources="imgs", model=tiny_model, home=home) as p:
        assert p.sources[0].root == str(a)
    cfg = json.loads((home / "p" / "project.json").read_text())
    assert cfg["sources"][0]["root"] == str(a)
    monkeypatch.chdir(tmp_path / "b")  # the notebook cell re-run from another folder
    with pytest.raises(SourcesChanged):
        aw.Project("p", sources="imgs", home=home)
    with aw.Project("p", sources=a, home=home) as p:
        assert p.sources[0].root == str(a)


def test_changing_sources_explicitly(tiny_model: str, tmp_path: Path, home: Path) -> None:
    a, b = _two_folders(tmp_path)
    with aw.Project("p", sources=a, model=tiny_model, home=home) as p:
        p.update()
        p.set_sources(b)
        assert [s.root for s in p.sources] == [str(b)]
        p.update()
        assert p.status.done == 4
        assert_consistent(p)
    with aw.Project("p", sources=a, home=home, replace_sources=True) as p:
        assert [s.root for s in p.sources] == [str(a)]


def test_cli_index_two_folders_with_one_base_name(
    tiny_model: str, tmp_path: Path, home: Path, capsys
) -> None:
    a, b = _two_folders(tmp_path)
    assert main(["--home", str(home), "index", str(a), "--model", tiny_model, "-q"]) == 0
    assert main(["--home", str(home), "index", str(b), "--model", tiny_model, "-q"]) == 0
    names = aw.Project.names(home)
    assert len(names) == 2 and "imgs" in names
    other = next(n for n in names if n != "imgs")
    assert other.startswith("imgs-")
    capsys.readouterr()
    # Indexing each again finds its own project; nothing was re-targeted.
    assert main(["--home", str(home), "index", str(a), "-q"]) == 0
    assert main(["--home", str(home), "index", str(b), "-q"]) == 0
    out = capsys.readouterr().out
    assert "imgs: 6/6 embedded" in out and f"{other}: 4/4 embedded" in out
    assert aw.Project.names(home) == names
    with aw.Project.open("imgs", home=home) as p:
        assert p.sources[0].root == str(a)
    with aw.Project.open(other, home=home) as p:
        assert p.sources[0].root == str(b)
    # An explicit --name that holds other sources is refused with a clear line.
    assert main(["--home", str(home), "index", str(b), "--name", "imgs", "-q"]) == 1
    assert "replace_sources" in capsys.readouterr().err


# -- a vectors folder that went missing -------------------------------------------------
def test_deleted_vectors_folder_is_noticed_and_rebuilt(
    tiny_model: str, images: Path, home: Path, caplog
) -> None:
    with aw.Project("p", sources=images, model=tiny_model, home=home) as p:
        p.update()
        p.search("x", limit=2).tag("t")
    shutil.rmtree(home / "p" / "vectors")
    with caplog.at_level(logging.WARNING), aw.Project("p", home=home) as p:
        assert "re-embedded" in caplog.text
        st = p.status
        assert (st.done, st.pending, st.total) == (0, 12, 12)  # honest, not 12/12
        with pytest.raises(aw.EmbeddingsNotReady):
            p.search("x")
        p.update()
        assert p.status.done == 12 and len(p.search("x", limit=5)) == 5
        assert p.tags == {"t": 2}
        assert_consistent(p)


def test_vectors_lost_from_the_shard_are_re_embedded(
    tiny_model: str, images: Path, home: Path
) -> None:
    with aw.Project("p", sources=images, model=tiny_model, home=home) as p:
        p.update()
        gone = sorted(p.catalog.all_ids())[:3]
        p.store.delete(gone)
    with aw.Project("p", home=home) as p:
        assert (p.status.done, p.status.pending) == (9, 3)
        p.update()
        assert p.status.done == 12 and set(gone) <= p.store.ids()
        assert_consistent(p)


# -- damaged files in the project home --------------------------------------------------
CORRUPT_CONFIGS = {
    "truncated": lambda t: t[: len(t) // 2],
    "empty": lambda t: "",
    "a list": lambda t: "[1, 2]",
    "no model": lambda t: json.dumps({k: v for k, v in json.loads(t).items() if k != "model"}),
    "model not a text": lambda t: json.dumps({**json.loads(t), "model": 5}),
    "sources a text": lambda t: json.dumps({**json.loads(t), "sources": "/data"}),
    "enabled a text": lambda t: json.dumps({**json.loads(t), "enabled": "yes"}),
    "binary": lambda t: "\udcff",
}


@pytest.mark.parametrize("kind", list(CORRUPT_CONFIGS))
def test_corrupt_project_json_is_a_clear_error_and_repairs(
    kind: str, tiny_model: str, images: Path, home: Path, capsys
) -> None:
    with aw.Project("p", sources=images, model=tiny_model, home=home) as p:
        p.update()
        p.search("x", limit=2).tag("t")
    cfg = home / "p" / "project.json"
    text = CORRUPT_CONFIGS[kind](cfg.read_text())
    cfg.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ProjectCorrupt) as info:
        aw.Project.open("p", home=home)
    assert str(cfg) in str(info.value) and "aisearch repair p" in str(info.value)
    # `aisearch status` says so in one line and goes on with the other projects.
    with aw.Project("q", sources=images, model=tiny_model, home=home):
        pass
    assert main(["--home", str(home), "status"]) == 1
    out, err = capsys.readouterr()
    assert "q: disabled" in out and "p: " in err and "repair" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    # Repair rebuilds it from the copy kept in the catalog.
    assert main(["--home", str(home), "repair", "p"]) == 0
    with aw.Project.open("p", home=home) as p:
        assert p.sources[0].root == str(images) and p.status.done == 12
        assert p.tags == {"t": 2}
    assert list((home / "p").glob("project.json.corrupt-*"))


def test_corrupt_project_json_without_a_copy_says_what_to_write(
    tiny_model: str, images: Path, home: Path
) -> None:
    with aw.Project("p", sources=images, model=tiny_model, home=home) as p:
        p.update()
    with sqlite3.connect(home / "p" / "catalog.sqlite") as db:
        db.execute("DELETE FROM meta WHERE k = 'config'")
    (home / "p" / "project.json").write_text("{")
    with pytest.raises(ProjectCorrupt, match='"model"') as info:
        aw.Project.repair("p", home=home)
    assert str(images) in str(info.value)  # the sources it found in the catalog
    aw.Project.repair("p", home=home, model=tiny_model)
    with aw.Project.open("p", home=home) as p:
        assert p.status.done == 12 and p.sources[0].root == str(images)


def _fill_catalog(tiny_model: str, images: Path, home: Path) -> None:
    with aw.Project("p", sources=images, model=tiny_model, home=home) as p:
        p.update()
        p.search("x", limit=3).tag("keep")
        p.search("x", limit=2).save("best")


def test_garbage_catalog_is_moved_aside_and_rebuilt_loudly(
    tiny_model: str, images: Path, home: Path, capsys
) -> None:
    _fill_catalog(tiny_model, images, home)
    db = home / "p" / "catalog.sqlite"
    db.write_bytes(b"\x00garbage" * 4096)
    with pytest.raises(ProjectCorrupt, match=r"catalog\.sqlite.*aisearch repair p"):
        aw.Project.open("p", home=home)
    assert main(["--home", str(home), "status", "p"]) == 1
    assert "catalog.sqlite" in capsys.readouterr().err
    assert main(["--home", str(home), "repair", "p"]) == 0
    _out, err = capsys.readouterr()
    kept = list((home / "p").glob("catalog.sqlite.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"\x00garbage")
    assert "LOST" in err and str(kept[0]) in err
    with aw.Project.open("p", home=home) as p:
        assert p.status.done == 12 and len(p.search("x", limit=4)) == 4
        assert_consistent(p)


def test_damaged_catalog_salvages_tags_and_collections(
    tiny_model: str, tmp_path: Path, home: Path
) -> None:
    root = tmp_path / "many"
    make_folder(root, 12)
    with aw.Project("p", sources=root, model=tiny_model, home=home) as p:
        p.update()
        p.search("x", limit=3).tag("keep")
        p.search("x", limit=2).save("best")
        ids = set(p.tagged("keep").ids)
    db = home / "p" / "catalog.sqlite"
    damage_files_table(db)  # the files table only
    with pytest.raises(ProjectCorrupt):
        aw.Project.open("p", home=home)
    report = aw.Project.repair("p", home=home)
    assert any("salvaged" in line for line in report)
    with aw.Project.open("p", home=home) as p:
        assert p.status.done == 12
        assert set(p.tagged("keep").ids) == ids and len(p.collections["best"]) == 2
        assert_consistent(p)


def test_truncated_shard_is_a_clear_error_and_repairs(
    tiny_model: str, images: Path, home: Path, capsys
) -> None:
    _fill_catalog(tiny_model, images, home)
    (seg,) = (home / "p" / "vectors").glob("*/segments/*/segment.json")
    seg.write_bytes(seg.read_bytes()[:5])
    with pytest.raises(ProjectCorrupt, match=r"vector shard.*aisearch repair p"):
        aw.Project.open("p", home=home)
    assert main(["--home", str(home), "repair", "p"]) == 0
    assert list((home / "p" / "vectors").glob("*.corrupt-*"))
    with aw.Project.open("p", home=home) as p:
        assert p.status.done == 12 and p.tags == {"keep": 3}
        assert len(p.search("x", limit=4)) == 4
        assert_consistent(p)


# -- credentials ------------------------------------------------------------------------
def test_credentials_never_reach_project_json(
    tiny_model: str, images: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QDRANT_API_KEY", "env-key-123")
    url = "http://alice:s3cret@127.0.0.1:6333/base"
    p = aw.Project("q", sources=images, model=tiny_model, home=home, qdrant_url=url)
    try:
        assert p._vectors.qdrant == url and p._vectors.api_key == "env-key-123"
    finally:
        p.close()
    cfg_path = home / "q" / "project.json"
    text = cfg_path.read_text()
    assert "s3cret" not in text and "alice" not in text and "env-key" not in text
    assert json.loads(text)["qdrant_url"] == "http://127.0.0.1:6333/base"
    assert stat.S_IMODE(os.stat(cfg_path).st_mode) == 0o600
    p = aw.Project("q", home=home, qdrant_api_key="arg-key")
    try:
        assert p._vectors.api_key == "arg-key"
    finally:
        p.close()
    # A config written by an older version is cleaned on open.
    cfg = json.loads(text)
    cfg["qdrant_url"] = url
    cfg_path.write_text(json.dumps(cfg))
    p = aw.Project("q", home=home)
    try:
        assert p._vectors.qdrant == url
    finally:
        p.close()
    assert "s3cret" not in cfg_path.read_text()
    assert "s3cret" not in (home / "q" / "catalog.sqlite").read_bytes().decode("latin-1")


# -- schedules: one range, checked before saving; a bad stored one never stops the indexer
def test_enable_refuses_a_schedule_out_of_range_and_saves_nothing(
    project_factory, images: Path
) -> None:
    p = project_factory("p", images)
    before = (p.folder / "project.json").read_text()
    for bad in ("200000d", "1" * 400, 10**400):
        with pytest.raises(aw.AISearchError, match="between 1s and 365d"):
            p.enable(schedule=bad)
    assert (p.folder / "project.json").read_text() == before
    assert not p.enabled and p.runner.interval is None


def test_schedule_setter_checks_saves_and_applies(project_factory, images: Path) -> None:
    p = project_factory("p", images)
    p.enable(schedule=None)
    p.schedule = "1h"
    assert p.schedule == "1h" and p.runner.interval == 3600
    assert json.loads((p.folder / "project.json").read_text())["schedule"] == "1h"
    with pytest.raises(aw.AISearchError, match="'200000d' is out of range"):
        p.schedule = "200000d"
    assert p.schedule == "1h" and p.runner.interval == 3600
    p.schedule = "off"
    assert p.schedule is None and p.runner.interval is None
    p.wait(progress=False)


def test_a_stored_schedule_out_of_range_is_clamped_and_updates_still_run(
    tiny_model: str, images: Path, home: Path
) -> None:
    """An older version saved "200000d": the indexer thread died of OverflowError and
    every update() waited forever. Now the project opens with a warning, the interval
    is clamped to the range, and updates run."""
    with aw.Project("p", sources=images, model=tiny_model, home=home) as p:
        pass
    path = home / "p" / "project.json"
    cfg = json.loads(path.read_text())
    cfg.update(enabled=True, schedule="200000d")
    path.write_text(json.dumps(cfg))
    with pytest.warns(UserWarning, match="'200000d' is out of range.*every 3.1536e\\+07 s"):
        p = aw.Project.open("p", home=home)
    try:
        assert p.runner.interval == 365 * 86400
        summary = p.update_async().result(timeout=60)  # hung forever before
        assert summary.added == 12 and p.status.done == 12
    finally:
        p.close()
