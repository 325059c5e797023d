"""Mutation operators: small, plausible changes to a reference solution's syntax tree.

Two kinds, each a named :class:`Operator` with what it embodies:

- **generic** operators (those of mutation-testing tools such as mutmut and cosmic-ray):
  arithmetic, comparison and boolean operators, constants and off-by-one, unary signs,
  slices, dropped statements, swapped arguments and operands, ``range`` bounds, in-place
  against copying, dropped keyword arguments and conversions;
- **course** operators, the mistakes of this course's students: the gradient's sign, a sum
  for a mean, a missing factor 2, the loss recorded after the step, a forgotten
  ``zero_grad`` or ``no_grad``, the learning rate applied twice, a velocity not carried,
  bias correction off by one, batches not reshuffled, the last partial batch dropped, an
  update that aliases its input... Each names the registered misconception
  (:mod:`gdcourse.grading.misconceptions`) it embodies, where one is registered.

Operators work on :mod:`ast` trees and match by pattern, never by a master's text, so a new
assignment gets its mutants with nothing written for it. Only nodes inside the master's
solution region (``### BEGIN SOLUTION`` .. ``### END SOLUTION``) are changed.

>>> source = "def f(x):\\n    return x + 1\\n"
>>> [m.operator for m in mutate_source("f", source, [(2, 2)])]
['arith_op', 'constant', 'constant', 'statement_dropped']
"""

from __future__ import annotations

import ast
import copy
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["COURSE", "GENERIC", "OPERATORS", "Mutant", "Operator", "mutate_source", "normal"]

#: Names a learning rate goes by in the masters and in students' code.
LR_NAMES = frozenset({"learn_rate", "learning_rate", "lr", "rate", "eta", "step_size", "alpha"})
#: Names of a loss record (a list of losses).
LOSS_WORDS = ("loss",)
#: Names of a path record (the points visited).
PATH_WORDS = ("path", "history", "trajectory", "points")
#: Names a computed gradient goes by.
GRAD_NAMES = frozenset({"dw", "db", "g", "grad", "grads", "gradient_value", "step", "dx"})


@dataclass(frozen=True)
class Site:
    """A node of the tree and where it hangs: ``parent.field`` or ``parent.field[index]``."""

    node: ast.AST
    parent: ast.AST | None
    field: str
    index: int | None
    function: ast.FunctionDef | None
    """The innermost function around the node."""
    loop: ast.For | ast.While | None
    """The innermost loop around the node, inside that function."""


Edit = Callable[[ast.Module, "Site"], None]
"""Changes the tree (a copy) at the site (resolved in that copy)."""


@dataclass(frozen=True)
class Operator:
    """A named transformation and the mistake it embodies.

    ``edits(site)`` gives, for one node, the ``(label, edit)`` pairs of the mutants made there
    (``label`` says what changes, for the report). ``misconception`` is the registered name the
    feedback should give, or None; ``misconception_of`` may choose it per site.
    """

    name: str
    kind: str  # "generic" or "course"
    description: str
    edits: Callable[[Site], list[tuple[str, Edit]]]
    misconception: str | None = None
    misconception_of: Callable[[Site], str | None] | None = None
    together: bool = False
    """Apply every edit of the function at once (one mutant): e.g. every ``.zero_()``."""

    def named(self, site: Site) -> str | None:
        if self.misconception_of is not None:
            return self.misconception_of(site)
        return self.misconception


@dataclass(frozen=True)
class Mutant:
    """One changed solution cell."""

    function: str
    operator: str
    kind: str
    label: str
    line: int
    """Line of the changed node in the cell (markers removed)."""
    source: str
    misconception: str | None
    description: str

    @property
    def ident(self) -> str:
        """A stable id: the function, the operator and a digest of the mutant's code."""
        digest = hashlib.sha256(self.source.encode()).hexdigest()[:10]
        return f"{self.function}/{self.operator}/{digest}"


# ------------------------------------------------------------------ tree helpers


def normal(source: str) -> str:
    """The source as :func:`ast.unparse` writes it (comments and layout dropped)."""
    return ast.unparse(ast.parse(source))


def _walk(tree: ast.Module) -> list[Site]:
    """Every node with where it hangs, in a fixed order (the same for a deep copy)."""
    sites: list[Site] = []

    def visit(
        node: ast.AST,
        parent: ast.AST | None,
        field: str,
        index: int | None,
        function: ast.FunctionDef | None,
        loop: ast.For | ast.While | None,
    ) -> None:
        sites.append(Site(node, parent, field, index, function, loop))
        if isinstance(node, ast.FunctionDef):
            function, loop = node, None
        inner_loop = node if isinstance(node, ast.For | ast.While) else loop
        for name, value in ast.iter_fields(node):
            within = inner_loop if name in ("body", "orelse") else loop
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        visit(item, node, name, i, function, within)
            elif isinstance(value, ast.AST):
                visit(value, node, name, None, function, within)

    visit(tree, None, "", None, None, None)
    return sites


def _replace(site: Site, new: ast.AST | list[ast.stmt]) -> None:
    assert site.parent is not None
    if site.index is None:
        setattr(site.parent, site.field, new)
        return
    items = getattr(site.parent, site.field)
    if isinstance(new, list):
        items[site.index : site.index + 1] = new or [ast.Pass()]
    else:
        items[site.index] = new


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _stmts(text: str) -> list[ast.stmt]:
    return ast.parse(text).body


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _dotted(node: ast.AST) -> str:
    """``np.linalg.eigvalsh`` for the expression of a call's function, else ''."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _call_name(node: ast.AST) -> str:
    return _dotted(node.func) if isinstance(node, ast.Call) else ""


def _is_const(node: ast.AST, *values: object) -> bool:
    return (
        isinstance(node, ast.Constant)
        and not isinstance(node.value, bool)
        and isinstance(node.value, int | float)
        and (not values or node.value in values)
    )


def _has_lr(node: ast.AST) -> bool:
    return bool(_names(node) & LR_NAMES)


def _params(function: ast.FunctionDef | None) -> set[str]:
    if function is None:
        return set()
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    return {a.arg for a in every}


def _assigned(stmt: ast.stmt) -> set[str]:
    """Names a statement binds (``x = ...``, ``a, b = ...``, ``x += ...``; not ``x[i] = ...``)."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AugAssign | ast.AnnAssign):
        targets = [stmt.target]
    names = set()
    for target in targets:
        elts = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
        names |= {e.id for e in elts if isinstance(e, ast.Name)}
    return names


def _assign_target(site: Site, tree: ast.Module | None = None) -> set[str]:
    """Names assigned by the statement the site's node belongs to."""
    statement: ast.AST | None = None
    for candidate in ast.walk(site.function or ast.Module(body=[], type_ignores=[])):
        if (
            isinstance(candidate, ast.stmt)
            and not isinstance(candidate, ast.FunctionDef)
            and any(n is site.node for n in ast.walk(candidate))
        ):
            statement = candidate
    return _assigned(statement) if isinstance(statement, ast.stmt) else set()


def _append_of(stmt: ast.stmt, words: Sequence[str]) -> bool:
    """``name.append(...)`` where the name holds one of ``words``."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "append"
        and isinstance(func.value, ast.Name)
        and any(w in func.value.id.lower() for w in words)
    )


def _is_docstring(site: Site) -> bool:
    node = site.node
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _at(new: Callable[[Any], Any]) -> Edit:
    """An edit that replaces the site's node by ``new(node)``."""

    def edit(tree: ast.Module, site: Site) -> None:
        _replace(site, new(site.node))

    return edit


# ------------------------------------------------------------------ generic operators

_ARITH: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.MatMult: ast.Mult,
}
_COMPARE: dict[type[ast.cmpop], list[type[ast.cmpop]]] = {
    ast.Lt: [ast.LtE, ast.Gt],
    ast.LtE: [ast.Lt, ast.GtE],
    ast.Gt: [ast.GtE, ast.Lt],
    ast.GtE: [ast.Gt, ast.LtE],
    ast.Eq: [ast.NotEq],
    ast.NotEq: [ast.Eq],
    ast.Is: [ast.IsNot],
    ast.IsNot: [ast.Is],
    ast.In: [ast.NotIn],
    ast.NotIn: [ast.In],
}


def _arith(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.BinOp) or type(node.op) not in _ARITH:
        return []
    new_op = _ARITH[type(node.op)]

    def new(n: ast.AST) -> ast.AST:
        assert isinstance(n, ast.BinOp)
        return ast.BinOp(n.left, new_op(), n.right)

    return [(f"{type(node.op).__name__} -> {new_op.__name__}", _at(new))]


def _augassign(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.AugAssign) or type(node.op) not in _ARITH:
        return []
    new_op = _ARITH[type(node.op)]

    def new(n: ast.AST) -> ast.AST:
        assert isinstance(n, ast.AugAssign)
        return ast.AugAssign(n.target, new_op(), n.value)

    return [(f"{type(node.op).__name__}= -> {new_op.__name__}=", _at(new))]


def _compare(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.Compare):
        return []
    found: list[tuple[str, Edit]] = []
    for i, op in enumerate(node.ops):
        for other in _COMPARE.get(type(op), []):

            def new(n: ast.AST, i: int = i, other: type[ast.cmpop] = other) -> ast.AST:
                assert isinstance(n, ast.Compare)
                ops = list(n.ops)
                ops[i] = other()
                return ast.Compare(n.left, ops, n.comparators)

            found.append((f"{type(op).__name__} -> {other.__name__}", _at(new)))
    return found


