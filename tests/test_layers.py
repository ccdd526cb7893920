"""Imports point one way: the package's module graph has no cycle and keeps to layers.

The graph is read from the source with :mod:`ast`, so it sees every import a module
can run: at module level, inside functions and methods, under ``try``, and
``importlib.import_module("…")`` with a literal name. Imports under
``if TYPE_CHECKING:`` never run: cycles are counted without them, and the layers are
checked once without and once with them.

An import of ``pkg.mod`` counts as an arrow to ``pkg.mod`` alone, not to the
packages above it (whose ``__init__`` Python runs first): otherwise every module would
depend on the package face and the graph would say nothing.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "aisearch_widgets"

# Lowest first. A module may import modules of its own layer or of a lower one; a
# module of a package that is not named falls back to its package's entry.
LAYERS: list[tuple[str, list[str]]] = [
    (
        "leaf utilities",
        [
            "_version",
            "_errors",
            "_quantize",
            "_where",
            "images",
            "_image_header",
            "video",
            "demo.shapes",
            "quality",
            "_prepare",
        ],
    ),
    ("home and sources", ["_home", "_thumbs", "sources", "_names", "_registry"]),
    (
        "catalog and store",
        ["_predsets", "_labels", "_catalog_tables", "_catalog_check", "catalog", "store"],
    ),
    ("embedder", ["embedder"]),
    ("queries", ["_scope", "search", "diverse"]),
    (
        "project files",
        [
            "_fileops",
            "_trash",
            "_recovery",
            "_upgrade",
            "_config",
            "_repair",
            "status",
            "_estimate",
            "_export_yolo",
            "_export_labels",
            "_import_labels",
            "_annotate",
        ],
    ),
    (
        "indexing",
        [
            "_sync_types",
            "_engine",
            "_vectors",
            "_inventory",
            "indexer",
            "_runner",
            "_ray",
            "_reembed",
        ],
    ),
    ("explore and curation", ["explore", "collection", "_saved", "_matrix", "active", "_probes"]),
    ("active learning", ["_learning"]),
    ("project", ["_parts", "project", "_requests"]),
    (
        "front ends",
        [
            "_request_runner",
            "widgets",
            "widgets._sendlab",
            "widgets._paging",
            "widgets._warm",
            "magics",
            "cli",
            "labserver",
            "demo",
            "demo.run",
            "demo.evaluate",
        ],
    ),
    ("package face", ["__init__"]),
]


def _package_parts(path: Path, root: Path) -> list[str]:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return parts


def module_name(path: Path, root: Path = PKG) -> str:
    """``store.base`` for ``store/base.py``, ``store`` for ``store/__init__.py``, and
    ``__init__`` for the package face itself."""
    return ".".join(_package_parts(path, root)) or "__init__"


def _under_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST, type_checking: bool = False) -> Iterable[ast.AST]:
    """Every node, less the bodies of ``if TYPE_CHECKING:`` (its ``else`` stays) unless
    ``type_checking``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if not type_checking and isinstance(node, ast.If) and _under_type_checking(node):
            stack.extend(node.orelse)
            stack.append(node.test)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imports_of(path: Path, root: Path = PKG, type_checking: bool = False) -> dict[str, int]:
    """The package's modules that *path* imports when run (and for the type checker
    too with ``type_checking``): ``{module: first line}``."""
    pkg_name = root.name
    known = {module_name(p, root) for p in root.rglob("*.py")}
    here = _package_parts(path, root)
    is_pkg = path.name == "__init__.py"
    package = here if is_pkg else here[:-1]  # the package that relative imports start in
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: dict[str, int] = {}

    def add(parts: list[str], line: int) -> None:
        name = ".".join(parts) or "__init__"
        if name in known:
            out.setdefault(name, line)

    def absolute(dotted: str) -> list[str] | None:
        parts = dotted.split(".")
        return parts[1:] if parts[0] == pkg_name else None

    for node in _runtime_nodes(tree, type_checking):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = absolute(alias.name)
                if parts is not None:
                    add(parts, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.level - 1 > len(package):
                    continue
                target = base + (node.module.split(".") if node.module else [])
            else:
                found = absolute(node.module or "")
                if found is None:
                    continue
                target = found
            for alias in node.names:
                sub = [*target, alias.name]
                if ".".join(sub) in known:
                    add(sub, node.lineno)  # a submodule: ``from . import catalog``
                else:
                    add(target, node.lineno)  # a name: ``from .store import Hit``
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            name = node.args[0].value
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                base = package[: len(package) - (level - 1)]
                add(base + [p for p in name.lstrip(".").split(".") if p], node.lineno)
            else:
                parts = absolute(name)
                if parts is not None:
                    add(parts, node.lineno)
    out.pop(module_name(path, root), None)
    return out


def import_graph(root: Path = PKG, type_checking: bool = False) -> dict[str, dict[str, int]]:
    """``{module: {imported module: line}}`` for every module of the package."""
    return {
        module_name(p, root): imports_of(p, root, type_checking) for p in sorted(root.rglob("*.py"))
    }


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected sets of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    for start in sorted(graph):
        if start in index:
            continue
        # iterative Tarjan: (node, iterator over its successors)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, succ = work[-1]
            for nxt in succ:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    scc = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        scc.append(top)
                        if top == node:
                            break
                    if len(scc) > 1:
                        found.append(sorted(scc))
    return sorted(found)


def layer_of(module: str, layers: list[tuple[str, list[str]]] = LAYERS) -> int | None:
    """The index of *module*'s layer: its own entry, else its nearest package's."""
    parts = module.split(".")
    while parts:
        name = ".".join(parts)
        for i, (_, members) in enumerate(layers):
            if name in members:
                return i
        parts.pop()
    return None


def layer_breaks(
    graph: dict[str, dict[str, int]], layers: list[tuple[str, list[str]]] = LAYERS
) -> list[str]:
    """``a:line -> b`` for each import that climbs to a higher layer."""
    out = []
    for mod, targets in sorted(graph.items()):
        lo = layer_of(mod, layers)
        for tgt, line in sorted(targets.items()):
            hi = layer_of(tgt, layers)
            if lo is not None and hi is not None and hi > lo:
                out.append(f"{mod}:{line} ({layers[lo][0]}) -> {tgt} ({layers[hi][0]})")
    return out


def _describe(sccs: list[list[str]], graph: dict[str, dict[str, int]]) -> str:
    lines = []
    for scc in sccs:
        members = set(scc)
        lines.append(f"{len(scc)} modules: {', '.join(scc)}")
        for mod in scc:
            for tgt, line in sorted(graph[mod].items()):
                if tgt in members:
                    lines.append(f"    {mod}:{line} -> {tgt}")
    return "\n".join(lines)


GRAPH = import_graph()


# On the tree before the layers were set, this found one strongly connected set of 30
# modules (23 without the package face); the request runner now has a module of its
# own above ``project``, and collections reach their project through a protocol.
def test_the_package_has_no_import_cycle() -> None:
    found = cycles(GRAPH)
    assert not found, "import cycles (strongly connected sets):\n" + _describe(found, GRAPH)


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in GRAPH if layer_of(m) is None)
    assert not missing, f"modules without a layer in LAYERS: {missing}"


