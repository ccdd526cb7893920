"""``aisearch demo``: the offline demo from a fresh install.

Generates the synthetic shapes dataset, embeds it with the bundled demo model (no
network needed), prints a first search, then opens JupyterLab on the quickstart
notebook.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from .._home import resolve_home

NOTEBOOKS = (
    "01-quickstart.ipynb",
    "02-active-learning.ipynb",
    "03-curation.ipynb",
    "04-your-own-data.ipynb",
)


def notebooks_source() -> Path | None:
    """The notebooks shipped in the wheel, or the repository's folder when the
    package is installed in editable mode."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here / "_notebooks", here.parent / "notebooks"):
        if (cand / NOTEBOOKS[0]).exists():
            return cand
    return None


def default_data_folder() -> Path:
    return resolve_home() / "demo-data" / "shapes"


def ensure_dataset(
    folder: str | os.PathLike[str] | None = None, n: int = 2000, seed: int = 7
) -> Path:
    """The demo images (and ``labels.csv``) in ``folder`` (default: in the home),
    generated unless the same dataset is already there."""
    from .shapes import make_dataset

    folder = Path(folder).expanduser() if folder is not None else default_data_folder()
    stamp = folder / "dataset.json"
    want = {"n": n, "seed": seed}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        print(f"Using the demo images in {folder}")
        return folder
    if folder.exists() and any(folder.iterdir()) and not stamp.exists():
        raise SystemExit(
            f"aisearch demo: {folder} exists and is not a demo dataset; pass --folder "
            "to write the demo images somewhere else."
        )
    if folder.exists():
        shutil.rmtree(folder)
    print(f"Generating {n} demo images into {folder} …")
    df = make_dataset(folder, n=n, seed=seed)
    df.to_csv(folder / "labels.csv", index=False)
    stamp.write_text(json.dumps(want))
    return folder


def run_demo(
    folder: str | None = None,
    n: int = 2000,
    seed: int = 7,
    name: str = "shapes-demo",
    lab: bool = True,
    browser: bool = True,
    port: int = 8888,
) -> int:
    from ..project import Project

    home = resolve_home()
    data = ensure_dataset(
        Path(folder).expanduser() if folder else home / "demo-data" / "shapes", n, seed
    )
    with Project(name, sources=str(data), model="demo", home=home) as proj:
        proj.enable(schedule="10m")
        st = proj.wait()
        print(st)
        res = proj.search("a red circle", limit=5)
        print("Top 5 for 'a red circle':")
        for r in res.df.itertuples(index=False):
            print(f"  {r.score:.3f}  {os.path.relpath(r.path, data)}")
    src = notebooks_source()
    if not lab:
        print(f"Project {name!r} is ready (home: {home}).")
        if src is not None:
            print(f"Notebooks: {src}")
        return 0
    if src is None:
        print("aisearch demo: the notebooks are not installed; run with --no-lab.", file=sys.stderr)
        return 1
    work = home / "notebooks"
    work.mkdir(parents=True, exist_ok=True)
    for nb in NOTEBOOKS:  # copies, so that the user's edits never touch the originals
        if (src / nb).exists() and not (work / nb).exists():
            shutil.copy2(src / nb, work / nb)
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print(
            "aisearch demo: JupyterLab is not installed (pip install jupyterlab).", file=sys.stderr
        )
        return 1
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={work}",
        f"--ServerApp.port={port}",
        str(work / NOTEBOOKS[0]),
    ]
    if not browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    env = dict(os.environ, AISEARCH_HOME=str(home))
    print("Starting JupyterLab:", " ".join(cmd))
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover - execve does not return