def _boolop(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And

        def new(n: ast.AST) -> ast.AST:
            assert isinstance(n, ast.BoolOp)
            return ast.BoolOp(other(), n.values)

        return [(f"{type(node.op).__name__} -> {other.__name__}", _at(new))]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return [("not dropped", _at(lambda n: n.operand))]
    return []


def _unary(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return [("unary sign dropped", _at(lambda n: n.operand))]
    return []


def _constant(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.Constant):
        return []
    value = node.value
    if isinstance(value, bool):
        return [(f"{value} -> {not value}", _at(lambda n: ast.Constant(not value)))]
    if isinstance(value, int):
        return [
            (f"{value} -> {value + 1}", _at(lambda n: ast.Constant(value + 1))),
            (f"{value} -> {value - 1}", _at(lambda n: ast.Constant(value - 1))),
        ]
    if isinstance(value, float):
        other = value / 2 if value else 1.0
        return [
            (f"{value!r} -> {value + 1.0!r}", _at(lambda n: ast.Constant(value + 1.0))),
            (f"{value!r} -> {other!r}", _at(lambda n: ast.Constant(other))),
        ]
    return []  # strings are messages; None has no neighbour


def _range(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not (_call_name(node) == "range" and isinstance(node, ast.Call) and node.args):
        return []
    if len(node.args) != 1:
        return []
    stop = node.args[0]

    def shifted(delta: int) -> Edit:
        op = ast.Add() if delta > 0 else ast.Sub()
        return _at(lambda n: ast.Call(n.func, [ast.BinOp(stop, op, ast.Constant(1))], []))

    return [
        ("range(n) -> range(n - 1)", shifted(-1)),
        ("range(n) -> range(n + 1)", shifted(1)),
        (
            "range(n) -> range(1, n)",
            _at(lambda n: ast.Call(n.func, [ast.Constant(1), stop], [])),
        ),
    ]


def _slice(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.Slice):
        return []
    found: list[tuple[str, Edit]] = []
    for part in ("lower", "upper"):
        if getattr(node, part) is not None:

            def new(n: ast.AST, part: str = part) -> ast.AST:
                clone = copy.copy(n)
                setattr(clone, part, None)
                return clone

            found.append((f"slice {part} bound dropped", _at(new)))
    return found


def _statement(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        not isinstance(node, ast.stmt)
        or site.index is None
        or isinstance(
            node, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom | ast.Pass
        )
        or _is_docstring(site)
    ):
        return []
    return [(f"line dropped: {ast.unparse(node).splitlines()[0][:60]}", _at(lambda n: []))]


def _arguments(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.Call):
        return []
    args = node.args
    found: list[tuple[str, Edit]] = []
    for i in range(len(args) - 1):
        if isinstance(args[i], ast.Starred) or isinstance(args[i + 1], ast.Starred):
            continue

        def new(n: ast.AST, i: int = i) -> ast.AST:
            assert isinstance(n, ast.Call)
            swapped = list(n.args)
            swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
            return ast.Call(n.func, swapped, n.keywords)

        found.append((f"arguments {i + 1} and {i + 2} swapped", _at(new)))
    return found


def _operands(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.BinOp) and isinstance(
        node.op, ast.Sub | ast.Div | ast.Pow | ast.MatMult
    ):
        return [
            (
                "operands swapped",
                _at(lambda n: ast.BinOp(n.right, n.op, n.left)),
            )
        ]
    if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple):
        elts = node.targets[0].elts
        if len(node.targets) == 1 and len(elts) == 2:

            def new(n: ast.AST) -> ast.AST:
                assert isinstance(n, ast.Assign)
                target = n.targets[0]
                assert isinstance(target, ast.Tuple)
                return ast.Assign([ast.Tuple(target.elts[::-1], ast.Store())], n.value)

            return [("unpacked names swapped", _at(new))]
    return []


def _inplace(site: Site) -> list[tuple[str, Edit]]:
    """In place against copying: ``x = x - e`` <-> ``x -= e``; ``.copy()`` dropped;
    ``np.array`` -> ``np.asarray``."""
    node = site.node
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.BinOp)
        and isinstance(node.value.left, ast.Name)
        and node.value.left.id == node.targets[0].id
    ):

        def new(n: ast.AST) -> ast.AST:
            assert isinstance(n, ast.Assign) and isinstance(n.value, ast.BinOp)
            target = n.targets[0]
            assert isinstance(target, ast.Name)
            return ast.AugAssign(target, n.value.op, n.value.right)

        return [("x = x op e -> x op= e", _at(new))]
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):

        def copying(n: ast.AST) -> ast.AST:
            assert isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)
            load = ast.Name(n.target.id, ast.Load())
            return ast.Assign([n.target], ast.BinOp(load, n.op, n.value))

        return [("x op= e -> x = x op e", _at(copying))]
    name = _call_name(node)
    if isinstance(node, ast.Call) and name.endswith((".copy", ".clone")) and not node.args:
        return [(f"{name.rsplit('.', 1)[1]}() dropped", _at(lambda n: n.func.value))]
    if isinstance(node, ast.Call) and name in ("np.array", "numpy.array"):

        def asarray(n: ast.AST) -> ast.AST:
            assert isinstance(n, ast.Call)
            return ast.Call(_expr("np.asarray"), n.args, n.keywords)

        return [("np.array -> np.asarray", _at(asarray))]
    return []


def _keyword(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.Call):
        return []
    found: list[tuple[str, Edit]] = []
    for i, keyword in enumerate(node.keywords):
        if keyword.arg is None:
            continue

        def new(n: ast.AST, i: int = i) -> ast.AST:
            assert isinstance(n, ast.Call)
            return ast.Call(n.func, n.args, n.keywords[:i] + n.keywords[i + 1 :])

        found.append((f"keyword {keyword.arg}= dropped", _at(new)))
    return found


#: Calls whose removal is a plausible slip. ``float(...)`` is left alone: around a float64
#: result it changes nothing any check can see (``np.float64`` is a ``float``), so each such
#: mutant would be an equivalent one; ``.item()`` (a tensor for a number) is the course
#: operator ``tensor_returned``.
_CONVERSIONS = frozenset({"int", "list", "tuple", "abs", "np.asarray", "np.array", "np.abs"})


