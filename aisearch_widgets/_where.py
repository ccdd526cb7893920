"""``where=``: a safe, pandas-like filter over the metadata columns and tags.

An expression such as ``"width >= 1024 and camera == 'NIKON D750'"`` is parsed with
:mod:`ast` and checked against a short list of allowed forms; each allowed node is
compiled into a function of a DataFrame that works on whole columns (numpy/pandas
operations, never row by row). Nothing a user writes is ever evaluated as Python:
names are columns, attributes are only the string methods below, and every other
node (calls, attribute access, lambdas, comprehensions, subscripts, ...) is an
:class:`InvalidArgument` that names what is not allowed.

Allowed:

- comparisons ``== != < <= > >=``, chained (``1000 <= width < 2000``), between a
  column and a number, a string, ``None``, ``True``/``False`` or another column;
  a datetime column compares with an ISO date string (``taken_at >= '2024-06-01'``);
  ``col == None`` / ``col is None`` (and the negations) test for missing values;
- ``and``, ``or``, ``not`` and parentheses; a boolean column alone (``video``);
- ``col in ['a', 'b']`` / ``not in`` with a list or tuple of constants;
- ``'defect' in tags`` / ``not in``: the image carries (or not) that tag;
- ``'x' in name``: the column's text contains ``x``;
- ``col.startswith('a')``, ``col.endswith(('.jpg', '.png'))``, ``col.contains('x')``,
  and ``col.lower()``, ``col.upper()``, ``col.strip()`` before a comparison;
- ``+ - * /`` between numeric columns and numbers (``width * height >= 1e6``).

A dict is the other spelling: ``{"camera": "NIKON D750", "width": (1024, None),
"ext": [".jpg", ".png"], "tags": "defect"}``: a value, an inclusive ``(lo, hi)``
range (``None``: open), or a list of accepted values; for ``tags`` a tag or a list
of tags (any of them).

>>> w = compile_where("width >= 1024 and 'defect' in tags", ["width", "tags"])
>>> sorted(w.columns)
['tags', 'width']
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._errors import InvalidArgument, show_value

MAX_LENGTH = 2000  # characters of an expression: a filter, not a program
MAX_NODES = 400  # parsed nodes (a long chain of `or`s is still fine)
STRING_METHODS = ("startswith", "endswith", "contains", "lower", "upper", "strip")
TAGS = "tags"

Fn = Callable[[pd.DataFrame], Any]
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_OP_TEXT = {ast.Pow: "**", ast.Mod: "%", ast.FloorDiv: "//", ast.BitAnd: "&", ast.BitOr: "|"}


@dataclass(frozen=True)
class Where:
    """A compiled filter: ``columns`` it reads (``tags`` included when it does) and
    ``mask(frame)``, a boolean array over the frame's rows."""

    text: str
    columns: frozenset[str]
    _fn: Fn

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        out = self._fn(frame)
        if isinstance(out, (bool, np.bool_)):
            return np.full(len(frame), bool(out))
        return _as_bool(out, self.text)

    def ids(self, frame: pd.DataFrame) -> pd.Index:
        """The index values (point ids) of the rows that pass."""
        return frame.index[self.mask(frame)]


def _as_bool(values: Any, what: str) -> np.ndarray:
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype == bool:
        return s.to_numpy()
    if str(s.dtype) == "boolean":
        return s.fillna(False).to_numpy(dtype=bool)
    raise InvalidArgument(
        f"where={show_value(what)} is not a condition: compare it, e.g. {what} == 1."
    )


