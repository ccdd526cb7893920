from __future__ import annotations

from pathlib import Path

import pytest

import aisearch_widgets as aw
from aisearch_widgets.magics import open_panel, status_table


def test_aisearch_magic_creates_enables_and_reuses(
    tiny_model: str, images: Path, home: Path
) -> None:
    panel = open_panel(f"{images} --model {tiny_model} --schedule off")
    try:
        proj = panel.project
        assert proj.name == "images" and proj.enabled
        proj.wait(progress=False)
        assert proj.status.done == 12
        again = open_panel("images")  # by project name: the open project is reused
        assert again.project is proj
        again.close()
        table = status_table(str(home))
        row = table.set_index("project").loc["images"]
        assert (row["done"], row["total"], row["open in"]) == (12, 12, "this kernel")
    finally:
        panel.close()
        panel.project.close()
    table = status_table(str(home))
    assert table.set_index("project").loc["images", "state"] == "ready"


def test_magic_errors_are_clear(home: Path) -> None:
    with pytest.raises(aw.AISearchError, match="neither a folder nor a project"):
        open_panel("no-such-thing")


def test_extension_registers_magics() -> None:
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "aisearch_widgets")
    assert "aisearch" in ip.magics_manager.magics["line"]
    assert "aisearch_status" in ip.magics_manager.magics["line"]


def test_magic_two_folders_with_one_base_name(tiny_model: str, tmp_path: Path, home: Path) -> None:
    from _helpers import make_folder

    a, b = tmp_path / "a" / "imgs", tmp_path / "b" / "imgs"
    make_folder(a, 3, sub=False)
    make_folder(b, 2, sub=False)
    pa = open_panel(f"{a} --model {tiny_model} --schedule off")
    pb = open_panel(f"{b} --model {tiny_model} --schedule off")
    try:
        assert pa.project is not pb.project and pa.project.name != pb.project.name
        assert pa.project.sources[0].root == str(a)
        assert pb.project.sources[0].root == str(b)
        assert open_panel(str(b)).project is pb.project  # found again, not re-targeted
        with pytest.raises(aw.SourcesChanged):
            open_panel(f"{b} --name {pa.project.name}")
    finally:
        for p in (pa, pb):
            p.close()
            p.project.close()