def _conversion(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    name = _call_name(node)
    if (
        isinstance(node, ast.Call)
        and name in _CONVERSIONS
        and len(node.args) == 1
        and not isinstance(node.args[0], ast.Starred)
    ):
        return [(f"{name}(...) dropped", _at(lambda n: n.args[0]))]
    return []


def _swap_call(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    pairs = {
        "min": "max",
        "max": "min",
        "np.all": "np.any",
        "np.any": "np.all",
        "np.min": "np.max",
        "np.max": "np.min",
    }
    name = _call_name(node)
    if isinstance(node, ast.Call) and name in pairs:
        other = pairs[name]
        return [(f"{name} -> {other}", _at(lambda n: ast.Call(_expr(other), n.args, n.keywords)))]
    if isinstance(node, ast.Break):
        return [("break -> continue", _at(lambda n: ast.Continue()))]
    return []


GENERIC: tuple[Operator, ...] = (
    Operator("arith_op", "generic", "an arithmetic operator replaced", _arith),
    Operator("augassign_op", "generic", "an augmented assignment's operator replaced", _augassign),
    Operator("compare_op", "generic", "a comparison replaced", _compare),
    Operator("bool_op", "generic", "and/or swapped, a not dropped", _boolop),
    Operator("unary_sign", "generic", "a unary sign dropped", _unary),
    Operator(
        "constant", "generic", "a number off by one (or halved), a boolean flipped", _constant
    ),
    Operator("range_bounds", "generic", "a range's bounds off by one", _range),
    Operator("slice_bounds", "generic", "a slice's bound dropped", _slice),
    Operator("statement_dropped", "generic", "a statement dropped", _statement),
    Operator("arguments_swapped", "generic", "two positional arguments swapped", _arguments),
    Operator("operands_swapped", "generic", "the operands of -, /, ** or @ swapped", _operands),
    Operator("in_place_or_copy", "generic", "in-place against copying", _inplace),
    Operator("keyword_dropped", "generic", "a keyword argument dropped", _keyword),
    Operator("conversion_dropped", "generic", "a conversion call dropped", _conversion),
    Operator("call_swapped", "generic", "min/max, all/any, break/continue swapped", _swap_call),
)


# ------------------------------------------------------------------ course operators


def _update_sub(site: Site) -> bool:
    """A subtraction that updates a parameter: ``x - lr * g``, ``x -= step``, ``w - lr * dw``."""
    node = site.node
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Sub):
        return _has_lr(node.value) or bool(_names(node.value) & GRAD_NAMES)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        if _has_lr(node.right):
            return True
        left = node.left
        return (
            isinstance(left, ast.Name)
            and left.id in _assign_target(site)
            and bool(_names(node.right) & GRAD_NAMES)
        )
    return False


def _gradient_sign(site: Site) -> list[tuple[str, Edit]]:
    if not _update_sub(site) or site.loop is None:
        return []
    if isinstance(site.node, ast.AugAssign):
        return [("-= -> +=", _at(lambda n: ast.AugAssign(n.target, ast.Add(), n.value)))]
    return [("- -> +", _at(lambda n: ast.BinOp(n.left, ast.Add(), n.right)))]


def _gradient_negated(site: Site) -> list[tuple[str, Edit]]:
    """A gradient function's result negated: (dw, db) -> (-dw, -db)."""
    node = site.node
    function = site.function
    if not (
        isinstance(node, ast.Return)
        and node.value is not None
        and function is not None
        and "gradient" in function.name
        and "descent" not in function.name
        and "numerical" not in function.name
        and "autograd" not in function.name
    ):
        return []

    def negate(n: ast.AST) -> ast.AST:
        assert isinstance(n, ast.Return) and n.value is not None
        value = n.value
        if isinstance(value, ast.Tuple):
            return ast.Return(
                ast.Tuple([ast.UnaryOp(ast.USub(), e) for e in value.elts], ast.Load())
            )
        return ast.Return(ast.UnaryOp(ast.USub(), value))

    return [("the gradient negated", _at(negate))]


def _lr_twice(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and site.loop):
        return []
    for side in ("left", "right"):
        operand = getattr(node, side)
        if isinstance(operand, ast.Name) and operand.id in LR_NAMES:
            name = operand.id

            def new(n: Any, name: str = name) -> ast.AST:
                return ast.BinOp(ast.Name(name, ast.Load()), ast.Mult(), n)

            return [(f"{name} applied twice", _at(new))]
    return []


def _in_loss_record(site: Site) -> bool:
    """Whether the node is inside ``losses.append(...)``."""
    function = site.function
    for stmt in ast.walk(function) if function is not None else []:
        if (
            isinstance(stmt, ast.stmt)
            and _append_of(stmt, LOSS_WORDS)
            and any(n is site.node for n in ast.walk(stmt))
        ):
            return True
    return False


def _loss_sum(site: Site) -> list[tuple[str, Edit]]:
    return _sum_for_mean(site, recorded=True)


def _sum_for_mean(site: Site, *, recorded: bool = False) -> list[tuple[str, Edit]]:
    node = site.node
    if not isinstance(node, ast.Call) or _in_loss_record(site) != recorded:
        return []
    name = _call_name(node)
    if name in ("np.mean", "torch.mean", "numpy.mean"):
        other = name.replace("mean", "sum")
        return [(f"{name} -> {other}", _at(lambda n: ast.Call(_expr(other), n.args, n.keywords)))]
    if name.endswith(".mean") and isinstance(node.func, ast.Attribute) and "." in name:
        return [
            (
                ".mean() -> .sum()",
                _at(
                    lambda n: ast.Call(
                        ast.Attribute(n.func.value, "sum", ast.Load()), n.args, n.keywords
                    )
                ),
            )
        ]
    if name.endswith("MSELoss") and not node.keywords:
        return [
            (
                "MSELoss() -> MSELoss(reduction='sum')",
                _at(
                    lambda n: ast.Call(n.func, [], [ast.keyword("reduction", ast.Constant("sum"))])
                ),
            )
        ]
    return []


def _missing_one_over_n(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        right = node.right
        if _call_name(right) == "len" or (
            isinstance(right, ast.Attribute) and right.attr in ("size", "numel")
        ):
            return [("/ n dropped", _at(lambda n: n.left))]
    return []


def _factor_two_context(site: Site) -> str | None:
    """A 2 in a divisor is the central difference's 2h; a 2 times a mean the MSE
    gradient's 2."""
    node = site.node
    parent = site.parent
    if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Div) and site.field == "right":
        return "wrong_divisor"
    if isinstance(node, ast.BinOp) and any(
        _call_name(side).endswith(("mean", "sum")) for side in (node.left, node.right)
    ):
        return "mse_gradient_missing_factor_2"
    return None


def _float32_context(site: Site) -> str | None:
    """float32 where autograd's gradient is asked in float64 (ps1's float32_tensor)."""
    function = site.function
    if function is not None and "torch" in _names(function):
        return "float32_tensor"
    return None


def _factor_two(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
        return []
    if _is_const(node.left, 2, 2.0):
        return [("factor 2 dropped", _at(lambda n: n.right))]
    if _is_const(node.right, 2, 2.0):
        return [("factor 2 dropped", _at(lambda n: n.left))]
    return []


def _rate_bound_halved(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _is_const(node.left, 2):
        return [
            ("2 / L -> 1 / L", _at(lambda n: ast.BinOp(ast.Constant(1.0), ast.Div(), n.right)))
        ]
    return []


def _loop_body_edit(
    site: Site, change: Callable[[list[ast.stmt]], list[ast.stmt] | None]
) -> list[tuple[str, Edit]]:
    """An edit of a for loop's body as a whole (``change`` returns None when it does not
    apply)."""
    node = site.node
    if not isinstance(node, ast.For) or change(copy.deepcopy(node.body)) is None:
        return []

    def edit(tree: ast.Module, where: Site) -> None:
        assert isinstance(where.node, ast.For)
        body = change(where.node.body)
        assert body is not None
        where.node.body = body

    return [("loop body rearranged", edit)]


def _deps(body: list[ast.stmt], upto: int, names: set[str]) -> list[ast.stmt]:
    """The statements of ``body[:upto]`` that compute ``names`` (and what they need)."""
    chosen: list[int] = []
    wanted = set(names)
    for i in range(upto - 1, -1, -1):
        if _assigned(body[i]) & wanted and not isinstance(body[i], ast.AugAssign):
            chosen.append(i)
            wanted |= _names(body[i]) - _assigned(body[i])
    return [copy.deepcopy(body[i]) for i in sorted(chosen)]


def _record_after(body: list[ast.stmt]) -> list[ast.stmt] | None:
    """The loss is recorded after the update, at the updated parameters."""
    for i, stmt in enumerate(body):
        if _append_of(stmt, LOSS_WORDS) and i < len(body) - 1:
            needed = _deps(body, i, _names(stmt))
            rest = body[:i] + body[i + 1 :]
            return rest + needed + [stmt]
    for stmt in body:  # a nested loop (epochs, then batches)
        if isinstance(stmt, ast.For):
            inner = _record_after(stmt.body)
            if inner is not None:
                stmt.body = inner
                return body
    return None


def _record_before(body: list[ast.stmt]) -> list[ast.stmt] | None:
    """The point is recorded before the step: the path repeats the start, misses the end."""
    for i, stmt in enumerate(body):
        if _append_of(stmt, PATH_WORDS) and i > 0:
            return [stmt, *body[:i], *body[i + 1 :]]
    return None


def _zero_grad(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return []
    name = _call_name(node.value)
    if name.endswith((".grad.zero_", ".zero_grad")) or name == "zero_grad":
        return [(f"{name}() dropped", _at(lambda n: []))]
    if isinstance(node, ast.Assign):
        return []
    return []


def _no_grad(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.With) and any(
        _call_name(item.context_expr).endswith("no_grad") for item in node.items
    ):
        return [("with torch.no_grad() dropped", _at(lambda n: n.body))]
    return []


def _initialised_zero(function: ast.FunctionDef | None) -> set[str]:
    names = set()
    for stmt in function.body if function else []:
        if isinstance(stmt, ast.Assign) and _call_name(stmt.value).endswith(
            ("zeros_like", "zeros")
        ):
            names |= _assigned(stmt)
    return names


def _state_not_carried(site: Site) -> list[tuple[str, Edit]]:
    """A velocity (or moment) reset to zero at every step instead of carried over."""
    node = site.node
    if not isinstance(node, ast.For):
        return []
    state = _initialised_zero(site.function) & {n for s in node.body for n in _assigned(s)}
    found: list[tuple[str, Edit]] = []
    for name in sorted(state):

        def edit(tree: ast.Module, where: Site, name: str = name) -> None:
            assert isinstance(where.node, ast.For)
            where.node.body[:0] = _stmts(f"{name} = {name} * 0")

        found.append((f"{name} reset at every step", edit))
    return found


def _bias_exponent(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Pow)
        and isinstance(node.right, ast.BinOp)
        and isinstance(node.right.op, ast.Add)
        and _is_const(node.right.right, 1)
    ):
        return [
            (
                "beta ** (k + 1) -> beta ** k",
                _at(lambda n: ast.BinOp(n.left, ast.Pow(), n.right.left)),
            )
        ]
    return []


def _bias_exponent_late(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Pow)
        and isinstance(node.right, ast.BinOp)
        and isinstance(node.right.op, ast.Add)
        and _is_const(node.right.right, 1)
    ):
        return [
            (
                "beta ** (k + 1) -> beta ** (k + 2)",
                _at(
                    lambda n: ast.BinOp(
                        n.left, ast.Pow(), ast.BinOp(n.right.left, ast.Add(), ast.Constant(2))
                    )
                ),
            )
        ]
    return []


def _bias_dropped(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.right, ast.BinOp)
        and isinstance(node.right.op, ast.Sub)
        and _is_const(node.right.left, 1)
        and isinstance(node.right.right, ast.BinOp)
        and isinstance(node.right.right.op, ast.Pow)
    ):
        return [("bias correction dropped", _at(lambda n: n.left))]
    return []


def _keyword_value(site: Site, call_suffix: str, key: str) -> ast.keyword | None:
    node = site.node
    if isinstance(node, ast.Call) and _call_name(node).endswith(call_suffix):
        for keyword in node.keywords:
            if keyword.arg == key:
                return keyword
    return None


def _not_reshuffled(site: Site) -> list[tuple[str, Edit]]:
    found: list[tuple[str, Edit]] = []
    if _keyword_value(site, "DataLoader", "shuffle") is not None:

        def new(n: ast.AST) -> ast.AST:
            assert isinstance(n, ast.Call)
            keywords = [
                ast.keyword("shuffle", ast.Constant(False)) if k.arg == "shuffle" else k
                for k in n.keywords
            ]
            keywords = [k for k in keywords if k.arg != "generator"]
            return ast.Call(n.func, n.args, keywords)

        found.append(("shuffle=False", _at(new)))
    node = site.node
    if (  # for X, Y in loader inside an epoch loop: the batches drawn once, reused
        isinstance(node, ast.For)
        and site.loop is not None
        and isinstance(node.iter, ast.Name)
        and site.function is not None
    ):
        name = node.iter.id

        def edit(tree: ast.Module, where: Site, name: str = name) -> None:
            function = where.function
            assert function is not None and isinstance(where.node, ast.For)
            where.node.iter = ast.Name(f"_{name}_batches", ast.Load())
            function.body[:0] = _stmts(f"_{name}_batches = list({name})")

        found.append((f"the batches of {name} drawn once for every epoch", edit))
    return found


def _drop_last(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.Call) and _call_name(node).endswith("DataLoader"):
        return [
            (
                "drop_last=True",
                _at(
                    lambda n: ast.Call(
                        n.func, n.args, [*n.keywords, ast.keyword("drop_last", ast.Constant(True))]
                    )
                ),
            )
        ]
    node = site.node
    if isinstance(node, ast.For) and isinstance(node.target, ast.Tuple) and site.loop is not None:
        first = node.target.elts[0]
        if isinstance(first, ast.Name) and isinstance(node.iter, ast.Name):
            loader, batch = node.iter.id, first.id

            def edit(tree: ast.Module, where: Site) -> None:
                assert isinstance(where.node, ast.For)
                where.node.body[:0] = _stmts(
                    f"if len({batch}) < getattr({loader}, 'batch_size', None or len({batch})):\n"
                    "    continue"
                )

            return [("the last, smaller batch skipped", edit)]
    return []


def _seed_ignored(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.Call) and _call_name(node).endswith("manual_seed") and node.args:
        return [
            (
                "manual_seed(seed) -> manual_seed(0)",
                _at(lambda n: ast.Call(n.func, [ast.Constant(0)], [])),
            )
        ]
    return []


def _in_place_updates(function: ast.FunctionDef, name: str) -> list[ast.Assign]:
    return [
        s
        for s in ast.walk(function)
        if isinstance(s, ast.Assign)
        and len(s.targets) == 1
        and isinstance(s.targets[0], ast.Name)
        and s.targets[0].id == name
        and isinstance(s.value, ast.BinOp)
        and isinstance(s.value.left, ast.Name)
        and s.value.left.id == name
    ]


def _make_in_place(function: ast.FunctionDef, name: str) -> None:
    for stmt in _in_place_updates(function, name):
        target = stmt.targets[0]
        assert isinstance(stmt.value, ast.BinOp) and isinstance(target, ast.Name)
        augmented = ast.AugAssign(target, stmt.value.op, stmt.value.right)
        for parent in ast.walk(function):
            for _, value in ast.iter_fields(parent):
                if isinstance(value, list) and stmt in value:
                    value[value.index(stmt)] = augmented


def _aliases_input(site: Site) -> list[tuple[str, Edit]]:
    """``x = np.array(start)`` -> ``np.asarray(start)`` and updates made in place: the caller's
    array is changed."""
    node = site.node
    function = site.function
    if not (
        isinstance(node, ast.Assign)
        and function is not None
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and _call_name(node.value) in ("np.array", "numpy.array")
        and isinstance(node.value, ast.Call)
        and node.value.args
        and _names(node.value.args[0]) & _params(function)
    ):
        return []
    name = node.targets[0].id
    if not _in_place_updates(function, name):
        return []

    def edit(tree: ast.Module, where: Site) -> None:
        assert isinstance(where.node, ast.Assign) and isinstance(where.node.value, ast.Call)
        where.node.value.func = _expr("np.asarray")
        assert where.function is not None
        _make_in_place(where.function, name)

    return [(f"{name} aliases the argument and is updated in place", edit)]


def _path_not_copied(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    function = site.function
    if not (isinstance(node, ast.stmt) and function is not None and _append_of(node, PATH_WORDS)):
        return []
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    argument = node.value.args[0] if node.value.args else None
    if not (
        isinstance(argument, ast.Call)
        and isinstance(argument.func, ast.Attribute)
        and _call_name(argument).endswith(".copy")
    ):
        return []
    inner = argument.func.value
    if not isinstance(inner, ast.Name) or not _in_place_updates(function, inner.id):
        return []
    name = inner.id

    def edit(tree: ast.Module, where: Site) -> None:
        assert isinstance(where.node, ast.Expr) and isinstance(where.node.value, ast.Call)
        where.node.value.args = [ast.Name(name, ast.Load())]
        assert where.function is not None
        _make_in_place(where.function, name)
        for stmt in ast.walk(where.function):  # path = [x.copy()]: the start not copied either
            if (
                isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.List)
                and len(stmt.value.elts) == 1
                and ast.unparse(stmt.value.elts[0]) == f"{name}.copy()"
            ):
                stmt.value.elts = [ast.Name(name, ast.Load())]

    return [(f"the path appends {name} itself, updated in place", edit)]


def _gradient_outside(site: Site) -> list[tuple[str, Edit]]:
    """The gradient computed once, before the loop (with what it needs)."""
    node = site.node
    if not isinstance(node, ast.For) or site.function is None or site.index is None:
        return []
    body = node.body
    hoisted = [
        i
        for i, s in enumerate(body)
        if isinstance(s, ast.Assign)
        and _assigned(s) & GRAD_NAMES
        and "backward" not in ast.unparse(s)
        and (_names(s) & {"gradient"} or _assigned(s) & {"dw", "db"})
    ]
    if not hoisted:
        return []

    def edit(tree: ast.Module, where: Site) -> None:
        assert isinstance(where.node, ast.For) and where.parent is not None
        loop_body = where.node.body
        moved: list[ast.stmt] = []
        for i in hoisted:
            moved.extend(_deps(loop_body, i, _names(loop_body[i]) - _assigned(loop_body[i])))
            moved.append(loop_body[i])
        unique: list[ast.stmt] = []
        for stmt in moved:
            if all(ast.dump(stmt) != ast.dump(u) for u in unique):
                unique.append(stmt)
        where.node.body = [s for i, s in enumerate(loop_body) if i not in hoisted] or [ast.Pass()]
        siblings = getattr(where.parent, where.field)
        assert where.index is not None
        siblings[where.index : where.index] = unique

    return [("the gradient computed once, before the loop", edit)]


def _lookahead(site: Site, *, sign: int) -> list[tuple[str, Edit]]:
    node = site.node
    if not (
        isinstance(node, ast.Call)
        and _call_name(node) == "gradient"
        and node.args
        and isinstance(node.args[0], ast.BinOp)
        and isinstance(node.args[0].op, ast.Add)
    ):
        return []
    if sign == 0:
        return [
            (
                "gradient at x, not the look-ahead point",
                _at(lambda n: ast.Call(n.func, [n.args[0].left], [])),
            )
        ]
    return [
        (
            "look-ahead x - momentum * v",
            _at(
                lambda n: ast.Call(
                    n.func, [ast.BinOp(n.args[0].left, ast.Sub(), n.args[0].right)], []
                )
            ),
        )
    ]


def _schedule_shift(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    params = _params(site.function)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Name)
        and node.func.id in params
        and (node.func.id in LR_NAMES or "schedule" in node.func.id)
    ):
        return [
            (
                "schedule(k) -> schedule(k + 1)",
                _at(
                    lambda n: ast.Call(
                        n.func, [ast.BinOp(n.args[0], ast.Add(), ast.Constant(1))], n.keywords
                    )
                ),
            )
        ]
    if (
        isinstance(node, ast.Call)
        and _call_name(node) == "min"
        and len(node.args) == 2
        and isinstance(node.args[0], ast.Name)
        and node.args[0].id in params
    ):
        return [
            (
                "min(t, total) -> min(t + 1, total)",
                _at(
                    lambda n: ast.Call(
                        n.func, [ast.BinOp(n.args[0], ast.Add(), ast.Constant(1)), n.args[1]], []
                    )
                ),
            )
        ]
    return []


