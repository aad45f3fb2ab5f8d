"""The safe expression language of condition nodes (and the calculator tool).

`{value} > 10 and len({items}) <= 3`, `{llm-1.output} in ["yes", "y"]`,
`not {input.flag} or {score} * 2 >= 7.5`.

`{path}` placeholders are substituted as *values* (looked up with the template
path rules, never pasted in as text), so user data cannot change the
expression's shape. The text is parsed with `ast.parse(mode="eval")` and the
tree is walked with an explicit whitelist of node types; nothing is compiled
or executed. Supported: literals (str, int, float, True/False/None and their
JSON spellings true/false/null), lists/tuples, arithmetic (+ - * / // % **),
comparisons (chained), `in`/`not in`, `and`/`or`/`not`, bare names and dotted
names resolved in the context, and a few pure functions (`len`, `str`, `int`,
`float`, `abs`, `min`, `max`, `round`, `lower`, `upper`, `bool`).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import ValidationFailed
from engine.templates import _PATH_RE, TemplateError, resolve_path

MAX_EXPRESSION_CHARS = 4000
MAX_POWER_EXPONENT = 1000
MAX_SEQUENCE_RESULT = 1_000_000

_PLACEHOLDER_RE = re.compile(r"\{([^{}\"'\s]*)\}")
_NAME_PREFIX = "__p"


class ExpressionError(ValidationFailed):
    """An expression is malformed or cannot be evaluated."""


def _lower(value: Any) -> str:
    return str(value).lower()


def _upper(value: Any) -> str:
    return str(value).upper()


CONDITION_FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "bool": bool,
    "lower": _lower,
    "upper": _upper,
}

MATH_FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "log": math.log,
    "log10": math.log10,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "floor": math.floor,
    "ceil": math.ceil,
}

MATH_CONSTANTS: Mapping[str, float] = {"pi": math.pi, "e": math.e}

_CONSTANT_NAMES: Mapping[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "True": True,
    "False": False,
    "None": None,
}


def _power(base: Any, exponent: Any) -> Any:
    # An unbounded exponent would let one expression burn the CPU for minutes.
    if isinstance(exponent, int | float) and abs(exponent) > MAX_POWER_EXPONENT:
        raise ExpressionError(f"exponent {exponent} is too large")
    return operator.pow(base, exponent)


def _multiply(left: Any, right: Any) -> Any:
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(count, int):
            if len(seq) * count > MAX_SEQUENCE_RESULT:
                raise ExpressionError("repetition result is too large")
    return operator.mul(left, right)


_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}

_COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


@dataclass(frozen=True, kw_only=True)
class CompiledExpression:
    """A parsed, whitelisted expression ready to evaluate many times."""

    source: str
    tree: ast.Expression
    placeholders: tuple[str, ...]
    """The `{path}` placeholders in order; `__p0` in the tree is the first."""
    functions: Mapping[str, Callable[..., Any]]
    constants: Mapping[str, Any]
    allow_names: bool


def _substitute_placeholders(source: str, placeholders: list[str]) -> str:
    """Replace `{path}` outside string literals by `__pN` names."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(source):
        ch = source[i]
        if quote is not None:
            out.append(ch)
            if ch == "\\" and i + 1 < len(source):
                out.append(source[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        elif ch == "{" and (match := _PLACEHOLDER_RE.match(source, i)):
            path = match.group(1)
            if not _PATH_RE.match(path):
                raise ExpressionError(f"invalid placeholder {{{path}}} in expression")
            placeholders.append(path)
            out.append(f" {_NAME_PREFIX}{len(placeholders) - 1} ")
            i = match.end()
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


def parse_expression(
    source: str,
    *,
    functions: Mapping[str, Callable[..., Any]] = CONDITION_FUNCTIONS,
    constants: Mapping[str, Any] | None = None,
    allow_names: bool = True,
) -> CompiledExpression:
    """Parse and whitelist-check an expression; raises `ExpressionError`."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("expression is empty")
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_CHARS} characters")
    placeholders: list[str] = []
    try:
        text = _substitute_placeholders(source, placeholders)
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot parse expression {source!r}: {exc}") from exc
    compiled = CompiledExpression(
        source=source,
        tree=tree,
        placeholders=tuple(placeholders),
        functions=functions,
        constants={**_CONSTANT_NAMES, **(constants or {})},
        allow_names=allow_names,
    )
    _check(tree.body, compiled)
    return compiled


_ALLOWED_NODES = (
    ast.BoolOp,
    ast.UnaryOp,
    ast.BinOp,
    ast.Compare,
    ast.Constant,
    ast.Name,
    ast.Attribute,
    ast.Call,
    ast.List,
    ast.Tuple,
    ast.IfExp,
)


def _check(node: ast.AST, compiled: CompiledExpression) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise ExpressionError(f"{type(node).__name__} is not allowed in expressions")
    if isinstance(node, ast.Constant) and not isinstance(
        node.value, str | int | float | bool | type(None)
    ):
        raise ExpressionError("only string, number, boolean and null literals are allowed")
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
        raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
    if isinstance(node, ast.BinOp) and type(node.op) not in _BINARY:
        raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
    if isinstance(node, ast.Compare) and any(type(op) not in _COMPARE for op in node.ops):
        raise ExpressionError("only ==, !=, <, <=, >, >=, in and not in comparisons are allowed")
    if isinstance(node, ast.Name) and not (
        node.id.startswith(_NAME_PREFIX) or node.id in compiled.constants or compiled.allow_names
    ):
        raise ExpressionError(f"unknown name {node.id!r}")
    if isinstance(node, ast.Attribute) and (
        node.attr.startswith("_") or not isinstance(node.value, ast.Name | ast.Attribute)
    ):
        raise ExpressionError("attribute access is only allowed on context paths")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in compiled.functions:
            allowed = ", ".join(sorted(compiled.functions))
            raise ExpressionError(f"only these functions may be called: {allowed}")
        if node.keywords:
            raise ExpressionError("keyword arguments are not allowed")
        for arg in node.args:
            _check(arg, compiled)
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(
            child, ast.expr_context | ast.boolop | ast.operator | ast.unaryop | ast.cmpop
        ):
            continue
        _check(child, compiled)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise ExpressionError("attribute access is only allowed on context paths")


class _Evaluator:
    def __init__(self, compiled: CompiledExpression, context: Mapping[str, Any]) -> None:
        self.compiled = compiled
        self.context = context

    def lookup(self, path: str) -> Any:
        try:
            return resolve_path(self.context, path)
        except TemplateError as exc:
            raise ExpressionError(exc.message, field=path) from exc

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id.startswith(_NAME_PREFIX):
                return self.lookup(self.compiled.placeholders[int(node.id[len(_NAME_PREFIX) :])])
            if node.id in self.compiled.constants:
                return self.compiled.constants[node.id]
            return self.lookup(node.id)
        if isinstance(node, ast.Attribute):
            return self.lookup(_dotted(node))
        if isinstance(node, ast.BoolOp):
            result: Any = None
            for value in node.values:
                result = self.visit(value)
                # Short-circuit exactly like Python so `x and len(x)` is safe.
                if isinstance(node.op, ast.And) and not result:
                    return result
                if isinstance(node.op, ast.Or) and result:
                    return result
            return result
        if isinstance(node, ast.UnaryOp):
            operand = self.visit(node.operand)
            if isinstance(node.op, ast.Not):
                return not operand
            return -operand if isinstance(node.op, ast.USub) else +operand
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.Compare):
            left = self.visit(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.visit(comparator)
                if not _COMPARE[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.visit(node.body) if self.visit(node.test) else self.visit(node.orelse)
        if isinstance(node, ast.List | ast.Tuple):
            return [self.visit(element) for element in node.elts]
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            func = self.compiled.functions[node.func.id]
            return func(*(self.visit(arg) for arg in node.args))
        raise ExpressionError(f"{type(node).__name__} is not allowed in expressions")


def evaluate(compiled: CompiledExpression, context: Mapping[str, Any]) -> Any:
    """Evaluate a parsed expression against a context; raises `ExpressionError`."""
    try:
        return _Evaluator(compiled, context).visit(compiled.tree.body)
    except ExpressionError:
        raise
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError) as exc:
        raise ExpressionError(f"cannot evaluate {compiled.source!r}: {exc}") from exc


def evaluate_expression(source: str, context: Mapping[str, Any]) -> Any:
    """Parse and evaluate a condition expression in one step."""
    return evaluate(parse_expression(source), context)


def evaluate_arithmetic(source: str) -> int | float:
    """Evaluate pure arithmetic (the calculator tool): numbers, math functions, pi, e."""
    compiled = parse_expression(
        source.replace("^", "**").replace("×", "*").replace("÷", "/"),
        functions=MATH_FUNCTIONS,
        constants=MATH_CONSTANTS,
        allow_names=False,
    )
    result = evaluate(compiled, {})
    if isinstance(result, bool) or not isinstance(result, int | float):
        raise ExpressionError(f"{source!r} is not an arithmetic expression")
    return result
