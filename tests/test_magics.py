from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import aisearch_widgets as aw
from aisearch_widgets.magics import open_panel, status_table
from aisearch_widgets.widgets._enable import QUESTION, EnablePrompt


def _enabled(line: str):
    """``%aisearch line`` and a click on its "Enable AI search": the panel."""
    prompt = open_panel(line)
    assert isinstance(prompt, EnablePrompt)
    panel = prompt.enable()
    assert panel is not None, prompt.message.value
    return panel


def test_aisearch_magic_creates_enables_and_reuses(
    tiny_model: str, images: Path, home: Path
) -> None:
    panel = _enabled(f"{images} --model {tiny_model} --schedule off")
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
    pa = _enabled(f"{a} --model {tiny_model} --schedule off")
    pb = _enabled(f"{b} --model {tiny_model} --schedule off")
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


def test_magic_asks_before_enabling_a_folder(tiny_model: str, images: Path, home: Path) -> None:
    prompt = open_panel(f"{images} --model {tiny_model} --schedule off")
    try:
        assert isinstance(prompt, EnablePrompt)
        assert prompt.question.value == QUESTION and prompt.model.value == tiny_model
        assert not prompt.model.disabled  # the model of a new project can still change
        assert aw.Project.names(home) == []  # nothing is created or enabled before the click
        panel = prompt.enable()
        assert panel is not None and prompt.children == (panel,)
        assert panel.project.enabled and panel.project.model == tiny_model
        panel.project.wait(progress=False)
        assert panel.project.status.done == 12
    finally:
        prompt.close()
        if prompt.project is not None:
            prompt.project.close()