def _eps_inside(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Add)
        and _call_name(node.left).endswith("sqrt")
        and isinstance(node.left, ast.Call)
    ):
        return [
            (
                "sqrt(s) + eps -> sqrt(s + eps)",
                _at(
                    lambda n: ast.Call(
                        n.left.func, [ast.BinOp(n.left.args[0], ast.Add(), n.right)], []
                    )
                ),
            )
        ]
    return []


def _unpack_swapped(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Tuple)
        and len(node.targets[0].elts) == 2
        and isinstance(node.value, ast.Name)
        and node.value.id in _params(site.function)
    ):
        return [
            (
                "unpacked parameters swapped",
                _at(
                    lambda n: ast.Assign(
                        [ast.Tuple(n.targets[0].elts[::-1], ast.Store())], n.value
                    )
                ),
            )
        ]
    return []


def _square_context(site: Site) -> str | None:
    targets = _assign_target(site)
    if "s" in targets or "v_hat" in targets:
        return "second_moment_not_squared"
    if "momentum" in targets:
        return "momentum_not_squared"
    return None


def _square_dropped(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and _is_const(node.right, 2):
        return [("** 2 dropped", _at(lambda n: n.left))]
    return []


def _half_shift(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and _is_const(node.right, 2)
        and isinstance(node.left, ast.BinOp)
        and isinstance(node.left.op, ast.Add)
        and _is_const(node.left.left, 1)
    ):
        return [("(1 + cos) / 2 -> cos", _at(lambda n: n.left.right))]
    return []


def _clamp(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.Call) and _call_name(node) == "min" and len(node.args) == 2:
        return [("min(t, total) -> t", _at(lambda n: n.args[0]))]
    return []


def _eigen_end(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and "eig" in node.value.id
        and isinstance(node.slice, ast.UnaryOp)
        and isinstance(node.slice.op, ast.USub)
    ):
        return [
            (
                "largest -> smallest eigenvalue",
                _at(lambda n: ast.Subscript(n.value, ast.Constant(0), ast.Load())),
            )
        ]
    return []


def _smallest_context(site: Site) -> str | None:
    return "smallest_eigenvalue" if site.function and "rate" in site.function.name else None


def _diagonal(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.Call) and _call_name(node).endswith(("eigvalsh", "eigvals")):
        return [
            (
                "eigenvalues -> sorted diagonal",
                _at(
                    lambda n: ast.Call(
                        _expr("np.sort"), [ast.Call(_expr("np.diag"), n.args, [])], []
                    )
                ),
            )
        ]
    return []


def _unsorted_eigenvalues(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.Call) and _call_name(node).endswith("eigvalsh"):
        return [
            (
                "eigvalsh -> eigvals (unsorted, maybe complex)",
                _at(lambda n: ast.Call(_expr("np.linalg.eigvals"), n.args, [])),
            )
        ]
    return []


def _tensor_returned(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    name = _call_name(node)
    if isinstance(node, ast.Call) and name.endswith(".item") and not node.args:
        return [(".item() dropped", _at(lambda n: n.func.value))]
    if isinstance(node, ast.Return) and node.value is not None:
        text = ast.unparse(node.value)
        if ".numpy()" in text and isinstance(node.value, ast.Call):
            base: ast.expr = node.value
            while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
                base = base.func.value
            found = base

            return [("the tensor returned, not its NumPy array", _at(lambda n: ast.Return(found)))]
    return []


def _float32(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if isinstance(node, ast.Attribute) and node.attr == "float64":
        return [
            ("float64 -> float32", _at(lambda n: ast.Attribute(n.value, "float32", ast.Load())))
        ]
    return []


def _forward_difference(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.BinOp)
        and isinstance(node.left.op, ast.Sub)
        and isinstance(node.left.right, ast.Call)
        and node.left.right.args
        and isinstance(node.left.right.args[0], ast.BinOp)
    ):
        return []

    def new(n: ast.AST) -> ast.AST:
        assert isinstance(n, ast.BinOp) and isinstance(n.left, ast.BinOp)
        back = n.left.right
        assert isinstance(back, ast.Call) and isinstance(back.args[0], ast.BinOp)
        here = ast.Call(back.func, [back.args[0].left], [])
        divisor = n.right
        if isinstance(divisor, ast.BinOp) and _is_const(divisor.left, 2):
            divisor = divisor.right
        return ast.BinOp(ast.BinOp(n.left.left, ast.Sub(), here), ast.Div(), divisor)

    return [("central -> forward difference", _at(new))]


def _start_missing(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.List)
        and len(node.value.elts) == 1
        and _assigned(node) & {n for n in _assigned(node) if any(w in n for w in PATH_WORDS)}
    ):
        return [
            (
                "the path starts empty",
                _at(lambda n: ast.Assign(n.targets, ast.List([], ast.Load()))),
            )
        ]
    return []


def _tolerance_on_gradient(site: Site) -> list[tuple[str, Edit]]:
    """``|learn_rate * g| <= tol`` -> ``|g| <= tol``, for a step named in the loop."""
    node = site.node
    if not (
        isinstance(node, ast.Compare)
        and "tol" in _names(node)
        and site.loop is not None
        and isinstance(site.loop, ast.For)
    ):
        return []
    steps = {}
    for stmt in site.loop.body:
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, ast.BinOp)
            and isinstance(stmt.value.op, ast.Mult)
            and _has_lr(stmt.value.left)
        ):
            for name in _assigned(stmt):
                steps[name] = ast.unparse(stmt.value.left)
    used = _names(node) & set(steps)
    if not used:
        return []
    name = sorted(used)[0]

    def new(n: ast.AST) -> ast.AST:
        text = ast.unparse(n).replace(name, f"({name} / {steps[name]})")
        return _expr(text)

    return [(f"tolerance on {name} / {steps[name]}", _at(new))]


