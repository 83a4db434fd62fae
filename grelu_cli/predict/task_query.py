"""A small, safe expression language for ``--tasks-query``.

A query is untrusted text (it often comes from a workflow config), so it never reaches
``eval``, ``compile``-and-run or pandas' ``DataFrame.query``. It is parsed with
``ast.parse(mode="eval")`` and every node is checked against a whitelist by this module's own
interpreter, which evaluates it column by column against the tasks table. What a query may use:

- column names (``assay``), or any column name in backticks (```my column```);
- literals: strings, numbers, ``True``/``False``/``None``, and lists/tuples of them;
- comparisons ``== != < <= > >=`` (chains like ``1 < x < 3`` too), ``in`` / ``not in`` with a
  list or a column on the right (``col == [..]`` means ``col in [..]``, as in pandas);
- ``and``, ``or``, ``not`` (and pandas' ``&``, ``|``, ``~``) between true/false per task;
- string methods on a column: ``col.str.contains(pat)``, ``startswith``, ``endswith``,
  ``match``, ``fullmatch`` (optional keywords ``case``/``regex`` as bools), ``lower()``,
  ``upper()``, ``strip()``, ``len()``; and ``col.isin([...])``.

Nothing else parses: no other names, attributes, calls, subscripts, arithmetic, lambdas or
comprehensions, so a query cannot reach Python objects. The whole query must give one
true/false value per task. Every refusal is a :class:`UsageError` (exit 2) naming the
offending token.
"""

from __future__ import annotations

import ast
import operator
import re
import warnings
from typing import TYPE_CHECKING, Any, TypeGuard

from grelu_cli.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

MAX_QUERY_CHARS = 4000
MAX_DEPTH = 60  # nesting of the syntax tree; real queries use a handful of levels

_STR_PREDICATES = {"contains", "startswith", "endswith", "match", "fullmatch"}
_STR_TRANSFORMS = {"lower", "upper", "strip", "len"}
_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_OP_TEXT = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitXor: "^",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_ALLOWED = (
    "column names, literals, comparisons, and/or/not, in, "
    "col.str.contains/startswith/endswith/match/fullmatch/lower/upper/strip/len, col.isin"
)


class _RefusedError(Exception):
    """Internal: the query uses something outside the language (``token`` names it)."""

    def __init__(self, token: str, why: str) -> None:
        super().__init__(token)
        self.token = token
        self.why = why


def select_rows(tasks: pd.DataFrame, query: str, *, model: str | None = None) -> list[int]:
    """0-based row positions of ``tasks`` where ``query`` is true, in table order.

    Raises UsageError (exit 2) for anything the language does not allow, an unknown column,
    or a query that does not give one true/false value per task.
    """
    frame = tasks.reset_index(drop=True)
    cols = ", ".join(map(str, frame.columns))
    see = f"grelu models info {model} --tasks" if model else "grelu models info MODEL --tasks"
    where = f"--tasks-query {_short(query, 200)}"
    try:
        tree, names = _parse(query)
        _check_depth(tree.body, 0)
        mask = _Eval(frame, names, query).mask(tree.body)
    except _RefusedError as e:
        raise UsageError(
            f"{where}: {e.token} is not allowed ({e.why})",
            fix=f"a query may use {_ALLOWED}; the columns are {cols} (see '{see}')",
        ) from None
    return [int(i) for i in mask.to_numpy().nonzero()[0]]


def _short(text: str, n: int = 40) -> str:
    """``repr`` of text, cut to about ``n`` characters so an error stays one short line."""
    return repr(text if len(text) <= n else text[: n - 3] + "...")