def test_magic_model_of_a_new_project(
    images: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aisearch_widgets.embedder import DEFAULT_MODEL

    monkeypatch.delenv("AISEARCH_MODEL", raising=False)
    assert open_panel(str(images)).model.value == DEFAULT_MODEL
    monkeypatch.setenv("AISEARCH_MODEL", "demo")
    assert open_panel(str(images)).model.value == "demo"
    assert open_panel(f"{images} --model ViT-B-16:x.safetensors").model.value == (
        "ViT-B-16:x.safetensors"
    )


def test_magic_prompt_reports_a_bad_model(images: Path, home: Path) -> None:
    prompt = open_panel(f"{images} --model no-such-arch:nothing")
    assert prompt.enable() is None
    assert "no-such-arch" in prompt.message.value and not prompt.button.disabled
    assert aw.Project.names(home) == []


def test_magic_disabled_project_with_embeddings_opens_the_panel(
    tiny_model: str, images: Path, home: Path
) -> None:
    from aisearch_widgets.widgets import SearchPanel

    with aw.Project("images", sources=str(images), model=tiny_model, home=home) as proj:
        proj.update()
    panel = open_panel(f"{images} --model {tiny_model}")
    try:
        assert isinstance(panel, SearchPanel) and not panel.project.enabled
    finally:
        panel.close()
        panel.project.close()


def test_magic_keeps_the_model_of_an_existing_project(
    tiny_model: str, images: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aw.Project("images", sources=str(images), model=tiny_model, home=home).close()
    prompt = open_panel(f"{images} --model demo")  # the lab's default model setting
    try:
        assert isinstance(prompt, EnablePrompt) and prompt.model.disabled
        assert prompt.model.value == tiny_model
        assert "keeps its model" in capsys.readouterr().out
    finally:
        prompt.project.close()


def test_magic_line_is_not_expanded(tmp_path: Path, home: Path) -> None:
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "aisearch_widgets")
    folder = tmp_path / "x{1+1}$HOME"
    folder.mkdir()
    prompt = ip.run_line_magic("aisearch", f"'{folder}'")
    assert isinstance(prompt, EnablePrompt) and prompt.folder == str(folder)


def test_magic_on_a_selection_of_image_files(tiny_model: str, images: Path, home: Path) -> None:
    files = sorted(p for p in images.rglob("*") if p.is_file())[:3]
    line = " ".join(f"'{f}'" for f in files) + f" --model {tiny_model} --schedule off"
    prompt = open_panel(line)
    try:
        assert isinstance(prompt, EnablePrompt) and prompt.folder == sorted(map(str, files))
        panel = prompt.enable()
        assert panel is not None, prompt.message.value
        panel.project.wait(progress=False)
        assert panel.project.status.total == 3
        assert open_panel(line).project is panel.project  # the same selection: the same project
    finally:
        prompt.close()
        if prompt.project is not None:
            prompt.project.close()


def test_enable_flag_skips_the_prompt_for_image_files(
    tiny_model: str, images: Path, home: Path
) -> None:
    """``--enable`` means the same for a selection of files as for a folder."""
    from aisearch_widgets.widgets import SearchPanel

    files = sorted(p for p in images.rglob("*") if p.is_file())[:2]
    line = " ".join(f"'{f}'" for f in files) + f" --model {tiny_model} --schedule off --enable"
    shown = open_panel(line)
    proj = shown.project
    try:
        assert isinstance(shown, EnablePrompt) and isinstance(shown.panel, SearchPanel)
        assert proj is not None and proj.enabled
        assert list(proj.sources[0].paths) == sorted(map(str, files))
    finally:
        shown.close()
        if proj is not None:
            proj.close()


def test_magic_refuses_a_schedule_out_of_range_before_asking(
    tiny_model: str, images: Path, home: Path
) -> None:
    for bad in ("200000d", "1" * 400):
        with pytest.raises(aw.AISearchError, match=r"out of range.*between 1s and 365d"):
            open_panel(f"{images} --model {tiny_model} --schedule {bad}")
    with pytest.raises(aw.AISearchError, match="Invalid schedule 'soon'"):
        open_panel(f"{images} --schedule soon")
    assert not home.exists() or aw.Project.names(home) == []  # nothing made


def test_load_ext_run_again_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """The plugin's notebook starts with ``%load_ext``: re-running it (or "AI Search…"
    chosen again) must not print IPython's "already loaded … %reload_ext" above the
    panel, and the magics stay registered."""
    from IPython.testing.globalipapp import get_ipython
    from IPython.utils.capture import capture_output

    ip = get_ipython()
    for _ in range(3):
        with capture_output() as out:
            ip.run_cell("%load_ext aisearch_widgets")
        assert "reload_ext" not in out.stdout and "already loaded" not in out.stdout
        assert "aisearch" in ip.magics_manager.magics["line"]


def test_rerun_shows_the_panel_as_it_was(tiny_model: str, images: Path, home: Path) -> None:
    line = f"{images} --model {tiny_model} --schedule off"
    panel = _enabled(line)
    again = None
    try:
        panel.project.wait(progress=False)
        panel._refresh_status()
        panel.search("a red disc", limit=8)
        panel.above(float(np.median(panel.result.scores)))
        shown = panel.collection.ids
        panel.selected = shown[:2]
        panel.mode = "diverse"  # the prompt tab is kept while another is shown
        panel.diverse(n=5)
        panel.selected = panel.result.ids[:1]
        panel.mode = "prompt"
        again = open_panel(line)  # the cell run again
        assert again is not panel and again.project is panel.project
        assert again.mode == "prompt" and again.controls.prompt == "a red disc"
        assert again.controls.limit == 8 and again.result.ids == panel.result.ids
        assert again.collection.ids == shown and again.selected == shown[:2]
        assert again.threshold == panel.threshold and again.header == panel.header
        again.mode = "diverse"
        assert again.result is not None and len(again.result) == 5
        assert again.selected == panel._tabs["diverse"].selected
    finally:
        if again is not None:
            again.close()
        panel.close()
        panel.project.close()


def test_a_new_panel_keeps_page_and_map_of_the_last(project_factory, tmp_path: Path) -> None:
    from aisearch_widgets.widgets import SearchPanel

    from _helpers import make_folder

    root = tmp_path / "imgs"
    make_folder(root, 20, sub=False)
    proj = project_factory("p", root)
    proj.update()
    first = SearchPanel(proj, page_size=4, poll_interval=0)
    first.search("a blue square", limit=20)
    first.gallery.page = 3
    first.selected = [first.gallery.items[0]["id"]]
    first.show_map(True)
    paths = first.collection.df["path"].tolist()
    first.close()  # closed, as when its notebook was closed: its state is still kept
    second = SearchPanel(proj, page_size=4, poll_interval=0)
    try:
        assert second.gallery.page == 3 and second.selected == first.selected
        assert [i["id"] for i in second.gallery.items] == [i["id"] for i in first.gallery.items]
        assert second.map_view is not None
    finally:
        second.close()
    proj.close()
    with project_factory("p", root) as reopened:  # the same project, opened again
        third = SearchPanel(reopened, page_size=4, poll_interval=0)
        try:
            assert third.controls.prompt == "a blue square" and third.gallery.page == 3
            assert third.result.ids == first.result.ids
            assert third.collection.df["path"].tolist() == paths  # read from the new one
        finally:
            third.close()


def test_enable_flag_skips_the_prompt(tiny_model: str, images: Path, home: Path) -> None:
    from aisearch_widgets.widgets import SearchPanel

    shown = open_panel(f"{images} --model {tiny_model} --schedule off --enable")
    try:
        assert isinstance(shown, EnablePrompt) and isinstance(shown.panel, SearchPanel)
        assert shown.children == (shown.panel,) and shown.project.enabled
    finally:
        shown.close()
        shown.project.close()