def _guard_dropped(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.If)
        and len(node.body) == 1
        and isinstance(node.body[0], ast.Raise)
        and site.index is not None
    ):
        return [(f"argument check dropped: {ast.unparse(node.test)[:50]}", _at(lambda n: []))]
    return []


def _guard_boundary(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if not (isinstance(node, ast.If) and node.body and isinstance(node.body[0], ast.Raise)):
        return []
    loose = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
    found: list[tuple[str, Edit]] = []
    comparisons = [c for c in ast.walk(node.test) if isinstance(c, ast.Compare)]
    for k, comparison in enumerate(comparisons):
        for i, op in enumerate(comparison.ops):
            if type(op) not in loose:
                continue
            other = loose[type(op)]

            def edit(
                tree: ast.Module,
                where: Site,
                k: int = k,
                i: int = i,
                other: type[ast.cmpop] = other,
            ) -> None:
                assert isinstance(where.node, ast.If)
                target = [c for c in ast.walk(where.node.test) if isinstance(c, ast.Compare)][k]
                target.ops[i] = other()

            found.append((f"argument check's bound moved: {ast.unparse(comparison)[:40]}", edit))
    return found


def _momentum_on_gradient(site: Site) -> list[tuple[str, Edit]]:
    """``v = momentum * v - lr * g`` -> ``v = momentum * g - lr * g``... the heavy ball's
    common slip: the momentum multiplies the gradient instead of the velocity."""
    node = site.node
    found = _velocity_update(node) if isinstance(node, ast.stmt) else None
    if found is None:
        return []
    velocity, momentum_node, step = found
    if not isinstance(step, ast.BinOp):
        return []
    gradient = ast.unparse(step.right)
    momentum = ast.unparse(momentum_node)
    rate = ast.unparse(step.left)

    def new(n: ast.AST) -> list[ast.stmt]:
        return _stmts(f"{velocity} = -{rate} * {momentum} * {gradient}")

    return [("momentum applied to the gradient", _at(new))]


def _loop_count(site: Site) -> list[tuple[str, Edit]]:
    """``range(epochs)`` one short or one long: an update (or a coordinate) too few or many."""
    node = site.node
    if not (
        isinstance(node, ast.Call)
        and _call_name(node) == "range"
        and len(node.args) == 1
        and (
            (isinstance(node.args[0], ast.Name) and node.args[0].id in _params(site.function))
            or _call_name(node.args[0]) == "len"
            or (isinstance(node.args[0], ast.Attribute) and node.args[0].attr == "size")
        )
    ):
        return []
    return _range(site)[:2]


_PAIRED = {"dw": "db", "db": "dw", "grad_w": "grad_b", "grad_b": "grad_w"}


def _swapped_pair(site: Site) -> list[tuple[str, Edit]]:
    """dw and db (w.grad and b.grad; w and b in a formula) swapped where they are used."""
    node = site.node
    function = site.function
    if function is None:
        return []
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in _PAIRED:
        other = _PAIRED[node.id]
        return [(f"{node.id} <-> {other}", _at(lambda n: ast.Name(other, ast.Load())))]
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "grad"
        and isinstance(node.value, ast.Name)
        and node.value.id in ("w", "b")
        and {"w", "b"} <= _names(function)
    ):
        other = "b" if node.value.id == "w" else "w"
        return [
            (
                f"{node.value.id}.grad <-> {other}.grad",
                _at(lambda n: ast.Attribute(ast.Name(other, ast.Load()), "grad", ast.Load())),
            )
        ]
    if (
        isinstance(node, ast.Return)
        and "gradient" in function.name
        and "descent" not in function.name
        and isinstance(node.value, ast.Tuple)
        and len(node.value.elts) == 2
    ):
        return [
            (
                "(dw, db) returned as (db, dw)",
                _at(lambda n: ast.Return(ast.Tuple(n.value.elts[::-1], ast.Load()))),
            )
        ]
    formula = [s for s in function.body if not isinstance(s, ast.Expr)]  # docstring aside
    if (
        len(formula) == 1
        and isinstance(formula[0], ast.Return)
        and isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and node.id in ("w", "b")
        and {"w", "b"} <= _params(function)
    ):
        other = "b" if node.id == "w" else "w"
        return [(f"{node.id} <-> {other}", _at(lambda n: ast.Name(other, ast.Load())))]
    return []


def _start_ignored(site: Site) -> list[tuple[str, Edit]]:
    node = site.node
    if (
        isinstance(node, ast.Name)
        and isinstance(node.ctx, ast.Load)
        and node.id in ("w0", "b0", "x0")
        and node.id in _params(site.function)
    ):
        return [(f"{node.id} ignored (0.0)", _at(lambda n: ast.Constant(0.0)))]
    return []


def _zero_before_step(body: list[ast.stmt]) -> list[ast.stmt] | None:
    """The gradients zeroed between backward() and the update: the update uses zeros."""
    zeroing = [
        i
        for i, s in enumerate(body)
        if isinstance(s, ast.Expr) and _call_name(s.value).endswith((".grad.zero_", "zero_grad"))
    ]
    backward = [
        i
        for i, s in enumerate(body)
        if isinstance(s, ast.Expr) and _call_name(s.value).endswith(".backward")
    ]
    if not zeroing or not backward:
        for stmt in body:
            if isinstance(stmt, ast.For):
                inner = _zero_before_step(stmt.body)
                if inner is not None:
                    stmt.body = inner
                    return body
        return None
    after = backward[0]
    if all(i == after + 1 + k for k, i in enumerate(zeroing)):
        return None  # already right after backward (then the step comes first: not this)
    moved = [body[i] for i in zeroing]
    rest = [s for i, s in enumerate(body) if i not in zeroing]
    at = rest.index(body[after]) + 1
    return rest[:at] + moved + rest[at:]


def _reset_hoisted(site: Site) -> list[tuple[str, Edit]]:
    """A work array made once before the loop instead of afresh in every iteration."""
    node = site.node
    if not isinstance(node, ast.For) or site.index is None:
        return []
    made = [
        i
        for i, s in enumerate(node.body)
        if isinstance(s, ast.Assign) and _call_name(s.value).endswith(("zeros_like", "zeros"))
    ]
    if not made:
        return []

    def edit(tree: ast.Module, where: Site) -> None:
        assert isinstance(where.node, ast.For) and where.parent is not None
        moved = [where.node.body[i] for i in made]
        where.node.body = [s for i, s in enumerate(where.node.body) if i not in made]
        siblings = getattr(where.parent, where.field)
        assert where.index is not None
        siblings[where.index : where.index] = moved

    return [("work array made once, before the loop", edit)]


# ------------------------------------------------------------------ course operators (issue 19)
# Numerical gradients, autograd, plain and heavy-ball descent: mistakes seen in ps1, ps2, ps4
# and ps6 (each matched by pattern; none changes a master's text by name).


def _perturbation_site(site: Site) -> bool:
    """``step[i] = h``: one component of a work array set to the difference step."""
    node = site.node
    return (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Subscript)
        and isinstance(node.targets[0].slice, ast.Name)
        and isinstance(node.value, ast.Name)
        and node.value.id in _params(site.function)
        and site.loop is not None
    )


def _step_size(site: Site) -> list[tuple[str, Edit]]:
    """h too large (1e4 h) or too small (1e-6 h): truncation or rounding error wins."""
    if not _perturbation_site(site):
        return []
    out: list[tuple[str, Edit]] = []
    for label, factor in (("h too large (h * 1e4)", "1e4"), ("h too small (h * 1e-6)", "1e-6")):

        def edit(tree: ast.Module, where: Site, factor: str = factor) -> None:
            node = where.node
            assert isinstance(node, ast.Assign)
            node.value = ast.BinOp(node.value, ast.Mult(), _expr(factor))

        out.append((label, edit))
    return out


def _all_perturbed(site: Site) -> list[tuple[str, Edit]]:
    """``step[i] = h`` -> ``step[:] = h``: every component perturbed at once."""
    if not _perturbation_site(site):
        return []

    def edit(tree: ast.Module, where: Site) -> None:
        node = where.node
        assert isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript)
        node.targets[0].slice = ast.Slice()

    return [("every component perturbed at once (step[:] = h)", edit)]


def _difference_call(node: ast.AST) -> bool:
    """``(f(p + s) - f(p - s)) / d``: a central difference."""
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.BinOp)
        and isinstance(node.left.op, ast.Sub)
        and all(
            isinstance(c, ast.Call) and len(c.args) == 1 and isinstance(c.args[0], ast.BinOp)
            for c in (node.left.left, node.left.right)
        )
    )


def _not_restored(site: Site) -> list[tuple[str, Edit]]:
    """``f(p + s)`` -> ``f((p := p + s))``: the point stays perturbed for what follows."""
    if not _difference_call(site.node):
        return []

    def new(n: ast.BinOp) -> ast.AST:
        assert isinstance(n.left, ast.BinOp) and isinstance(n.left.left, ast.Call)
        arg = n.left.left.args[0]
        assert isinstance(arg, ast.BinOp)
        if isinstance(arg.left, ast.Name):
            n.left.left.args[0] = ast.NamedExpr(ast.Name(arg.left.id, ast.Store()), arg)
        return n

    return [("the perturbed point not restored", _at(new))]


def _backward_difference(site: Site) -> list[tuple[str, Edit]]:
    """A backward difference ``(f(p) - f(p - s)) / h`` for the central one."""
    if not _difference_call(site.node):
        return []

    def new(n: ast.BinOp) -> ast.AST:
        assert isinstance(n.left, ast.BinOp) and isinstance(n.left.left, ast.Call)
        ahead = n.left.left
        arg = ahead.args[0]
        assert isinstance(arg, ast.BinOp)
        here = ast.Call(ahead.func, [arg.left], [])
        divisor = n.right
        if isinstance(divisor, ast.BinOp) and _is_const(divisor.left, 2):
            divisor = divisor.right
        return ast.BinOp(ast.BinOp(here, ast.Sub(), n.left.right), ast.Div(), divisor)

    return [("central -> backward difference", _at(new))]


