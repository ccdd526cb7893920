from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from aisearch_widgets import SourceError
from aisearch_widgets.sources import Known, normalize_sources, plan_sync, point_id, scan

from _helpers import draw, touch_later


def _known_from(scan_result, model: str = "m") -> dict[str, Known]:
    return {
        k: Known(e.size, e.mtime_ns, "embedded", model, None)
        for k, e in scan_result.entries.items()
    }


def test_scan_is_recursive_case_insensitive_and_skips_hidden_and_home(tmp_path: Path) -> None:
    root = tmp_path / "data"
    draw(root / "a.jpg")
    draw(root / "B.JPG", fmt="JPEG")
    draw(root / "deep" / "er" / "c.PNG", fmt="PNG")
    draw(root / ".hidden" / "d.jpg")
    draw(root / "home" / "thumb.jpg")
    (root / "notes.txt").write_text("x")
    srcs = normalize_sources(root)
    found = scan(srcs, skip=[str(root / "home")])
    rels = sorted(k.split("/", 1)[1] for k in found.entries)
    assert rels == ["B.JPG", "a.jpg", "deep/er/c.PNG"]


def test_symlink_loop_is_detected(tmp_path: Path) -> None:
    root = tmp_path / "data"
    draw(root / "sub" / "a.jpg")
    os.symlink(root, root / "sub" / "loop")
    found = scan(normalize_sources(root))
    assert len(found.entries) == 1


def test_point_ids_are_stable_and_distinct() -> None:
    assert point_id("p", "data/a.jpg") == point_id("p", "data/a.jpg")
    assert point_id("p", "data/a.jpg") != point_id("q", "data/a.jpg")
    assert point_id("p", "data/a.jpg") != point_id("p", "data/b.jpg")


def test_sources_from_list_and_dataframe(tmp_path: Path) -> None:
    a = draw(tmp_path / "one" / "a.jpg")
    b = draw(tmp_path / "two" / "a.jpg")
    f = draw(tmp_path / "loose.png", fmt="PNG")
    srcs = normalize_sources([tmp_path / "one", tmp_path / "two", f])
    assert [s.kind for s in srcs] == ["folder", "folder", "files"]
    keys = sorted(scan(srcs).entries)
    assert len(keys) == 3 and len({k.split("/")[0] for k in keys}) == 3  # same name, two roots

    df = pd.DataFrame({"file_path": [str(a), str(b)], "label": [1, 2]})
    srcs = normalize_sources(df, path_column="file_path")
    assert sorted(e.path for e in scan(srcs).entries.values()) == sorted([str(a), str(b)])
    with pytest.raises(SourceError, match="path_column"):
        normalize_sources(df)


def test_bad_sources_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such folder"):
        normalize_sources(tmp_path / "nope")
    with pytest.raises(SourceError):
        normalize_sources([])