def _parse(query: str) -> tuple[ast.Expression, dict[str, str]]:
    """Parse, after swapping backtick-quoted column names for placeholder identifiers."""
    if len(query) > MAX_QUERY_CHARS:
        raise _RefusedError(f"a query of {len(query)} characters", f"at most {MAX_QUERY_CHARS}")
    text, names = _backticks(query)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for '\d' in a string literal
            tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        col = (e.offset or 1) - 1
        line = (e.text or text).splitlines()[0] if (e.text or text).strip() else ""
        token = line[col : col + 10].strip() if 0 <= col < len(line) else ""
        at = f"near {token!r}" if token else "at its end"
        raise _RefusedError(f"the syntax {at}", f"not a valid expression: {e.msg}") from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as e:
        raise _RefusedError("the text", f"it cannot be parsed: {type(e).__name__}") from None
    return tree, names


def _backticks(query: str) -> tuple[str, dict[str, str]]:
    """Replace ```name``` (outside string literals) with fresh identifiers; return the map."""
    out: list[str] = []
    names: dict[str, str] = {}
    i, quote = 0, ""
    while i < len(query):
        c = query[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < len(query):
                out.append(query[i + 1])
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
            out.append(c)
        elif c == "@":  # pandas' '@name' reached the caller's local variables
            raise _RefusedError("'@'", "a query cannot refer to Python variables")
        elif c == "`":
            end = query.find("`", i + 1)
            if end < 0:
                raise _RefusedError("an unclosed '`'", "backticks quote a column name: `my col`")
            k = 0
            while f"_bt{k}_" in query or f"_bt{k}_" in names:
                k += 1
            ident = f"_bt{k}_"
            names[ident] = query[i + 1 : end]
            out.append(f" {ident} ")
            i = end
        else:
            out.append(c)
        i += 1
    # pandas allowed spaces around a query; an expression may not start with one
    return "".join(out).strip(), names


def _check_depth(node: ast.AST, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _RefusedError("the nesting", f"at most {MAX_DEPTH} levels")
    for child in ast.iter_child_nodes(node):
        _check_depth(child, depth + 1)


class _Eval:
    """Evaluate a whitelisted tree. Values are pandas Series (one per task) or literals."""

    def __init__(self, frame: pd.DataFrame, names: dict[str, str], source: str) -> None:
        self.frame = frame
        self.names = names
        self.source = source

    # -- entry points -------------------------------------------------------------------
    def mask(self, node: ast.expr) -> pd.Series:
        """The query's value as a boolean Series (one value per task)."""
        import pandas as pd

        value = self.value(node)
        if not isinstance(value, pd.Series):
            raise _RefusedError(
                self.token(node), "a query must give true/false per task, e.g. assay == 'CAGE'"
            )
        if not pd.api.types.is_bool_dtype(value.dtype):
            raise _RefusedError(
                self.token(node),
                f"it gives {value.dtype} values, not true/false per task; compare it, "
                "e.g. col == 'x'",
            )
        try:
            return value.fillna(False).astype(bool)  # nullable booleans: NA is not a match
        except (TypeError, ValueError) as e:
            raise _RefusedError(self.token(node), f"it fails on the tasks table: {e}") from None

    def token(self, node: ast.AST) -> str:
        seg = ast.get_source_segment(self._text(), node) or type(node).__name__
        for ident, name in self.names.items():
            seg = seg.replace(ident, f"`{name}`")
        return _short(seg.strip())

    def _text(self) -> str:
        return _backticks(self.source)[0]

    # -- values -------------------------------------------------------------------------
    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            if node.value is None or isinstance(node.value, bool | int | float | str):
                return node.value
            raise _RefusedError(self.token(node), "literals are strings, numbers, True/False/None")
        if isinstance(node, ast.Name):
            return self.column(node)
        if isinstance(node, ast.List | ast.Tuple):
            return self.literal_list(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BoolOp):
            return self.boolean(node)
        if isinstance(node, ast.BinOp):
            return self.bitwise(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            raise _RefusedError(
                self.token(node), f"attribute '.{node.attr}' is not in the language"
            )
        raise _RefusedError(self.token(node), f"{type(node).__name__} is not in the language")

    def column(self, node: ast.Name) -> pd.Series:
        name = self.names.get(node.id, node.id)
        if name not in self.frame.columns:
            raise _RefusedError(repr(name), "no such column in the tasks table")
        import pandas as pd

        col = self.frame[name]
        if not isinstance(col, pd.Series):  # duplicate column names give a DataFrame
            raise _RefusedError(repr(name), "the tasks table has this column twice")
        return col

    def literal_list(self, node: ast.List | ast.Tuple) -> list[Any]:
        items = []
        for elt in node.elts:
            v = self.value(elt)
            if isinstance(v, list) or not _is_scalar(v):
                raise _RefusedError(self.token(elt), "a list holds literals only")
            items.append(v)
        return items

    def unary(self, node: ast.UnaryOp) -> Any:
        v = self.value(node.operand)
        if isinstance(node.op, ast.Not | ast.Invert):
            return self._not(node, v)
        if isinstance(node.op, ast.USub | ast.UAdd) and isinstance(v, int | float):
            if isinstance(v, bool):
                raise _RefusedError(self.token(node), "a sign goes before a number")
            return -v if isinstance(node.op, ast.USub) else v
        raise _RefusedError(self.token(node), "a sign goes before a number literal")

    def _not(self, node: ast.AST, v: Any) -> Any:
        if isinstance(v, bool):
            return not v
        self._need_bool(node, v)
        return ~v

    def boolean(self, node: ast.BoolOp) -> Any:
        values = [self.value(v) for v in node.values]
        for sub, v in zip(node.values, values, strict=True):
            self._need_bool(sub, v)
        return self._combine(node, isinstance(node.op, ast.And), values)

    def bitwise(self, node: ast.BinOp) -> Any:
        if not isinstance(node.op, ast.BitAnd | ast.BitOr):
            op = _OP_TEXT.get(type(node.op), type(node.op).__name__)
            raise _RefusedError(repr(op), "arithmetic is not in the language")
        values = [self.value(node.left), self.value(node.right)]
        for sub, v in zip((node.left, node.right), values, strict=True):
            self._need_bool(sub, v)
        return self._combine(node, isinstance(node.op, ast.BitAnd), values)

    def _combine(self, node: ast.AST, conj: bool, values: list[Any]) -> Any:
        out = values[0]
        for v in values[1:]:
            out = (out & v) if conj else (out | v)
        return out

    def _need_bool(self, node: ast.AST, v: Any) -> None:
        import pandas as pd

        if isinstance(v, bool):
            return
        if isinstance(v, pd.Series) and pd.api.types.is_bool_dtype(v.dtype):
            return
        raise _RefusedError(self.token(node), "and/or/not combine true/false conditions")

    def compare(self, node: ast.Compare) -> Any:
        left = self.value(node.left)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.value(right_node)
            part = self._compare_one(node, op, left, right)
            result = part if result is True else (result & part)
            left = right
        return result

    def _compare_one(self, node: ast.AST, op: ast.cmpop, left: Any, right: Any) -> Any:
        import pandas as pd

        if isinstance(op, ast.In | ast.NotIn) or (
            isinstance(op, ast.Eq | ast.NotEq) and isinstance(right, list)
        ):
            negate = isinstance(op, ast.NotIn | ast.NotEq)
            if isinstance(right, pd.Series):
                right = list(right)
            if not isinstance(right, list):
                raise _RefusedError(self.token(node), "'in' needs a list or a column on its right")
            if isinstance(left, pd.Series):
                hit = self._guard(node, lambda: left.isin(right))
                return ~hit if negate else hit
            if isinstance(left, list):
                raise _RefusedError(self.token(node), "a list cannot be compared with a list")
            hit = left in right
            return (not hit) if negate else hit
        fn = _COMPARE.get(type(op))
        if fn is None:
            raise _RefusedError(
                repr(_OP_TEXT.get(type(op), "?")), "comparisons are == != < <= > >="
            )
        if isinstance(left, list) or isinstance(right, list):
            raise _RefusedError(self.token(node), "a list can only be on the right of ==, != or in")
        return self._guard(node, lambda: fn(left, right))

    def call(self, node: ast.Call) -> pd.Series:
        func = node.func
        if not isinstance(func, ast.Attribute):
            raise _RefusedError(
                self.token(func), "calls are only column methods like col.str.lower()"
            )
        method = func.attr
        target = func.value
        if method == "isin" and not _is_str_accessor(target):
            col = self._series(target)
            if len(node.args) != 1 or node.keywords:
                raise _RefusedError(self.token(node), "isin takes one list")
            items = self.value(node.args[0])
            if not isinstance(items, list):
                raise _RefusedError(self.token(node.args[0]), "isin takes a list literal")
            return self._guard(node, lambda: col.isin(items))
        if not _is_str_accessor(target):
            raise _RefusedError(self.token(func), "the only methods are col.str.* and col.isin")
        if method not in _STR_PREDICATES | _STR_TRANSFORMS:
            raise _RefusedError(repr(f".str.{method}"), "not one of the allowed string methods")
        col = self._series(target.value)
        if method in _STR_TRANSFORMS:
            if node.args or node.keywords:
                raise _RefusedError(self.token(node), f".str.{method}() takes no arguments")
            return self._guard(node, lambda: getattr(col.str, method)())
        return self._predicate(node, col, method)

    def _predicate(self, node: ast.Call, col: pd.Series, method: str) -> pd.Series:
        if len(node.args) != 1:
            raise _RefusedError(self.token(node), f".str.{method} takes one string")
        pat = self.value(node.args[0])
        if method in ("startswith", "endswith") and isinstance(pat, list):
            pat = tuple(pat)  # pandas accepts a tuple of prefixes
            ok = all(isinstance(p, str) for p in pat)
        else:
            ok = isinstance(pat, str)
        if not ok:
            raise _RefusedError(self.token(node.args[0]), f".str.{method} takes a string literal")
        kwargs: dict[str, Any] = {}
        allowed = {"case", "regex"} if method == "contains" else set()
        allowed |= {"case"} if method in ("match", "fullmatch") else set()
        for kw in node.keywords:
            if kw.arg not in allowed:
                raise _RefusedError(repr(f"{kw.arg}="), f"not a keyword of .str.{method}")
            v = self.value(kw.value)
            if not isinstance(v, bool):
                raise _RefusedError(self.token(kw.value), f"{kw.arg}= takes True or False")
            kwargs[kw.arg] = v
        if method == "contains" and kwargs.get("regex", True):
            self._check_regex(node.args[0], pat, kwargs.get("case", True))
        if method in ("match", "fullmatch"):
            self._check_regex(node.args[0], pat, kwargs.get("case", True))
        out = self._guard(node, lambda: getattr(col.str, method)(pat, na=False, **kwargs))
        return out.astype(bool)

    def _check_regex(self, node: ast.AST, pat: str, case: bool) -> None:
        try:
            re.compile(pat, 0 if case else re.IGNORECASE)
        except (re.error, OverflowError, RecursionError) as e:
            raise _RefusedError(self.token(node), f"not a valid regular expression: {e}") from None

    def _series(self, node: ast.expr) -> pd.Series:
        import pandas as pd

        v = self.value(node)
        if not isinstance(v, pd.Series):
            raise _RefusedError(self.token(node), "methods apply to a column")
        return v

    def _guard(self, node: ast.AST, fn: Any) -> Any:
        """Run one pandas operation; its type errors become a refusal naming the node."""
        try:
            return fn()
        except (TypeError, ValueError, AttributeError, OverflowError, re.error) as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise _RefusedError(self.token(node), f"it fails on the tasks table: {msg}") from None


def _is_str_accessor(node: ast.expr) -> TypeGuard[ast.Attribute]:
    return isinstance(node, ast.Attribute) and node.attr == "str"


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, bool | int | float | str)