def _divisor_precedence(site: Site) -> list[tuple[str, Edit]]:
    """``/ (2 * h)`` written ``/ 2 * h``: multiplied by h instead of divided."""
    node = site.node
    if not (
        _difference_call(node)
        and isinstance(node, ast.BinOp)
        and isinstance(node.right, ast.BinOp)
        and isinstance(node.right.op, ast.Mult)
        and _is_const(node.right.left, 2)
    ):
        return []

    def new(n: ast.BinOp) -> ast.AST:
        assert isinstance(n.right, ast.BinOp)
        return ast.BinOp(ast.BinOp(n.left, ast.Div(), n.right.left), ast.Mult(), n.right.right)

    return [("/ (2 * h) written / 2 * h", _at(new))]


def _scalar_perturbation(site: Site) -> list[tuple[str, Edit]]:
    """``f(p + s) - f(p - s)`` with the scalar h for the one-hot s: all components moved."""
    node = site.node
    if not _difference_call(node) or site.function is None:
        return []
    assert isinstance(node, ast.BinOp) and isinstance(node.left, ast.BinOp)
    ahead = node.left.left
    assert isinstance(ahead, ast.Call) and isinstance(ahead.args[0], ast.BinOp)
    perturbation = ahead.args[0].right
    # the step's value: the parameter assigned to one of its components
    value = None
    for stmt in ast.walk(site.function):
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.targets[0], ast.Subscript)
            and ast.unparse(stmt.targets[0].value) == ast.unparse(perturbation)
            and isinstance(stmt.value, ast.Name)
        ):
            value = stmt.value.id
    if value is None:
        return []

    def new(n: ast.BinOp) -> ast.AST:
        for side in (n.left.left, n.left.right):  # type: ignore[attr-defined]
            side.args[0].right = ast.Name(value, ast.Load())
        return n

    return [(f"the scalar {value} added to every component", _at(new))]


def _stored_into(site: Site) -> bool:
    """Whether the array the site's call makes is written into (``a[i] = ...``), so that its
    dtype matters; an array only rebound (``v = beta * v - g``) turns float at once."""
    if site.function is None or not isinstance(site.parent, ast.Assign):
        return False
    names = _assigned(site.parent)
    return any(
        isinstance(s, ast.Assign)
        and isinstance(s.targets[0], ast.Subscript)
        and isinstance(s.targets[0].value, ast.Name)
        and s.targets[0].value.id in names
        for s in ast.walk(site.function)
    )


def _integer_work_array(site: Site) -> list[tuple[str, Edit]]:
    """``np.zeros_like(p)`` -> ``np.zeros_like(p, dtype=int)``: what is stored is truncated."""
    node = site.node
    if (
        isinstance(node, ast.Call)
        and _call_name(node).endswith("zeros_like")
        and len(node.args) == 1
        and not node.keywords
        and _stored_into(site)
    ):
        return [
            (
                "an integer work array (values truncated)",
                _at(
                    lambda n: ast.Call(
                        n.func, n.args, [ast.keyword("dtype", ast.Name("int", ast.Load()))]
                    )
                ),
            )
        ]
    return []


def _array_returned_as_list(site: Site) -> list[tuple[str, Edit]]:
    """An array returned as a list (``.tolist()``), not the float64 array asked for."""
    node = site.node
    if not (isinstance(node, ast.Return) and node.value is not None):
        return []
    value = node.value
    if isinstance(value, ast.Name) or (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == "copy"
    ):
        if isinstance(value, ast.Name) and value.id not in _assign_names(site.function):
            return []
        return [
            (
                "a list returned, not an array",
                _at(lambda n: ast.Return(_expr(f"({ast.unparse(n.value)}).tolist()"))),
            ),
            (
                "list(...) of the components returned",
                _at(lambda n: ast.Return(_expr(f"list({ast.unparse(n.value)})"))),
            ),
        ]
    return []


def _assign_names(function: ast.FunctionDef | None) -> set[str]:
    """Names given an ``np.zeros...`` array in the function."""
    if function is None:
        return set()
    names: set[str] = set()
    for stmt in ast.walk(function):
        if isinstance(stmt, ast.Assign) and _call_name(stmt.value).startswith("np.zeros"):
            names |= _assigned(stmt)
    return names


def _list_collected(site: Site) -> list[tuple[str, Edit]]:
    """``g = np.zeros_like(p)`` -> ``g = [0.0] * p.size``, the list returned unconverted."""
    node = site.node
    if not (
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and _call_name(node.value).endswith("zeros_like")
        and len(node.value.args) == 1
        and site.loop is None
        and site.function is not None
        and any(
            isinstance(s, ast.Return)
            and isinstance(s.value, ast.Name)
            and s.value.id in _assigned(node)
            for s in ast.walk(site.function)
        )
    ):
        return []
    size = ast.unparse(node.value.args[0])
    return [
        (
            "the components collected in a list, returned unconverted",
            _at(lambda n: ast.Assign(n.targets, _expr(f"[0.0] * np.size({size})"))),
        )
    ]


def _backward_twice(site: Site) -> list[tuple[str, Edit]]:
    """``loss.backward()`` run twice: the gradients add up (doubled)."""
    node = site.node
    if not (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "backward"
        and site.index is not None
    ):
        return []

    def edit(tree: ast.Module, where: Site) -> None:
        stmt = where.node
        assert isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
        first = copy.deepcopy(stmt)
        assert isinstance(first.value, ast.Call)
        if isinstance(stmt.value.func, ast.Attribute) and isinstance(
            stmt.value.func.value, ast.Name
        ):  # the same graph again: keep it for the second call
            first.value.keywords = [ast.keyword("retain_graph", ast.Constant(True))]
        _replace(where, [first, stmt])

    return [("backward() called twice without zeroing", edit)]


def _one_gradient_for_both(site: Site) -> list[tuple[str, Edit]]:
    """``b -= lr * b.grad`` -> ``b -= lr * w.grad`` (and the other way): a copy-paste slip."""
    node = site.node
    if not (
        isinstance(node, ast.AugAssign)
        and isinstance(node.target, ast.Name)
        and site.function is not None
    ):
        return []
    own = node.target.id
    grads = [
        n
        for n in ast.walk(node.value)
        if isinstance(n, ast.Attribute) and n.attr == "grad" and isinstance(n.value, ast.Name)
    ]
    if len(grads) != 1 or not isinstance(grads[0].value, ast.Name) or grads[0].value.id != own:
        return []
    others = sorted(
        {
            s.target.id
            for s in ast.walk(site.function)
            if isinstance(s, ast.AugAssign)
            and isinstance(s.target, ast.Name)
            and s.target.id != own
            and ".grad" in ast.unparse(s.value)
        }
    )
    out: list[tuple[str, Edit]] = []
    for other in others[:1]:

        def new(n: ast.AugAssign, other: str = other) -> ast.AST:
            text = ast.unparse(n.value).replace(f"{own}.grad", f"{other}.grad")
            return ast.AugAssign(n.target, n.op, _expr(text))

        out.append((f"{own} updated with {other}.grad", _at(new)))
    return out


def _mean_of_squares(site: Site) -> list[tuple[str, Edit]]:
    """``torch.mean(r ** 2)`` -> ``torch.mean(r) ** 2`` (the square of the mean) or half the
    mean (the 1/2 of the quadratics' 1/2 x^T A x carried into the MSE)."""
    node = site.node
    if not (
        isinstance(node, ast.Call)
        and _call_name(node) == "torch.mean"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.BinOp)
        and isinstance(node.args[0].op, ast.Pow)
        and _is_const(node.args[0].right, 2)
    ):
        return []
    return [
        (
            "the square of the mean for the mean of the squares",
            _at(
                lambda n: ast.BinOp(
                    ast.Call(n.func, [n.args[0].left], []), ast.Pow(), n.args[0].right
                )
            ),
        ),
        ("half the mean squared error", _at(lambda n: ast.BinOp(n, ast.Div(), ast.Constant(2)))),
    ]


def _gradient_over_n(site: Site) -> list[tuple[str, Edit]]:
    """``lr * w.grad`` -> ``lr * w.grad / len(x)``: autograd's mean divided by n again."""
    node = site.node
    if not (
        isinstance(node, ast.AugAssign)
        and isinstance(node.value, ast.BinOp)
        and isinstance(node.value.right, ast.Attribute)
        and node.value.right.attr == "grad"
        and site.function is not None
        and site.function.args.args
    ):
        return []
    data = site.function.args.args[0].arg
    return [
        (
            f"the gradient divided by len({data}) again",
            _at(
                lambda n: ast.AugAssign(
                    n.target, n.op, ast.BinOp(n.value, ast.Div(), _expr(f"len({data})"))
                )
            ),
        )
    ]


def _stop_test(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.If)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], ast.Break)
        and "tol" in _names(stmt.test)
    )


def _stop_after_update(body: list[ast.stmt]) -> list[ast.stmt] | None:
    """The stop test made after the move: one step too many, recorded in the path."""
    tests = [i for i, s in enumerate(body) if _stop_test(s)]
    if len(tests) != 1 or tests[0] == len(body) - 1:
        return None
    i = tests[0]
    return body[:i] + body[i + 1 :] + [body[i]]


def _stop_without_abs(site: Site) -> list[tuple[str, Edit]]:
    """``np.abs(step) <= tol`` -> ``step <= tol`` or ``step ** 2 <= tol`` in the stop test."""
    node = site.node
    if not (
        isinstance(node, ast.Call)
        and _call_name(node) == "np.abs"
        and len(node.args) == 1
        and site.loop is not None
        and any(_stop_test(s) and node in ast.walk(s) for s in site.loop.body)
    ):
        return []
    return [
        ("the stop test without abs (negative steps stop)", _at(lambda n: n.args[0])),
        (
            "the squared step tested against tol",
            _at(lambda n: ast.BinOp(n.args[0], ast.Pow(), ast.Constant(2))),
        ),
    ]


