"""Brings an older ``project.json`` up to the current format.

It sits above the embedder and the stores because the 1 -> 2 step asks them: the
model identity comes from the model spec, the vector size from the project's shard.
The home (:mod:`._home`) only reads and writes the file and knows its version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._home import CONFIG_VERSION, config_version
from .embedder import model_dim, model_identity, parse_model_spec
from .store import edge_shard_dim, shard_folder


def upgrade_config(cfg: dict[str, Any], folder: Path) -> bool:
    """Bring a parsed project.json up to :data:`._home.CONFIG_VERSION` in place (the
    caller writes it). Returns whether anything changed.

    1 -> 2: records the model identity (this once, the spec is parsed, which imports
    open_clip) and the vector size, read from the project's shard when it has one,
    else from the model's config (None when neither says: recorded on first embed).

    2 -> 3: ``video_fps`` (1.0, the default rate) when the file does not say.
    """
    if config_version(cfg) >= CONFIG_VERSION and cfg.get("identity"):
        return False
    if not cfg.get("identity"):
        spec = parse_model_spec(cfg["model"])
        cfg["identity"] = model_identity(spec)
        if cfg.get("dim") is None:
            cfg["dim"] = edge_shard_dim(shard_folder(folder, cfg["identity"])) or model_dim(spec)
    cfg.setdefault("video_fps", 1.0)
    cfg["version"] = CONFIG_VERSION
    return True
