"""The ``aisearch`` command: index folders and check projects outside notebooks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._errors import AISearchError


def _project_name(path: Path) -> str:
    import re

    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path.resolve().name).strip("-.") or "images"
    return name[:64]


def cmd_index(args: argparse.Namespace) -> int:
    from .project import Project

    path = Path(args.path).expanduser()
    if not path.exists():
        print(f"aisearch: {path}: no such folder or file", file=sys.stderr)
        return 2
    name = args.name or _project_name(path)
    with Project(name, sources=str(path), model=args.model, home=args.home) as proj:
        summary = proj.update(wait=False)
        proj.wait(progress=not args.quiet)
        s = summary.result()
        st = proj.status
        print(
            f"{name}: {st.done}/{st.total} embedded, {st.failed} failed "
            f"(added {s.added}, changed {s.changed}, deleted {s.deleted}, "
            f"reused {s.reused}) in {s.seconds:.1f} s; model {st.model}"
        )
        if st.failed:
            print(f"failures: see Project.open({name!r}).failures or `aisearch status {name}`")
        if args.enable:
            proj.enable(schedule=args.schedule)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ._home import default_home
    from .project import Project
    from .status import read_status

    home = Path(args.home).expanduser() if args.home else default_home()
    names = [args.name] if args.name else Project.list(home)
    if not names:
        print(f"No projects in {home}.")
        return 0
    for n in names:
        st = read_status(n, home)
        print(st)
        if args.name and args.failures:
            for path, kind, msg in st.failures:
                print(f"  {kind:13s} {path}: {msg}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aisearch", description="Semantic image search (CLIP + Qdrant)."
    )
    p.add_argument(
        "--home", default=None, help="projects folder (default: $AISEARCH_HOME or user data dir)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    pi = sub.add_parser("index", help="embed the images of a folder (creates or updates a project)")
    pi.add_argument("path", help="folder of images")
    pi.add_argument("--name", help="project name (default: the folder's name)")
    pi.add_argument(
        "--model", default=None, help="open_clip 'ARCH:pretrained', a model folder, or 'demo'"
    )
    pi.add_argument("--enable", action="store_true", help="also mark the project enabled")
    pi.add_argument("--schedule", default="10m", help="update schedule when --enable is given")
    pi.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    pi.set_defaults(func=cmd_index)

    ps = sub.add_parser("status", help="show the state of one or all projects")
    ps.add_argument("name", nargs="?")
    ps.add_argument("--failures", action="store_true", help="list the files that failed")
    ps.set_defaults(func=cmd_status)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["AISEARCH_HOME"] = args.home
    try:
        return int(args.func(args) or 0)
    except AISearchError as exc:
        print(f"aisearch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "aisearch: interrupted; finished batches are kept, run again to resume", file=sys.stderr
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