def _eigen_source(site: Site) -> str | None:
    """``A`` (as written) when the node is ``E[-1]`` with ``E = np.linalg.eigvalsh(A...)``."""
    node = site.node
    if not (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.UnaryOp)
        and _is_const(node.slice.operand, 1)
        and site.function is not None
    ):
        return None
    for stmt in ast.walk(site.function):
        if (
            isinstance(stmt, ast.Assign)
            and node.value.id in _assigned(stmt)
            and _call_name(stmt.value).endswith("eigvalsh")
        ):
            assert isinstance(stmt.value, ast.Call)
            return ast.unparse(stmt.value.args[0])
    return None


def _bound_for_eigenvalue(site: Site) -> list[tuple[str, Edit]]:
    """The largest eigenvalue replaced by an upper bound (Frobenius norm, trace)."""
    matrix = _eigen_source(site)
    if matrix is None:
        return []
    return [
        (
            "the Frobenius norm for the largest eigenvalue",
            _at(lambda n: _expr(f"np.linalg.norm({matrix})")),
        ),
        ("the trace for the largest eigenvalue", _at(lambda n: _expr(f"np.trace({matrix})"))),
    ]


def _optimal_for_bound(site: Site) -> list[tuple[str, Edit]]:
    """``2 / L`` -> ``2 / (L + mu)``: the best learning rate for the largest convergent one."""
    node = site.node
    if not (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and _is_const(node.left, 2)
        and _eigen_source(Site(node.right, node, "right", None, site.function, site.loop))
    ):
        return []

    def new(n: ast.BinOp) -> ast.AST:
        assert isinstance(n.right, ast.Subscript)
        smallest = ast.Subscript(n.right.value, ast.Constant(0), ast.Load())
        return ast.BinOp(n.left, ast.Div(), ast.BinOp(n.right, ast.Add(), smallest))

    return [("2 / (L + mu), the best rate, for the bound 2 / L", _at(new))]


def _velocity_update(stmt: ast.stmt) -> tuple[str, ast.expr, ast.expr] | None:
    """``v = momentum * v - step``: (v, momentum, step)."""
    if not (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.BinOp)
        and isinstance(stmt.value.op, ast.Sub)
        and isinstance(stmt.value.left, ast.BinOp)
        and isinstance(stmt.value.left.op, ast.Mult)
        and isinstance(stmt.value.left.right, ast.Name)
        and stmt.value.left.right.id == stmt.targets[0].id
        and _has_lr(stmt.value.right)
    ):
        return None
    return stmt.targets[0].id, stmt.value.left.left, stmt.value.right


def _velocity_started(site: Site) -> list[tuple[str, Edit]]:
    """``v = np.zeros_like(x)`` -> the first step, or the gradient itself."""
    node = site.node
    if not (isinstance(node, ast.Assign) and site.function is not None and site.loop is None):
        return []
    updates = [
        u
        for s in ast.walk(site.function)
        if isinstance(s, ast.stmt) and s is not node and (u := _velocity_update(s))
    ]
    steps = [u[2] for u in updates if u[0] in _assigned(node)]
    if not steps:
        return []
    first_step = steps[0]
    grads = [
        c for c in ast.walk(first_step) if isinstance(c, ast.Call) and "grad" in _call_name(c)
    ]
    out = [
        (
            "the velocity started at the first step, not 0",
            _at(
                lambda n: ast.Assign(n.targets, ast.UnaryOp(ast.USub(), copy.deepcopy(first_step)))
            ),
        )
    ]
    if grads:
        gradient_call = grads[0]
        out.append(
            (
                "the velocity started at the gradient",
                _at(lambda n: ast.Assign(n.targets, copy.deepcopy(gradient_call))),
            )
        )
    return out


def _velocity_forms(site: Site) -> list[tuple[str, Edit]]:
    """The heavy ball mixed up with other forms: the learning rate scaling the whole velocity,
    or an exponential average's (1 - momentum) on the step."""
    node = site.node
    found = _velocity_update(node) if isinstance(node, ast.stmt) else None
    if found is None:
        return []
    v, beta, step = found
    b, s = ast.unparse(beta), ast.unparse(step)
    lr = sorted(_names(step) & LR_NAMES)[0]
    bare = s.replace(f"{lr} * ", "", 1)
    return [
        (
            "the learning rate inside the momentum term",
            _at(lambda n: _stmts(f"{v} = {lr} * ({b} * {v} - {bare})")[0]),
        ),
        (
            "(1 - momentum) on the step (an average, not the heavy ball)",
            _at(lambda n: _stmts(f"{v} = {b} * {v} - (1 - {b}) * {s}")[0]),
        ),
    ]


def _stale_velocity(body: list[ast.stmt]) -> list[ast.stmt] | None:
    """The point moved with the old velocity, before the new one is computed."""
    for i, stmt in enumerate(body):
        found = _velocity_update(stmt)
        if found is None:
            continue
        for j in range(i + 1, len(body)):
            later = body[j]
            if (
                isinstance(later, ast.Assign | ast.AugAssign)
                and found[0] in _names(later)
                and found[0] not in _assigned(later)
            ):
                moved = body[j]
                rest = body[:j] + body[j + 1 :]
                return [*rest[:i], moved, *rest[i:]]
    return None


def _forward_keeping_2h(site: Site) -> list[tuple[str, Edit]]:
    """``(f(p + s) - f(p)) / (2 * h)``: a forward difference over the central one's 2h."""
    node = site.node
    if not (
        _difference_call(node)
        and isinstance(node, ast.BinOp)
        and isinstance(node.right, ast.BinOp)
        and _is_const(node.right.left, 2)
    ):
        return []

    def new(n: ast.BinOp) -> ast.AST:
        assert isinstance(n.left, ast.BinOp) and isinstance(n.left.right, ast.Call)
        back = n.left.right
        assert isinstance(back.args[0], ast.BinOp)
        n.left.right = ast.Call(back.func, [back.args[0].left], [])
        return n

    return [("forward difference still divided by 2h", _at(new))]


def _step_doubled(site: Site) -> list[tuple[str, Edit]]:
    """``step[i] = h`` -> ``step[i] = 2 * h``: the points 2h apart taken as ±2h."""
    if not _perturbation_site(site):
        return []

    def edit(tree: ast.Module, where: Site) -> None:
        node = where.node
        assert isinstance(node, ast.Assign)
        node.value = ast.BinOp(ast.Constant(2), ast.Mult(), node.value)

    return [("the perturbation 2h (the points 4h apart)", edit)]


def _point_for_gradient(site: Site) -> list[tuple[str, Edit]]:
    """``return p.grad.detach().numpy()`` -> ``return p.detach().numpy()``: the wrong tensor
    detached and returned (the point, not its gradient)."""
    node = site.node
    if not (isinstance(node, ast.Return) and node.value is not None):
        return []
    grads = [n for n in ast.walk(node.value) if isinstance(n, ast.Attribute) and n.attr == "grad"]
    if len(grads) != 1 or "detach" not in ast.unparse(node.value):
        return []
    text = ast.unparse(node.value).replace(
        f"{ast.unparse(grads[0])}.", f"{ast.unparse(grads[0].value)}."
    )
    return [
        (
            "the point detached and returned, not its gradient",
            _at(lambda n: ast.Return(_expr(text))),
        )
    ]


def _loss_tensor_recorded(site: Site) -> list[tuple[str, Edit]]:
    """``losses.append(loss.item())`` -> ``losses.append(loss)``: tensors (with their graphs)
    recorded."""
    node = site.node
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "item"
        and not node.args
        and _in_loss_record(site)
    ):
        return []
    return [("the loss recorded as a tensor", _at(lambda n: n.func.value))]


def _lr_forgotten(site: Site) -> list[tuple[str, Edit]]:
    """``w -= lr * w.grad`` -> ``w -= w.grad``: the learning rate left out of one update."""
    node = site.node
    if not (
        isinstance(node, ast.AugAssign)
        and isinstance(node.op, ast.Sub)
        and isinstance(node.value, ast.BinOp)
        and isinstance(node.value.op, ast.Mult)
        and isinstance(node.value.left, ast.Name)
        and node.value.left.id in LR_NAMES
        and isinstance(node.value.right, ast.Attribute)
        and node.value.right.attr == "grad"
    ):
        return []
    return [
        (
            "the learning rate left out of an update",
            _at(lambda n: ast.AugAssign(n.target, n.op, n.value.right)),
        )
    ]