def test_imports_point_down_the_layers() -> None:
    found = layer_breaks(GRAPH)
    assert not found, "imports that climb a layer:\n  " + "\n  ".join(found)


# Imports for the type checker alone (``if TYPE_CHECKING:``) run never, but still say
# what a module knows of: they point down the layers too.
@functools.cache
def _type_only_breaks() -> list[str]:
    return [
        b.split(":")[0] + " -> " + b.split(" -> ")[1].split(" ")[0]
        for b in layer_breaks(import_graph(type_checking=True))
    ]


def test_type_only_imports_point_down_the_layers() -> None:
    assert _type_only_breaks() == []


# Where the package is entered: the face (``import aisearch_widgets``), the ``aisearch``
# command, the Jupyter server extension, the documented demo evaluation, and the
# runner the server starts as a process (``python -m aisearch_widgets._request_runner``).
ENTRY_POINTS = ["__init__", "cli", "labserver", "demo.evaluate", "_request_runner"]


def test_every_module_is_used_by_the_package() -> None:
    """A module that no entry point reaches is shipped in the wheel for nothing (test
    helpers belong in ``tests/``)."""
    seen: set[str] = set()
    todo = list(ENTRY_POINTS)
    while todo:
        mod = todo.pop()
        if mod not in seen:
            seen.add(mod)
            todo.extend(GRAPH[mod])
    assert sorted(set(GRAPH) - seen) == []


def test_the_version_has_one_owner() -> None:
    """``__version__`` lives in ``_version.py`` alone: the build reads it from there
    (``pyproject.toml`` declares the version dynamic) and no module imports the package
    face to learn it."""
    import tomllib
    from importlib.metadata import version

    import aisearch_widgets
    from aisearch_widgets._version import __version__

    meta = tomllib.loads((PKG.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["hatch"]["version"]["path"] == "aisearch_widgets/_version.py"
    assert aisearch_widgets.__version__ == __version__ == version("aisearch-widgets")
    users = sorted(m for m, targets in GRAPH.items() if "__init__" in targets)
    assert users == [], f"modules that import the package face: {users}"


def test_the_reader_sees_imports_inside_functions(tmp_path: Path) -> None:
    pkg = tmp_path / "aisearch_widgets"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .a import f\n")
    (pkg / "sub" / "__init__.py").write_text("X = 1\n")
    (pkg / "sub" / "leaf.py").write_text("from .. import a\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from .c import C\n"
        "def f():\n"
        "    from .b import g\n"
        "    return g\n"
    )
    (pkg / "b.py").write_text(
        "import importlib\n"
        "def g():\n"
        "    import aisearch_widgets.sub.leaf\n"
        "    return importlib.import_module('.a', 'aisearch_widgets')\n"
    )
    (pkg / "c.py").write_text("from .sub import X\nfrom . import a\n")
    graph = import_graph(pkg)
    assert set(graph["a"]) == {"b"}  # the TYPE_CHECKING import is left out
    assert set(import_graph(pkg, type_checking=True)["a"]) == {"b", "c"}
    assert set(graph["b"]) == {"a", "sub.leaf"}
    assert set(graph["c"]) == {"sub", "a"}
    assert set(graph["sub.leaf"]) == {"a"}
    assert cycles(graph) == [["a", "b", "sub.leaf"]]
    layers = [("low", ["a", "b"]), ("high", ["c", "sub", "__init__"])]
    assert layer_breaks(graph, layers) == ["b:3 (low) -> sub.leaf (high)"]
