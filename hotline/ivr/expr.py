"""Conditions of `branch` nodes: a small, safe expression language over the call's variables.

    parcel.status == 'delivered' and not (attempts > 2)
    matches(parcel_number, '^[0-9]{8,12}$')
    lang in ('en', 'zh')

Names (dotted: `parcel.status`) are variables; a missing variable is the empty string. Values that
both look like numbers compare as numbers. Functions: `matches(text, regex)`, `len(text)`,
`empty(text)`. Nothing else of Python is reachable: expressions are checked when the flow loads.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from hotline.system.errors import HotlineError


class ExprError(HotlineError, ValueError):
    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_FUNCTIONS = {"matches": 2, "len": 1, "empty": 1}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def parse(source: str) -> ast.Expression:
    """Parse and check an expression; raises ExprError with a 1-based column."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"bad condition: {exc.msg}", exc.offset or 0) from exc
    for node in ast.walk(tree):
        col = getattr(node, "col_offset", -1) + 1
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if name not in _FUNCTIONS:
                raise ExprError(f"unknown function {ast.unparse(node.func)!r} (known: {', '.join(_FUNCTIONS)})", col)
            if len(node.args) != _FUNCTIONS[name] or node.keywords:
                raise ExprError(f"{name}() takes {_FUNCTIONS[name]} argument(s)", col)
            if name == "matches":
                pattern = node.args[1]
                if not (isinstance(pattern, ast.Constant) and isinstance(pattern.value, str)):
                    raise ExprError("matches() needs a quoted regular expression", col)
                try:
                    re.compile(pattern.value)
                except re.error as exc:
                    raise ExprError(f"bad regular expression {pattern.value!r}: {exc}", col) from exc
        elif isinstance(node, ast.Attribute):
            if _dotted(node) is None:
                raise ExprError("only variable names may be dotted", col)
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in _COMPARE:
                    raise ExprError(f"operator {type(op).__name__} is not allowed", col)
        elif not isinstance(node, ast.Expression | ast.BoolOp | ast.And | ast.Or | ast.UnaryOp | ast.Not
                            | ast.Name | ast.Constant | ast.Tuple | ast.List | ast.Load | ast.cmpop):
            raise ExprError(f"{type(node).__name__} is not allowed in a condition", col)
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            raise ExprError("only 'not' is allowed as a unary operator", col)
    return tree


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _value(node: ast.expr, variables: Mapping[str, str]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    name = _dotted(node)
    if name is not None:
        return variables.get(name, "")
    if isinstance(node, ast.Tuple | ast.List):
        return [_value(e, variables) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        values = (_truth(_value(v, variables)) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        return not _truth(_value(node.operand, variables))
    if isinstance(node, ast.Compare):
        left = _value(node.left, variables)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _value(comparator, variables)
            a, b = _number(left), _number(right)
            if a is not None and b is not None and not isinstance(right, list):
                ok = _COMPARE[type(op)](a, b)
            elif isinstance(right, list):
                ok = _COMPARE[type(op)](str(left), [str(r) for r in right])
            else:
                ok = _COMPARE[type(op)](str(left), str(right))
            if not ok:
                return False
            left = right
        return True
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        args = [_value(a, variables) for a in node.args]
        if node.func.id == "matches":
            return re.search(str(args[1]), str(args[0])) is not None
        if node.func.id == "len":
            return len(str(args[0]))
        return not str(args[0]).strip()
    raise ExprError(f"cannot evaluate {type(node).__name__}")


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "no", "false", "0")
    return bool(value)


def evaluate(source: str | ast.Expression, variables: Mapping[str, str]) -> bool:
    tree = parse(source) if isinstance(source, str) else source
    return _truth(_value(tree.body, variables))
