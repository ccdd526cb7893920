"""``EnablePrompt``: what ``%aisearch FOLDER`` shows while AI Search is not enabled
for a folder: the question, the model (a dropdown of the models known here, the
setting's default first, while the project does not exist yet), what enabling would
take (images found, time at this machine's measured rate, disk: the lab plugin's
estimate, from :mod:`aisearch_widgets._estimate`), and one button. Only that click creates/enables the project; the prompt then
turns into the :class:`SearchPanel`, which shows the progress and unlocks search
when the first pass is done.

Plain ipywidgets (``Label``, ``Dropdown``, ``Button``), which put strings into the page as
text, so a hostile folder name stays a name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as W

from .. import _estimate
from .._errors import AISearchError

QUESTION = "AI Search is not enabled for this folder: enable it?"
QUESTION_FILES = "AI Search is not enabled for these images: enable it?"


class EnablePrompt(W.VBox):
    """Ask before enabling AI Search for ``folder``; on "Enable AI search" create (or
    open) the project with the model in the field and show the search panel.

    ``project`` is an open project that is not enabled yet (its model is fixed), or
    None: then the project ``name`` is created in ``home`` on the click.
    """

    def __init__(
        self,
        folder: str | Path | list[str],
        *,
        name: str,
        home: Path,
        model: str,
        project: Any = None,
        schedule: str | None = "10m",
        limit: int = 100,
    ) -> None:
        self.folder = [str(f) for f in folder] if isinstance(folder, list) else str(folder)
        self.name = name
        self.home = home
        self.project = project
        self.schedule = schedule
        self.limit = limit
        self.panel: Any = None
        files = isinstance(self.folder, list)
        self.question = W.Label(QUESTION_FILES if files else QUESTION)
        self.question.add_class("aisw-enable-question")
        where = (
            f"{len(self.folder)} images in {Path(self.folder[0]).parent}"
            if files
            else f"Folder: {self.folder}"
        )
        self.where = W.Label(f"{where}  ·  project: {name}")
        self.where.add_class("aisw-enable-folder")
        fixed = project is not None
        rows = [] if fixed else _estimate.model_choices(home, model)
        self.model = W.Dropdown(
            options=[(project.model, project.model)]
            if fixed
            else [(_estimate.model_label(r), r["id"]) for r in rows],
            description="Model",
            disabled=fixed,
            tooltip="Fixed when the project was created" if fixed else "The model of the vectors",
            layout=W.Layout(width="520px"),
        )
        self.model.add_class("aisw-enable-model")
        self.estimate = W.VBox([])
        self.estimate.add_class("aisw-enable-estimate")
        self.model.observe(lambda _ch: self.refresh_estimate(), names=["value"])
        self.button = W.Button(description="Enable AI search", button_style="primary")
        self.button.add_class("aisw-enable")
        self.button.on_click(lambda _b: self.enable())
        self.message = W.Label("")
        self.message.add_class("aisw-enable-message")
        super().__init__(
            [
                self.question,
                self.where,
                W.HBox([self.model, self.button]),
                self.estimate,
                self.message,
            ],
            layout=W.Layout(width="100%"),
        )
        self.add_class("aisw-enable-prompt")
        self.refresh_estimate()

    def refresh_estimate(self) -> list[str]:
        """Count the images again and price them with the model chosen: the lines
        shown under the model (bounded: a count stops after 2 s and says "or more")."""
        if isinstance(self.folder, str) and not Path(self.folder).is_dir():
            self.estimate.children = []  # a project named, its folder gone: nothing to count
            return []
        try:
            e = _estimate.estimate_media(self.home, self.folder, self.model.value)
            lines = _estimate.estimate_lines(e)
        except Exception as exc:  # an estimate never stops the prompt
            lines = [f"No estimate: {type(exc).__name__}: {exc}"]
        self.estimate.children = [W.Label(line) for line in lines]
        return lines

    def enable(self) -> Any:
        """What the button does: create/open and enable the project, show the panel."""
        from ..project import Project
        from . import SearchPanel

        self.button.disabled = True
        self.message.value = "Enabling…"
        try:
            if self.project is None:
                self.project = Project(
                    self.name,
                    sources=self.folder,
                    model=(self.model.value or "").strip() or None,
                    home=self.home,
                )
            self.project.enable(schedule=self.schedule)
            self.panel = SearchPanel(self.project, limit=self.limit)
        except AISearchError as exc:
            self.message.value = str(exc)
            self.button.disabled = False
            return None
        self.children = [self.panel]
        return self.panel

    def close(self) -> None:
        if self.panel is not None:
            self.panel.close()
        super().close()