COURSE: tuple[Operator, ...] = (
    Operator(
        "gradient_sign",
        "course",
        "the update steps uphill (+ for -)",
        _gradient_sign,
        "uphill_sign_error",
        together=True,
    ),
    Operator(
        "gradient_negated",
        "course",
        "the gradient function returns minus the gradient",
        _gradient_negated,
        "uphill_sign_error",
    ),
    Operator("lr_twice", "course", "the learning rate applied twice", _lr_twice),
    Operator(
        "sum_for_mean",
        "course",
        "a sum where the mean belongs (loss and gradient)",
        _sum_for_mean,
        "sum_instead_of_mean",
        together=True,
    ),
    Operator("loss_sum_recorded", "course", "the recorded loss a sum, not a mean", _loss_sum),
    Operator(
        "missing_one_over_n",
        "course",
        "the 1/n of a mean missing",
        _missing_one_over_n,
        "sum_instead_of_mean",
    ),
    Operator(
        "missing_factor_two",
        "course",
        "a factor 2 missing (the MSE gradient's 2, the central difference's 2h)",
        _factor_two,
        misconception_of=_factor_two_context,
        together=True,
    ),
    Operator(
        "rate_bound_halved",
        "course",
        "2 / L written 1 / L",
        _rate_bound_halved,
        "rate_bound_without_2",
    ),
    Operator(
        "record_after_step",
        "course",
        "the loss recorded after the update, at the new parameters",
        lambda s: _loop_body_edit(s, _record_after),
        "losses_after_update",
    ),
    Operator(
        "record_before_step",
        "course",
        "the point recorded before the step (path lags by one)",
        lambda s: _loop_body_edit(s, _record_before),
    ),
    Operator(
        "zero_grad_forgotten",
        "course",
        "the gradients never zeroed (backward adds up)",
        _zero_grad,
        "gradients_not_zeroed",
        together=True,
    ),
    Operator("no_grad_forgotten", "course", "the update made outside torch.no_grad()", _no_grad),
    Operator(
        "state_not_carried",
        "course",
        "the velocity (or a moment) not carried from step to step",
        _state_not_carried,
    ),
    Operator(
        "bias_correction_from_zero",
        "course",
        "bias correction's exponent counts from 0",
        _bias_exponent,
        "bias_correction_from_zero",
        together=True,
    ),
    Operator(
        "bias_correction_late",
        "course",
        "bias correction's exponent one step late",
        _bias_exponent_late,
        together=True,
    ),
    Operator(
        "bias_correction_missing",
        "course",
        "bias correction left out",
        _bias_dropped,
        "bias_correction_missing",
        together=True,
    ),
    Operator("not_reshuffled", "course", "batches not reshuffled every epoch", _not_reshuffled),
    Operator("last_batch_dropped", "course", "the last, partial batch dropped", _drop_last),
    Operator(
        "seed_ignored", "course", "the loader's seed ignored", _seed_ignored, "loader_ignores_seed"
    ),
    Operator(
        "update_aliases_input",
        "course",
        "the update aliases (and changes) its input",
        _aliases_input,
        "argument_modified_in_place",
    ),
    Operator(
        "path_not_copied",
        "course",
        "the path holds the iterate itself, changed in place",
        _path_not_copied,
        "path_not_copied",
    ),
    Operator(
        "gradient_outside_loop",
        "course",
        "the gradient computed once, before the loop",
        _gradient_outside,
        "gradient_outside_loop",
    ),
    Operator(
        "lookahead_dropped",
        "course",
        "Nesterov's gradient taken at x",
        lambda s: _lookahead(s, sign=0),
        "gradient_not_at_lookahead",
    ),
    Operator(
        "lookahead_flipped",
        "course",
        "Nesterov's look-ahead on the wrong side",
        lambda s: _lookahead(s, sign=-1),
        "lookahead_sign_error",
    ),
    Operator(
        "schedule_shifted",
        "course",
        "the schedule one step ahead",
        _schedule_shift,
        "schedule_before_step",
    ),
    Operator(
        "eps_inside_sqrt",
        "course",
        "Adam's eps inside the square root",
        _eps_inside,
        "epsilon_inside_sqrt",
    ),
    Operator(
        "unpack_swapped",
        "course",
        "a pair of parameters unpacked the wrong way round (betas)",
        _unpack_swapped,
        "betas_swapped",
    ),
    Operator(
        "square_dropped",
        "course",
        "a square left out",
        _square_dropped,
        misconception_of=_square_context,
    ),
    Operator(
        "cosine_half_shift",
        "course",
        "the cosine factor not shifted and halved",
        _half_shift,
        "cosine_without_half_shift",
    ),
    Operator(
        "clamp_dropped",
        "course",
        "min(t, total) dropped: the schedule not clamped",
        _clamp,
        "cosine_not_clamped",
    ),
    Operator(
        "smallest_eigenvalue",
        "course",
        "the smallest eigenvalue for the largest",
        _eigen_end,
        misconception_of=_smallest_context,
    ),
    Operator(
        "diagonal_for_eigenvalues",
        "course",
        "the diagonal taken for the eigenvalues",
        _diagonal,
        "diagonal_instead_of_eigenvalues",
    ),
    Operator(
        "unsorted_eigenvalues", "course", "eigvals (unsorted) for eigvalsh", _unsorted_eigenvalues
    ),
    Operator(
        "tensor_returned",
        "course",
        "a tensor returned where a number or array belongs",
        _tensor_returned,
        "tensors_returned",
        together=True,
    ),
    Operator(
        "float32",
        "course",
        "float32 where float64 belongs",
        _float32,
        misconception_of=_float32_context,
        together=True,
    ),
    Operator(
        "forward_difference",
        "course",
        "a forward difference for the central one",
        _forward_difference,
        "forward_difference",
    ),
    Operator(
        "start_missing",
        "course",
        "the start missing from the path",
        _start_missing,
        "start_missing_from_path",
    ),
    Operator(
        "tolerance_on_gradient",
        "course",
        "the tolerance tested on the gradient, not the step",
        _tolerance_on_gradient,
        "tolerance_on_gradient",
    ),
    Operator("guard_dropped", "course", "an argument check left out", _guard_dropped),
    Operator(
        "guard_boundary", "course", "an argument check's bound moved (> for >=)", _guard_boundary
    ),
    Operator(
        "loop_count_off_by_one",
        "course",
        "one update (or coordinate) too few or too many",
        _loop_count,
    ),
    Operator(
        "dw_db_swapped",
        "course",
        "dw and db (w and b) swapped",
        _swapped_pair,
        "dw_db_swapped",
        together=True,
    ),
    Operator("start_ignored", "course", "the given start (w0, b0) ignored", _start_ignored),
    Operator(
        "zero_before_step",
        "course",
        "the gradients zeroed before the update uses them",
        lambda s: _loop_body_edit(s, _zero_before_step),
    ),
    Operator(
        "reset_hoisted",
        "course",
        "a work array made once, not afresh for each coordinate or step",
        _reset_hoisted,
    ),
    Operator(
        "momentum_on_gradient",
        "course",
        "momentum applied to the gradient, not the velocity",
        _momentum_on_gradient,
        "momentum_on_gradient",
    ),
    Operator(
        "step_size", "course", "the difference step h far too large or too small", _step_size
    ),
    Operator(
        "all_components_perturbed",
        "course",
        "every component perturbed at once",
        _all_perturbed,
    ),
    Operator(
        "scalar_perturbation",
        "course",
        "the scalar h added to the whole point",
        _scalar_perturbation,
    ),
    Operator(
        "perturbation_not_restored",
        "course",
        "the perturbed point not restored",
        _not_restored,
    ),
    Operator(
        "backward_difference",
        "course",
        "a backward difference for the central one",
        _backward_difference,
    ),
    Operator(
        "divisor_precedence",
        "course",
        "/ (2 * h) written / 2 * h",
        _divisor_precedence,
    ),
    Operator(
        "integer_work_array",
        "course",
        "an integer work array: what is stored in it is truncated",
        _integer_work_array,
    ),
    Operator(
        "list_returned",
        "course",
        "a list returned where an array belongs",
        _array_returned_as_list,
    ),
    Operator(
        "list_collected",
        "course",
        "the components collected in a list and returned unconverted",
        _list_collected,
    ),
    Operator(
        "backward_twice",
        "course",
        "backward() called twice without zeroing: gradients doubled",
        _backward_twice,
    ),
    Operator(
        "one_gradient_for_both",
        "course",
        "one parameter updated with the other's gradient",
        _one_gradient_for_both,
    ),
    Operator(
        "mean_of_squares",
        "course",
        "the MSE written as the square of the mean, or halved",
        _mean_of_squares,
    ),
    Operator(
        "gradient_over_n",
        "course",
        "autograd's gradient of a mean divided by n again",
        _gradient_over_n,
    ),
    Operator(
        "stop_after_update",
        "course",
        "the stop test made after the move",
        lambda s: _loop_body_edit(s, _stop_after_update),
    ),
    Operator(
        "stop_without_abs",
        "course",
        "the stop test on the signed (or squared) step",
        _stop_without_abs,
    ),
    Operator(
        "bound_for_eigenvalue",
        "course",
        "an upper bound (norm, trace) for the largest eigenvalue",
        _bound_for_eigenvalue,
    ),
    Operator(
        "optimal_for_bound",
        "course",
        "the best learning rate 2 / (L + mu) for the bound 2 / L",
        _optimal_for_bound,
    ),
    Operator(
        "velocity_started",
        "course",
        "the velocity initialised with the first step or the gradient, not 0",
        _velocity_started,
    ),
    Operator(
        "velocity_form",
        "course",
        "the learning rate inside the momentum, or an average's (1 - momentum)",
        _velocity_forms,
    ),
    Operator(
        "stale_velocity",
        "course",
        "the point moved with the old velocity",
        lambda s: _loop_body_edit(s, _stale_velocity),
    ),
    Operator(
        "forward_keeping_2h",
        "course",
        "a forward difference divided by the central one's 2h",
        _forward_keeping_2h,
    ),
    Operator("step_doubled", "course", "the perturbation 2h for h", _step_doubled),
    Operator(
        "point_for_gradient",
        "course",
        "the wrong tensor detached: the point returned, not its gradient",
        _point_for_gradient,
    ),
    Operator(
        "loss_tensor_recorded",
        "course",
        "the losses recorded as tensors",
        _loss_tensor_recorded,
    ),
    Operator(
        "lr_forgotten",
        "course",
        "the learning rate left out of one parameter's update",
        _lr_forgotten,
    ),
)

OPERATORS: tuple[Operator, ...] = GENERIC + COURSE


# ------------------------------------------------------------------ generation


def _in_region(node: ast.AST, regions: Sequence[tuple[int, int]]) -> bool:
    first = getattr(node, "lineno", None)
    last = getattr(node, "end_lineno", first)
    if first is None or last is None:
        return False
    return any(lo <= first and last <= hi for lo, hi in regions)


def _course_context_ok(site: Site) -> bool:
    return site.function is not None


def mutate_source(
    function: str,
    source: str,
    regions: Sequence[tuple[int, int]],
    operators: Sequence[Operator] = OPERATORS,
) -> Iterator[Mutant]:
    """Every mutant of a solution cell's ``source`` whose change lies in ``regions`` (line
    ranges, inclusive, of the solution region). Mutants may repeat each other or fail to
    compile: the caller sorts them out."""
    tree = ast.parse(source)
    sites = _walk(tree)
    for operator in operators:
        chosen: list[tuple[int, str, Edit]] = []
        for position, site in enumerate(sites):
            node = site.node
            if isinstance(node, ast.Module | ast.expr_context | ast.operator | ast.cmpop):
                continue
            if not _in_region(node, regions):
                continue
            if operator.kind == "course" and not _course_context_ok(site):
                continue
            for label, edit in operator.edits(site):
                chosen.append((position, label, edit))
        if not chosen:
            continue
        groups = [chosen] if operator.together else [[c] for c in chosen]
        for group in groups:
            clone = copy.deepcopy(tree)
            clone_sites = _walk(clone)
            # later positions first, so that earlier ones stay where they were
            for position, _, edit in sorted(group, key=lambda c: -c[0]):
                edit(clone, clone_sites[position])
            ast.fix_missing_locations(clone)
            try:
                text = ast.unparse(clone)
            except Exception:  # an edit made a tree Python cannot write: invalid
                text = ""
            first = sites[group[0][0]]
            labels = "; ".join(dict.fromkeys(label for _, label, _ in group))
            yield Mutant(
                function=function,
                operator=operator.name,
                kind=operator.kind,
                label=labels,
                line=getattr(first.node, "lineno", 0),
                source=text,
                misconception=operator.named(first),
                description=operator.description,
            )
