"""The mutation operators: libcst turns a reference into mutants, one small change each.

A mutant's id names where and what: `<function>:<operator>:<n>:<hash>`, where `n` counts that
operator's mutants inside that function (so an edit elsewhere in the file leaves it alone) and
`hash` is a short digest of the changed line before and after (so a person, and
`judge.mutants.match_recorded`, can still match it when `n` moves).

Not mutated: docstrings, type annotations, imports, decorators, and whatever can only change
an error message (anything under `raise`, an assert's message, logging and print calls).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import math
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

OPERATORS = {
    "arith": "an arithmetic operator swapped (+ -, * /, // /, % *, ** *, bit operators)",
    "compare": "a comparison negated (< >=, == !=, is / is not, in / not in)",
    "boundary": "a comparison's boundary moved (< <=, > >=)",
    "number": "a number off by one, or set to 0 / 1",
    "string": "a string emptied",
    "bool": "True / False swapped",
    "logic": "and / or swapped, a `not` removed, a unary minus removed",
    "slice": "a slice bound or an index moved by one",
    "remove": "a statement replaced by `pass`",
    "return": "a returned value replaced by None",
    "default": "a parameter's default value changed",
    "kwarg": "a keyword argument dropped from a call (the callee's default applies)",
}

_ARITH = {
    cst.Add: cst.Subtract,
    cst.Subtract: cst.Add,
    cst.Multiply: cst.Divide,
    cst.Divide: cst.Multiply,
    cst.FloorDivide: cst.Divide,
    cst.Modulo: cst.Multiply,
    cst.Power: cst.Multiply,
    cst.LeftShift: cst.RightShift,
    cst.RightShift: cst.LeftShift,
    cst.BitAnd: cst.BitOr,
    cst.BitOr: cst.BitAnd,
    cst.BitXor: cst.BitOr,
}
_AUG = {
    cst.AddAssign: cst.SubtractAssign,
    cst.SubtractAssign: cst.AddAssign,
    cst.MultiplyAssign: cst.DivideAssign,
    cst.DivideAssign: cst.MultiplyAssign,
    cst.FloorDivideAssign: cst.DivideAssign,
    cst.ModuloAssign: cst.MultiplyAssign,
    cst.PowerAssign: cst.MultiplyAssign,
    cst.BitAndAssign: cst.BitOrAssign,
    cst.BitOrAssign: cst.BitAndAssign,
}
_NEGATE = {
    cst.LessThan: cst.GreaterThanEqual,
    cst.LessThanEqual: cst.GreaterThan,
    cst.GreaterThan: cst.LessThanEqual,
    cst.GreaterThanEqual: cst.LessThan,
    cst.Equal: cst.NotEqual,
    cst.NotEqual: cst.Equal,
    cst.Is: cst.IsNot,
    cst.IsNot: cst.Is,
    cst.In: cst.NotIn,
    cst.NotIn: cst.In,
}
_BOUNDARY = {
    cst.LessThan: cst.LessThanEqual,
    cst.LessThanEqual: cst.LessThan,
    cst.GreaterThan: cst.GreaterThanEqual,
    cst.GreaterThanEqual: cst.GreaterThan,
}
# Calls whose arguments only ever reach an error message or a log line.
_MESSAGE_CALLS = {"warn", "warning", "debug", "info", "print", "format"}


@dataclasses.dataclass(frozen=True)
class Mutant:
    id: str
    function: str  # qualified name of the enclosing function or class, "<module>" at top level
    operator: str
    line: int  # 1-based line of the change in the original source
    source: str  # the whole mutated module
    diff: str  # unified diff against the original

    @property
    def source_hash(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()[:20]

    @property
    def line_hash(self) -> str:
        return self.id.rsplit(":", 1)[-1]


def _new_op(op: cst.CSTNode, cls: type) -> cst.CSTNode:
    """The replacement operator keeps the original's whitespace so the diff is one token."""
    fields = {f: getattr(op, f) for f in ("whitespace_before", "whitespace_after") if hasattr(op, f)}
    if cls in (cst.IsNot, cst.NotIn):
        fields["whitespace_between"] = cst.SimpleWhitespace(" ")
    return cls(**fields)


def _docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))
    )


def _callee_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""