def compile_where(where: Any, known: Iterable[str]) -> Where:
    """``where`` (an expression string or a dict) as a :class:`Where` over the columns
    ``known``, or InvalidArgument (bad syntax, a form that is not allowed, an unknown
    column: the message lists the known ones)."""
    known = list(dict.fromkeys(known))
    if isinstance(where, dict):
        return _from_dict(where, known)
    if not isinstance(where, str):
        raise InvalidArgument(
            f"where= must be an expression string or a dict of column -> value "
            f"(got {show_value(where)})."
        )
    if not where.strip():
        raise InvalidArgument('where= is empty: give a condition, e.g. "width >= 1024".')
    if len(where) > MAX_LENGTH:
        raise InvalidArgument(
            f"where= is {len(where)} characters long; at most {MAX_LENGTH} are accepted."
        )
    try:
        tree = ast.parse(where.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidArgument(
            f"where={show_value(where)} is not a valid expression ({exc.msg}); e.g. "
            "\"width >= 1024 and 'defect' in tags\"."
        ) from None
    except (RecursionError, MemoryError, ValueError):
        raise InvalidArgument(f"where={show_value(where)} is too deeply nested.") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise InvalidArgument(f"where= has more than {MAX_NODES} parts; split the filter.")
    c = _Compiler(where, known)
    fn = c.node(tree.body)
    return Where(where, frozenset(c.used), fn)


class _Compiler:
    def __init__(self, text: str, known: list[str]) -> None:
        self.text = text
        self.known = known
        self.used: set[str] = set()

    def refuse(self, what: str) -> InvalidArgument:
        return InvalidArgument(
            f"where={show_value(self.text)}: {what} is not allowed. A filter uses columns, "
            "constants, comparisons, and/or/not, 'in' lists or tags, and the string "
            f"methods {', '.join(STRING_METHODS)}."
        )

    def column(self, name: str) -> str:
        if name not in self.known:
            raise InvalidArgument(
                f"where=: unknown column {name!r}; known columns: {', '.join(self.known)}."
            )
        self.used.add(name)
        return name

    # -- nodes ------------------------------------------------------------------------
    def node(self, n: ast.AST) -> Fn:
        if isinstance(n, ast.BoolOp):
            parts = [self.node(v) for v in n.values]
            both = isinstance(n.op, ast.And)
            return lambda f: _fold(f, parts, both, self.text)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            inner = self.node(n.operand)
            return lambda f: ~_mask(inner(f), f, self.text)
        if isinstance(n, ast.Compare):
            return self.compare(n)
        if isinstance(n, ast.Name) and n.id != TAGS:
            name = self.column(n.id)
            return lambda f: f[name]
        if isinstance(n, ast.Constant) and isinstance(n.value, bool):
            v = n.value
            return lambda f: v
        return self.value(n)

    def value(self, n: ast.AST) -> Fn:
        """A column, a constant or arithmetic on them (not a condition on its own)."""
        if isinstance(n, ast.Name):
            if n.id == TAGS:
                raise self.refuse("using tags other than in \"'tag' in tags\"")
            name = self.column(n.id)
            return lambda f: f[name]
        if isinstance(n, ast.Constant):
            v = n.value
            if v is not None and not isinstance(v, (str, int, float, bool)):
                raise self.refuse(f"the constant {show_value(v)}")
            return lambda f: v
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            inner = self.value(n.operand)
            neg = isinstance(n.op, ast.USub)
            return lambda f: -inner(f) if neg else inner(f)
        if isinstance(n, ast.BinOp):
            op = _ARITH.get(type(n.op))
            if op is None:
                raise self.refuse(f"the operator {_OP_TEXT.get(type(n.op), type(n.op).__name__)}")
            a, b = self.value(n.left), self.value(n.right)
            return lambda f: _arith(op, a(f), b(f), self.text)
        if isinstance(n, ast.Call):
            return self.method(n)
        if isinstance(n, ast.Attribute):
            raise self.refuse(f"the attribute access .{n.attr}")
        raise self.refuse(_describe(n))

    def constants(self, n: ast.AST) -> list[Any]:
        if not isinstance(n, (ast.List, ast.Tuple, ast.Set)):
            raise self.refuse(f"'in' with {_describe(n)} (use a list of constants)")
        out = []
        for e in n.elts:
            if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
                e = e.operand
                if isinstance(e, ast.Constant) and isinstance(e.value, (int, float)):
                    out.append(-e.value)
                    continue
            if not isinstance(e, ast.Constant) or not isinstance(
                e.value, (str, int, float, bool, type(None))
            ):
                raise self.refuse(f"{_describe(e)} in a list (only constants)")
            out.append(e.value)
        return out

    def method(self, n: ast.Call) -> Fn:
        func = n.func
        if not isinstance(func, ast.Attribute):
            name = func.id if isinstance(func, ast.Name) else _describe(func)
            raise self.refuse(f"calling {name}()")
        if func.attr not in STRING_METHODS:
            raise self.refuse(f"the method .{func.attr}()")
        if n.keywords:
            raise self.refuse(f"keyword arguments to .{func.attr}()")
        target = self.value(func.value)
        args: list[Any] = []
        for a in n.args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                args.append(a.value)
            elif isinstance(a, ast.Tuple) and func.attr in ("startswith", "endswith"):
                vals = self.constants(a)
                if not all(isinstance(v, str) for v in vals):
                    raise self.refuse(f"non-text prefixes in .{func.attr}()")
                args.append(tuple(vals))
            else:
                raise self.refuse(f"{_describe(a)} as an argument of .{func.attr}()")
        want = 0 if func.attr in ("lower", "upper", "strip") else 1
        if len(args) != want:
            raise InvalidArgument(
                f"where=: .{func.attr}() takes {want or 'no'} text argument"
                f"{'s' if want != 1 else ''} (got {len(args)})."
            )
        attr = func.attr
        return lambda f: _string_method(target(f), attr, args, self.text)

    def compare(self, n: ast.Compare) -> Fn:
        parts: list[Fn] = []
        left = n.left
        for op, right in zip(n.ops, n.comparators, strict=True):
            parts.append(self.pair(left, op, right))
            left = right
        if len(parts) == 1:
            return parts[0]
        return lambda f: _fold(f, parts, True, self.text)

    def pair(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Fn:
        if isinstance(op, (ast.In, ast.NotIn)):
            neg = isinstance(op, ast.NotIn)
            if isinstance(right, ast.Name) and right.id == TAGS:
                if not (isinstance(left, ast.Constant) and isinstance(left.value, str)):
                    raise self.refuse(f"{_describe(left)} in tags (give a tag as text)")
                self.column(TAGS)
                tag = left.value
                return lambda f: _has_tag(f, tag, neg)
            if isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                values = self.constants(right)
                col = self.value(left)
                return lambda f: _isin(col(f), values, neg, f)
            if isinstance(left, ast.Constant) and isinstance(left.value, str):
                text, col = left.value, self.value(right)
                return lambda f: _contains(col(f), text, neg, self.text)
            raise self.refuse(f"'in' with {_describe(right)}")
        if isinstance(op, (ast.Is, ast.IsNot)):
            if not (isinstance(right, ast.Constant) and right.value is None):
                raise self.refuse("'is' with anything but None")
            col = self.value(left)
            isnot = isinstance(op, ast.IsNot)
            return lambda f: _missing(col(f), isnot, f)
        fn = _COMPARE[type(op)]
        a, b = self.value(left), self.value(right)
        if isinstance(right, ast.Constant) and right.value is None:
            if not isinstance(op, (ast.Eq, ast.NotEq)):
                raise self.refuse("ordering against None")
            return lambda f: _missing(a(f), isinstance(op, ast.NotEq), f)
        return lambda f: _compare(fn, a(f), b(f), self.text)


# -- vectorised operations -----------------------------------------------------------
def _mask(v: Any, f: pd.DataFrame, text: str) -> np.ndarray:
    if isinstance(v, (bool, np.bool_)):
        return np.full(len(f), bool(v))
    return _as_bool(v, text)


def _fold(f: pd.DataFrame, parts: list[Fn], both: bool, text: str) -> np.ndarray:
    out = _mask(parts[0](f), f, text)
    for p in parts[1:]:
        m = _mask(p(f), f, text)
        out = (out & m) if both else (out | m)
    return out


def _is_datetime(s: Any) -> bool:
    return isinstance(s, pd.Series) and pd.api.types.is_datetime64_any_dtype(s.dtype)


def _as_time(s: pd.Series, v: str, text: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError):
        raise InvalidArgument(
            f"where={show_value(text)}: {v!r} is not a date; write it as ISO text, e.g. "
            "'2024-06-01' or '2024-06-01 12:30'."
        ) from None
    tz = getattr(s.dt, "tz", None)
    if tz is not None and ts.tzinfo is None:
        ts = ts.tz_localize(tz)
    elif tz is None and ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts


def _compare(fn: Callable[[Any, Any], Any], a: Any, b: Any, text: str) -> Any:
    if _is_datetime(a) and isinstance(b, str):
        b = _as_time(a, b, text)
    elif _is_datetime(b) and isinstance(a, str):
        a = _as_time(b, a, text)
    try:
        try:
            out = fn(a, b)
        except TypeError:
            # Text kept as categories (few distinct values) has no order of its own:
            # order it as the text it holds.
            if not any(isinstance(v, pd.Series) and v.dtype == "category" for v in (a, b)):
                raise
            a, b = (_plain(v) for v in (a, b))
            out = fn(a, b)
    except TypeError as exc:
        raise InvalidArgument(
            f"where={show_value(text)}: cannot compare these values ({str(exc)[:120]}); "
            "compare numbers with numbers, text with text, dates with ISO dates."
        ) from None
    if isinstance(a, pd.Series) or isinstance(b, pd.Series):
        return out.fillna(False) if str(getattr(out, "dtype", "")) == "boolean" else out
    return bool(out)


def _plain(v: Any) -> Any:
    if isinstance(v, pd.Series) and v.dtype == "category":
        return v.astype(v.cat.categories.dtype)
    return v


def _arith(op: Callable[[Any, Any], Any], a: Any, b: Any, text: str) -> Any:
    try:
        with np.errstate(all="ignore"):
            return op(a, b)
    except TypeError:
        raise InvalidArgument(
            f"where={show_value(text)}: arithmetic works on numbers and numeric columns only."
        ) from None


def _isin(col: Any, values: list[Any], neg: bool, f: pd.DataFrame) -> np.ndarray:
    if not isinstance(col, pd.Series):
        hit = col in values
        return np.full(len(f), hit != neg)
    if _is_datetime(col):
        values = [_as_time(col, v, "") if isinstance(v, str) else v for v in values]
    m = col.isin(values).to_numpy()
    return ~m if neg else m


def _has_tag(f: pd.DataFrame, tag: str, neg: bool) -> np.ndarray:
    tags = f[TAGS]
    exploded = tags.explode()
    with_tag = exploded.index[(exploded == tag).to_numpy()]
    m = f.index.isin(with_tag)
    return ~m if neg else m


def _text(col: Any, text: str) -> Any:
    if not isinstance(col, pd.Series):
        raise InvalidArgument(f"where={show_value(text)}: string methods work on text columns.")
    kind = col.cat.categories.dtype if col.dtype == "category" else col.dtype
    if not (pd.api.types.is_object_dtype(kind) or pd.api.types.is_string_dtype(kind)):
        raise InvalidArgument(
            f"where={show_value(text)}: the column {col.name!r} is not text ({col.dtype})."
        )
    return col.str


def _contains(col: Any, text: str, neg: bool, expr: str) -> np.ndarray:
    m = _text(col, expr).contains(text, regex=False).fillna(False).to_numpy(dtype=bool)
    return ~m if neg else m


def _string_method(col: Any, attr: str, args: list[Any], expr: str) -> Any:
    s = _text(col, expr)
    if attr == "contains":
        return s.contains(args[0], regex=False).fillna(False).astype(bool)
    if attr in ("startswith", "endswith"):
        return getattr(s, attr)(args[0]).fillna(False).astype(bool)
    return getattr(s, attr)()


def _missing(col: Any, isnot: bool, f: pd.DataFrame) -> np.ndarray:
    if not isinstance(col, pd.Series):
        return np.full(len(f), (col is not None) == isnot)
    m = col.isna().to_numpy()
    return ~m if isnot else m


def _describe(n: ast.AST) -> str:
    names = {
        ast.Lambda: "a lambda",
        ast.ListComp: "a comprehension",
        ast.SetComp: "a comprehension",
        ast.DictComp: "a comprehension",
        ast.GeneratorExp: "a generator",
        ast.Subscript: "indexing ([...])",
        ast.Starred: "unpacking (*)",
        ast.NamedExpr: "assignment (:=)",
        ast.IfExp: "an if-else expression",
        ast.JoinedStr: "an f-string",
        ast.Await: "await",
        ast.Dict: "a dict",
    }
    if isinstance(n, ast.Call):
        f = n.func
        return f"calling {f.id}()" if isinstance(f, ast.Name) else "a call"
    if isinstance(n, ast.Attribute):
        return f"the attribute access .{n.attr}"
    if isinstance(n, ast.Name):
        return f"the column {n.id}"
    return names.get(type(n), type(n).__name__)


# -- the dict spelling ---------------------------------------------------------------
def _from_dict(where: dict[Any, Any], known: list[str]) -> Where:
    c = _Compiler(repr(where), known)
    parts: list[Fn] = []
    for col, want in where.items():
        if not isinstance(col, str):
            raise InvalidArgument(f"where=: a column name must be text (got {show_value(col)}).")
        c.column(col)
        parts.append(_dict_part(col, want))
    if not parts:
        raise InvalidArgument("where= is an empty dict: give column -> value pairs.")
    text = repr(where)
    return Where(text, frozenset(c.used), lambda f: _fold(f, parts, True, text))


def _dict_part(col: str, want: Any) -> Fn:
    if col == TAGS:
        tags = [want] if isinstance(want, str) else want
        if not isinstance(tags, (list, tuple, set)) or not all(isinstance(t, str) for t in tags):
            raise InvalidArgument("where={'tags': ...}: give a tag or a list of tags.")
        tags = list(tags)

        def any_tag(f: pd.DataFrame) -> np.ndarray:
            out = np.zeros(len(f), bool)
            for t in tags:
                out |= _has_tag(f, t, False)
            return out

        return any_tag
    if isinstance(want, tuple):
        if len(want) != 2:
            raise InvalidArgument(
                f"where={{{col!r}: {show_value(want)}}}: a range is (low, high); None leaves "
                "an end open."
            )
        lo, hi = want
        text = f"{col} in {want!r}"

        def between(f: pd.DataFrame) -> np.ndarray:
            s, m = f[col], np.ones(len(f), bool)
            if lo is not None:
                m &= _mask(_compare(_COMPARE[ast.GtE], s, lo, text), f, text)
            if hi is not None:
                m &= _mask(_compare(_COMPARE[ast.LtE], s, hi, text), f, text)
            return m

        return between
    if isinstance(want, (list, set, frozenset)):
        values = list(want)
        return lambda f: _isin(f[col], values, False, f)
    if want is None:
        return lambda f: _missing(f[col], False, f)
    if not isinstance(want, (str, int, float, bool, np.generic, pd.Timestamp)):
        raise InvalidArgument(
            f"where={{{col!r}: {show_value(want)}}}: give a value, a (low, high) range or a "
            "list of values."
        )
    text = f"{col} == {want!r}"
    return lambda f: _mask(_compare(_COMPARE[ast.Eq], f[col], want, text), f, text)