def test_plan_add_change_delete_unchanged(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for i in range(4):
        draw(root / f"{i}.jpg", seed=i)
    srcs = normalize_sources(root)
    known = _known_from(scan(srcs))
    draw(root / "new.jpg")
    touch_later(root / "1.jpg")
    (root / "2.jpg").unlink()
    plan = plan_sync(scan(srcs), known, "m")
    assert [e.key.split("/")[-1] for e in plan.add] == ["new.jpg"]
    assert [e.key.split("/")[-1] for e in plan.changed] == ["1.jpg"]
    assert [k.split("/")[-1] for k in plan.delete] == ["2.jpg"]
    assert plan.unchanged == 2
    # A different model re-embeds everything that is unchanged on disk.
    other = plan_sync(scan(srcs), known, "other")
    assert len(other.retry) == 2 and len(other.changed) == 1 and other.unchanged == 0


def test_missing_source_root_is_not_a_deletion(tmp_path: Path) -> None:
    root = tmp_path / "mount"
    draw(root / "a.jpg")
    srcs = normalize_sources(root)
    known = _known_from(scan(srcs))
    os.rename(root, tmp_path / "unmounted")
    result = scan(srcs)
    assert result.errors and not result.entries
    plan = plan_sync(result, known, "m")
    assert plan.delete == []
    assert [k.split("/")[-1] for k in plan.missing] == ["a.jpg"]


def test_emptied_root_or_vanished_subtree_is_missing_a_lone_deletion_is_real(
    tmp_path: Path,
) -> None:
    root = tmp_path / "share"
    for rel in ("a.jpg", "b.jpg", "sub/c.jpg", "sub/deeper/d.jpg"):
        draw(root / rel)
    srcs = normalize_sources(root)
    known = _known_from(scan(srcs))
    os.rename(root / "sub", tmp_path / "elsewhere")
    (root / "a.jpg").unlink()
    plan = plan_sync(scan(srcs), known, "m")
    assert [k.split("/", 1)[1] for k in plan.delete] == ["a.jpg"]  # b.jpg is still there
    assert sorted(k.split("/", 1)[1] for k in plan.missing) == ["sub/c.jpg", "sub/deeper/d.jpg"]

    (root / "b.jpg").unlink()  # the root is empty now: an unmounted mount point
    plan = plan_sync(scan(srcs), known, "m")
    assert plan.delete == [] and len(plan.missing) == 4
    pruned = plan_sync(scan(srcs), known, "m", prune_missing=True)
    assert pruned.missing == [] and len(pruned.delete) == 4


def test_listed_files_are_deleted_only_when_their_folder_lists_other_content(
    tmp_path: Path,
) -> None:
    a = draw(tmp_path / "full" / "a.jpg")
    draw(tmp_path / "full" / "other.jpg")
    b = draw(tmp_path / "mount" / "b.jpg")
    srcs = normalize_sources([a, b])
    known = _known_from(scan(srcs))
    a.unlink()
    b.unlink()
    plan = plan_sync(scan(srcs), known, "m")
    assert plan.delete == [f"files/{a}"] and plan.missing == [f"files/{b}"]
    # A source removed from the project on purpose is not "missing".
    plan = plan_sync(scan(normalize_sources(tmp_path / "full")), known, "m")
    assert sorted(plan.delete) == sorted(known)


def test_missing_file_back_unchanged_is_restored_without_embedding(tmp_path: Path) -> None:
    root = tmp_path / "data"
    draw(root / "a.jpg")
    draw(root / "b.jpg", seed=1)
    srcs = normalize_sources(root)
    found = scan(srcs)
    known = {
        k: Known(e.size, e.mtime_ns, "missing", "m", "c", prior="embedded")
        for k, e in found.entries.items()
    }
    touch_later(root / "b.jpg")
    plan = plan_sync(scan(srcs), known, "m")
    assert [e.key.split("/")[-1] for e in plan.restore] == ["a.jpg"]
    assert [e.key.split("/")[-1] for e in plan.changed] == ["b.jpg"]
    assert plan.embed == plan.changed and plan.unchanged == 0
    # Missing while failed: back as failed, retried only when asked or changed.
    known = {
        k: Known(v.size, v.mtime_ns, "missing", None, None, "failed") for k, v in known.items()
    }
    plan = plan_sync(scan(srcs), known, "m")
    assert len(plan.restore) == 1 and len(plan.changed) == 1 and not plan.retry


def test_failed_file_changed_on_disk_is_retried(tmp_path: Path) -> None:
    root = tmp_path / "data"
    draw(root / "a.jpg")
    srcs = normalize_sources(root)
    known = {
        k: Known(e.size, e.mtime_ns, "failed", None, None) for k, e in scan(srcs).entries.items()
    }
    assert plan_sync(scan(srcs), known, "m").embed == []
    touch_later(root / "a.jpg")
    assert len(plan_sync(scan(srcs), known, "m").changed) == 1


# -- one physical file, one record ---------------------------------------------------


def test_overlapping_source_folders_are_refused_naming_both(tmp_path: Path) -> None:
    d = tmp_path / "data"
    draw(d / "part-00" / "a.jpg")
    draw(d / "part-01" / "b.jpg")
    with pytest.raises(SourceError, match=r"part-00 is inside .*data.*Pass"):
        normalize_sources([d, d / "part-00"])
    with pytest.raises(SourceError, match="part-00 is inside"):
        normalize_sources([str(d / "part-00"), str(d) + "/"])  # order and spelling
    os.symlink(d, tmp_path / "alias")
    with pytest.raises(SourceError, match=r"same folder.*Pass it once"):
        normalize_sources([d, tmp_path / "alias"])
    # Siblings, and a name that only starts like another root, are fine.
    (tmp_path / "data-2").mkdir()
    srcs = normalize_sources([d / "part-00", d / "part-01", tmp_path / "data-2"])
    assert [s.kind for s in srcs] == ["folder"] * 3


def test_a_file_reached_by_several_paths_is_one_record_at_its_real_path(tmp_path: Path) -> None:
    root = tmp_path / "data"
    original = draw(root / "original.png", fmt="PNG")
    for i in range(6):
        os.symlink(original, root / f"link{i}.png")
    os.symlink(root, tmp_path / "via")  # the same file under another spelling
    srcs = normalize_sources([root, tmp_path / "via" / "original.png", root / "link3.png"])
    found = scan(srcs)
    assert [e.path for e in found.entries.values()] == [str(original)]
    key = next(iter(found.entries))
    assert len(found.aliases) == 8 and set(found.aliases.values()) == {key}
    # Records that an older scan made for the aliases go; the file itself stays.
    known = {k: Known(1, 1, "embedded", "m", None) for k in [key, *found.aliases]}
    plan = plan_sync(found, known, "m")
    assert sorted(plan.delete) == sorted(found.aliases) and not plan.missing


def test_links_to_a_file_outside_the_sources_are_one_record(tmp_path: Path) -> None:
    original = draw(tmp_path / "elsewhere" / "original.png", fmt="PNG")
    root = tmp_path / "links"
    root.mkdir()
    for i in range(6):
        os.symlink(original, root / f"link{i}.png")
    found = scan(normalize_sources(root))
    assert len(found.entries) == 1 and len(found.aliases) == 5