class _Collector(cst.CSTVisitor):
    """Walks the module once and records (node, replacement, operator, scope) for every mutation."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.found: list[tuple[cst.CSTNode, cst.CSTNode, str, str]] = []
        self.scope: list[str] = []
        self.function_depth = 0
        self.message_depth = 0  # inside `raise ...`, an assert's message or a logging call
        self.default_depth = 0

    def add(self, node: cst.CSTNode, replacement: cst.CSTNode, operator: str) -> None:
        if replacement.deep_equals(node):
            return
        self.found.append((node, replacement, operator, ".".join(self.scope) or "<module>"))

    # -- scopes and what is skipped -------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.scope.append(node.name.value)
        self.function_depth += 1
        for param in [*node.params.params, *node.params.kwonly_params, *node.params.posonly_params]:
            if param.default is not None:
                self.default_depth += 1
                param.default.visit(self)
                self.default_depth -= 1
        self._statements(node.body)
        return False  # parameters were visited above (defaults only); the body by _statements

    def _statements(self, body: cst.BaseSuite) -> None:
        statements = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
        for index, statement in enumerate(statements):
            if index == 0 and _docstring(statement):
                continue
            statement.visit(self)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scope.pop()
        self.function_depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.scope.append(node.name.value)
        self._statements(node.body)
        return False

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scope.pop()

    def visit_Module(self, node: cst.Module) -> bool:
        for index, statement in enumerate(node.body):
            if index == 0 and _docstring(statement):
                continue
            statement.visit(self)
        return False

    def visit_Annotation(self, node: cst.Annotation) -> bool:
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Decorator(self, node: cst.Decorator) -> bool:
        return False

    def visit_Raise(self, node: cst.Raise) -> bool:
        self.message_depth += 1
        return True

    def leave_Raise(self, original_node: cst.Raise) -> None:
        self.message_depth -= 1

    def visit_Assert(self, node: cst.Assert) -> bool:
        node.test.visit(self)
        return False  # the message is only a message

    def visit_Call(self, node: cst.Call) -> bool:
        if _callee_name(node) in _MESSAGE_CALLS:
            self.message_depth += 1
            for arg in node.args:
                arg.visit(self)
            self.message_depth -= 1
            return False
        if self.message_depth == 0:
            for arg in node.args:
                if arg.keyword is not None and node.args:
                    kept = [a for a in node.args if a is not arg]
                    if kept:  # the trailing comma of the new last argument goes with the dropped one
                        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    self.add(node, node.with_changes(args=kept), "kwarg")
        return True

    # -- statements -----------------------------------------------------------------------
    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        if self.function_depth and not _docstring(node):
            small = node.body
            if not any(
                isinstance(s, (cst.Pass, cst.Return, cst.Global, cst.Nonlocal, cst.Import, cst.ImportFrom))
                for s in small
            ):
                self.add(node, node.with_changes(body=[cst.Pass()]), "remove")
        return True

    def visit_Return(self, node: cst.Return) -> bool:
        value = node.value
        if value is not None and not (isinstance(value, cst.Name) and value.value == "None"):
            self.add(node, node.with_changes(value=cst.Name("None")), "return")
        return True

    # -- expressions ----------------------------------------------------------------------
    def _constant_operator(self, default: str) -> str:
        return "default" if self.default_depth else default

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> bool:
        if self.message_depth == 0 and type(node.operator) in _ARITH:
            self.add(node, node.with_changes(operator=_new_op(node.operator, _ARITH[type(node.operator)])), "arith")
        return True

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        if type(node.operator) in _AUG:
            self.add(node, node.with_changes(operator=_new_op(node.operator, _AUG[type(node.operator)])), "arith")
        return True

    def visit_Comparison(self, node: cst.Comparison) -> bool:
        if self.message_depth:
            return True
        for index, target in enumerate(node.comparisons):
            for table, operator in ((_NEGATE, "compare"), (_BOUNDARY, "boundary")):
                new = table.get(type(target.operator))
                if new is not None:
                    targets = list(node.comparisons)
                    targets[index] = target.with_changes(operator=_new_op(target.operator, new))
                    self.add(node, node.with_changes(comparisons=targets), operator)
        return True

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> bool:
        if self.message_depth == 0:
            swapped = cst.Or if isinstance(node.operator, cst.And) else cst.And
            self.add(node, node.with_changes(operator=_new_op(node.operator, swapped)), "logic")
        return True

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> bool:
        if self.message_depth == 0 and isinstance(node.operator, (cst.Not, cst.Minus, cst.BitInvert)):
            if not isinstance(node.expression, (cst.Integer, cst.Float)):  # -1 is a number, mutated as one
                self.add(node, node.expression.with_changes(lpar=node.lpar, rpar=node.rpar), "logic")
        return True

    def visit_Integer(self, node: cst.Integer) -> bool:
        if self.message_depth:
            return True
        try:
            value = int(node.value.replace("_", ""), 0)
        except ValueError:
            return True
        operator = self._constant_operator("number")
        for new in dict.fromkeys([value + 1, value - 1 if value > 0 else None, 0 if value > 1 else None]):
            if new is not None:
                self.add(node, node.with_changes(value=str(new)), operator)
        return True

    def visit_Float(self, node: cst.Float) -> bool:
        if self.message_depth:
            return True
        value = float(node.value.replace("_", ""))
        operator = self._constant_operator("number")
        for new in dict.fromkeys([0.0 if value != 0 else 1.0, value + 1.0]):
            if math.isfinite(new):
                self.add(node, node.with_changes(value=repr(new)), operator)
        return True

    def visit_SimpleString(self, node: cst.SimpleString) -> bool:
        if self.message_depth or node.value.startswith(("b", "B", "rb", "br", "Rb", "bR")):
            return True
        if node.evaluated_value:
            quote = node.quote
            prefix = node.prefix
            self.add(node, node.with_changes(value=f"{prefix}{quote}{quote}"), self._constant_operator("string"))
        return True

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        if self.message_depth == 0:
            self.add(node, cst.SimpleString('""'), self._constant_operator("string"))
        return False

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
        if self.message_depth == 0:
            self.add(node, cst.SimpleString('""'), self._constant_operator("string"))
        return False

    def visit_Name(self, node: cst.Name) -> bool:
        if self.message_depth == 0 and node.value in ("True", "False"):
            new = "False" if node.value == "True" else "True"
            self.add(node, node.with_changes(value=new), self._constant_operator("bool"))
        return True

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        if self.message_depth:
            return True
        for index, element in enumerate(node.slice):
            for new_slice in _moved_bounds(element.slice):
                elements = list(node.slice)
                elements[index] = element.with_changes(slice=new_slice)
                self.add(node, node.with_changes(slice=elements), "slice")
        return True


def _plus(expression: cst.BaseExpression, delta: int) -> cst.BaseExpression:
    operator = cst.Add() if delta > 0 else cst.Subtract()
    return cst.BinaryOperation(left=expression, operator=operator, right=cst.Integer(str(abs(delta))))


def _moved_bounds(part: cst.BaseSlice) -> Iterator[cst.BaseSlice]:
    """Slice bounds and non-constant integer-like indices moved by one (constants are `number` mutants)."""
    if isinstance(part, cst.Slice):
        for field in ("lower", "upper"):
            bound = getattr(part, field)
            if bound is not None and not isinstance(bound, (cst.Integer, cst.UnaryOperation)):
                for delta in (1, -1):
                    yield part.with_changes(**{field: _plus(bound, delta)})
    elif isinstance(part, cst.Index) and isinstance(part.value, (cst.Name, cst.BinaryOperation)):
        if not (isinstance(part.value, cst.Name) and part.value.value in ("None", "Ellipsis", "True", "False")):
            for delta in (1, -1):
                yield part.with_changes(value=_plus(part.value, delta))


def _changed_lines(before: str, after: str) -> str:
    lines = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n".join(line[0] + line[1:].strip() for line in lines)


def generate(source: str, filename: str = "reference.py") -> list[Mutant]:
    """Every mutant of `source`, in source order, deduplicated by the code they produce."""
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    collector = _Collector()
    wrapper.visit(collector)
    positions = wrapper.resolve(PositionProvider)
    counters: dict[tuple[str, str], int] = {}
    seen: set[str] = {source}
    mutants: list[Mutant] = []
    for node, replacement, operator, scope in collector.found:
        mutated = module.deep_replace(node, replacement)
        assert isinstance(mutated, cst.Module)
        code = mutated.code
        key = (scope, operator)
        counters[key] = counters.get(key, 0) + 1
        if code in seen:
            continue
        try:
            compile(code, filename, "exec")
        except SyntaxError:
            continue
        seen.add(code)
        changed = _changed_lines(source, code)
        digest = hashlib.sha256(changed.encode()).hexdigest()[:6]
        diff = "".join(
            difflib.unified_diff(
                source.splitlines(keepends=True), code.splitlines(keepends=True), f"a/{filename}", f"b/{filename}", n=2
            )
        )
        mutants.append(
            Mutant(
                f"{scope}:{operator}:{counters[key]}:{digest}", scope, operator, positions[node].start.line, code, diff
            )
        )
    return mutants
