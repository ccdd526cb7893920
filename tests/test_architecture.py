"""The layout rules that keep the parts of the package apart, checked on its source.

No module reaches into another module's private names: neither ``from .mod import
_name`` nor ``obj._name`` on anything but ``self``/``cls``. Private *modules*
(``_home.py``, ``_fileops.py`` …) may be imported inside the package; what they
export without an underscore is their interface.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "aisearch_widgets"

# (file relative to the package, attribute): reviewed exceptions. Keep it empty if at
# all possible; every entry says why it cannot be a public name.
ALLOWED: set[tuple[str, str]] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(pkg_dir: Path, name: str) -> bool:
    return (pkg_dir / f"{name}.py").is_file() or (pkg_dir / name / "__init__.py").is_file()


def _package_of(path: Path, level: int) -> Path:
    folder = path.parent
    for _ in range(level - 1):
        folder = folder.parent
    return folder


def private_uses(root: Path = PKG) -> list[str]:
    """``file:line: what`` for every use of another module's private name."""
    out: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if not _private(alias.name):
                        continue
                    if (
                        node.level
                        and node.module is None
                        and _is_module(_package_of(path, node.level), alias.name)
                    ):
                        continue  # a private module of this package
                    out.append(f"{rel}:{node.lineno}: from {node.module} import {alias.name}")
            elif isinstance(node, ast.Attribute) and _private(node.attr):
                v = node.value
                if isinstance(v, ast.Name) and v.id in ("self", "cls"):
                    continue
                if (rel, node.attr) in ALLOWED:
                    continue
                out.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    return out


def test_no_module_uses_another_modules_private_names() -> None:
    found = private_uses()
    assert not found, "private names used across modules:\n  " + "\n  ".join(found)


def test_the_checker_sees_both_kinds_of_violation(tmp_path: Path) -> None:
    (tmp_path / "_helper.py").write_text("def _secret():\n    pass\n")
    (tmp_path / "user.py").write_text(
        "from . import _helper\n"  # a private module of the package: fine
        "from ._helper import _secret\n"
        "def f(proj):\n"
        "    self = proj\n"
        "    return proj._closed, self._ok, _helper._secret\n"
    )
    found = private_uses(tmp_path)
    assert [f.split(": ", 1)[1] for f in found] == [
        "from _helper import _secret",
        "proj._closed",
        "_helper._secret",
    ]
