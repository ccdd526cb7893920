"""The ``aisearch`` command: index folders and check projects outside notebooks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._errors import AISearchError
from ._names import printable, project_name_for


def cmd_index(args: argparse.Namespace) -> int:
    from ._home import parse_interval
    from .project import Project

    if args.enable:
        parse_interval(args.schedule)  # refused before the (long) first pass, not after
    path = Path(args.path).expanduser()
    if not path.exists():
        print(f"aisearch: {printable(path)}: no such folder or file", file=sys.stderr)
        return 2
    if not (path.is_dir() or path.is_file()):  # /dev/null, a FIFO, a socket
        print(
            f"aisearch: {printable(path)}: not a folder or a regular file (a device, pipe "
            "or socket); give a folder of images",
            file=sys.stderr,
        )
        return 2
    name = args.name or project_name_for(path, args.home or None)
    ray = {} if args.ray is None else {"engine": "ray", "ray_address": args.ray or None}
    with Project(name, sources=str(path), model=args.model, home=args.home, **ray) as proj:
        summary = proj.update_async()
        proj.wait(progress=not args.quiet)
        s = summary.result()
        st = proj.status
        print(
            f"{name}: {st.done}/{st.total} embedded, {st.failed} failed "
            f"(added {s.added}, changed {s.changed}, deleted {s.deleted}, "
            f"reused {s.reused}) in {s.seconds:.1f} s; model {printable(st.model)}"
        )
        if st.failed:
            print(f"failures: see Project.open({name!r}).failures or `aisearch status {name}`")
        if args.enable:
            proj.enable(schedule=args.schedule)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ._home import project_names, resolve_home
    from .status import read_status

    home = resolve_home(args.home)
    names = [args.name] if args.name else project_names(home)
    if not names:
        print(f"No projects in {home}.")
        return 0
    rc = 0
    for n in names:
        try:
            st = read_status(n, home)
        except AISearchError as exc:  # one line per broken project; the others still show
            print(f"aisearch: {printable(n)}: {printable(exc)}", file=sys.stderr)
            rc = 1
            continue
        print(printable(st))
        if args.name and args.failures:
            for path, kind, msg in st.failures:
                print(f"  {printable(kind):13s} {printable(path)}: {printable(msg)}")
    return rc


def cmd_repair(args: argparse.Namespace) -> int:
    from .project import Project

    report = Project.repair(args.name, home=args.home, model=args.model, sync=not args.no_sync)
    for line in report:
        loud = line.startswith("WARNING")
        print(printable(line), file=sys.stderr if loud else sys.stdout)
    return 0


def _csv_problem(dest: str) -> str | None:
    """Why ``--csv dest`` cannot be written (checked before searching), or None."""
    if dest == "-":
        return None
    path = Path(dest).expanduser()
    if path.is_dir():
        return "it is a folder"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    return None


def cmd_search(args: argparse.Namespace) -> int:
    from .project import Project

    def csv_error(why: str) -> int:
        print(
            f"aisearch: cannot write the CSV to {printable(args.csv)}: {printable(why)}; give "
            "a file path you can write to (or '-' for the terminal)",
            file=sys.stderr,
        )
        return 2

    if args.csv and (why := _csv_problem(args.csv)):
        return csv_error(why)
    with Project.open(args.project, home=args.home) as proj:
        within = args.within or None  # several --within: their union
        kw = {"tags": args.tag or None, "within": within, "where": args.where}
        res = proj.search(args.prompt, limit=args.limit, **kw)
        df = res.df[["rank", "score", "path", "tags"]]
        if args.csv:
            from .collection import write_csv

            try:
                write_csv(df, sys.stdout if args.csv == "-" else args.csv)
            except OSError as exc:  # /dev/full, a read-only folder, a vanished disk
                return csv_error(exc.strerror or str(exc))
            if args.csv != "-":
                print(f"{len(df)} results written to {printable(args.csv)}")
        else:
            for r in df.itertuples(index=False):
                print(f"{r.rank:5d}  {r.score:.4f}  {printable(r.path)}")
        if args.save:
            res.save(args.save)
            print(f"saved as collection {printable(repr(args.save))}")
    return 0


def cmd_collections(args: argparse.Namespace) -> int:
    from .project import Project

    with Project.open(args.project, home=args.home) as proj:
        if args.show:
            col = proj.collections[args.show]
            for r in col.df.itertuples(index=False):
                print(f"{r.rank:5d}  {r.score:.4f}  {printable(r.path)}")
            return 0
        df = proj.collections.df
        if df.empty:
            print(f"{printable(args.project)}: no saved collections")
        for r in df.itertuples(index=False):
            name, query = printable(r.name), printable(r.query or "")
            print(f"{name}\t{r.size} images\t{query}\t{r.created_at:%Y-%m-%d %H:%M}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo.run import run_demo

    if args.n < 1:  # before any folder is made
        print(f"aisearch: demo --n must be at least 1 image (got {args.n})", file=sys.stderr)
        return 2
    return run_demo(
        folder=args.folder,
        n=args.n,
        seed=args.seed,
        name=args.name,
        lab=not args.no_lab,
        browser=not args.no_browser,
        port=args.port,
    )


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
    pi.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="embed on Ray (extra 'ray'): alone, a local Ray; 'auto' or ray://host:port "
        "joins a cluster whose workers see the images at the same paths",
    )
    pi.set_defaults(func=cmd_index)

    pq = sub.add_parser("search", help="search a project by text prompt")
    pq.add_argument("project")
    pq.add_argument("prompt")
    pq.add_argument("--limit", type=int, default=20)
    pq.add_argument("--tag", action="append", help="only images with this tag (repeatable)")
    pq.add_argument(
        "--within",
        action="append",
        help="only images of this saved collection, folder, file or id (repeatable: union)",
    )
    pq.add_argument(
        "--where",
        help="only images whose metadata pass this filter, e.g. \"ext == '.png' and "
        "'defect' in tags\"",
    )
    pq.add_argument("--csv", help="write the results as CSV to this file ('-' for stdout)")
    pq.add_argument("--save", help="save the results as a collection of this name")
    pq.set_defaults(func=cmd_search)

    pc = sub.add_parser("collections", help="list a project's saved collections")
    pc.add_argument("project")
    pc.add_argument("--show", help="list the images of this collection")
    pc.set_defaults(func=cmd_collections)

    pd_ = sub.add_parser("demo", help="offline demo: generate images, embed them, open JupyterLab")
    pd_.add_argument("--folder", help="where to write the demo images (default: in the home)")
    pd_.add_argument("--n", type=int, default=2000, help="number of images")
    pd_.add_argument("--seed", type=int, default=7)
    pd_.add_argument("--name", default="shapes-demo", help="project name")
    pd_.add_argument("--no-lab", action="store_true", help="do not start JupyterLab")
    pd_.add_argument("--no-browser", action="store_true", help="start JupyterLab without a browser")
    pd_.add_argument("--port", type=int, default=8888)
    pd_.set_defaults(func=cmd_demo)

    ps = sub.add_parser("status", help="show the state of one or all projects")
    ps.add_argument("name", nargs="?")
    ps.add_argument("--failures", action="store_true", help="list the files that failed")
    ps.set_defaults(func=cmd_status)

    pr = sub.add_parser(
        "repair",
        help="repair a damaged project (config, catalog or vectors); damaged files are kept aside",
    )
    pr.add_argument("name")
    pr.add_argument("--model", default=None, help="the model, if project.json must be rebuilt")
    pr.add_argument("--no-sync", action="store_true", help="do not re-embed now")
    pr.set_defaults(func=cmd_repair)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.home:
        os.environ["AISEARCH_HOME"] = args.home
    try:
        return int(args.func(args) or 0)
    except AISearchError as exc:
        print(f"aisearch: {printable(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "aisearch: interrupted; finished batches are kept, run again to resume", file=sys.stderr
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
