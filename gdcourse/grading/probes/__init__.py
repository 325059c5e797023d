"""Probes: how a graded function is called on a case, and what comes back.

A probe is a plain function ``probe(fn, case) -> dict`` that builds the call's
arguments from ``case`` (Python literals), calls ``fn`` and returns::

    {"output": <what fn returned, perhaps summarised>,
     "raised": None | {"types": [exception class names, most derived first],
                       "message": str},
     "modified": [names of watched arguments that fn changed in place]}

as raw Python, NumPy and torch values; the caller encodes them with
:func:`gdcourse.grading.protocol.encode`. Probes run wherever ``fn`` lives: in
the sandbox for a student's function, next to nothing else. So this package and
its modules ``gdcourse.grading.probes.<assignment>`` (each with ``PROBES``, a
dict from graded function name to probe) hold *only* probe code: they import
the standard library, NumPy, torch, :mod:`gdcourse.grading.protocol` and
:mod:`gdcourse.datasets`, never a spec, a reference answer or gdcourse's
teaching library (``objectives``, ``optimizers``).

Every callable a probe hands to the function under test (an objective, a
gradient, a model, a dataset) is defined in the probe module and binds what it
uses as default arguments when it is defined, so that nothing the student's code
does to module globals changes what it computes.

>>> probe = make_probe(lambda case: Arguments((case["a"], case["b"])))
>>> probe(lambda a, b: a + b, {"a": 1, "b": 2})
{'output': 3, 'raised': None, 'modified': []}
>>> probe(lambda a, b: a / b, {"a": 1, "b": 0})["raised"]["types"][:2]
['ZeroDivisionError', 'ArithmeticError']
"""

from __future__ import annotations

import importlib
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdcourse.grading.protocol import encode

__all__ = [
    "Arguments",
    "Probe",
    "changed_arguments",
    "exception_data",
    "get_probe",
    "make_probe",
    "run_probe",
    "snapshot",
    "unchanged",
]

Case = Mapping[str, Any]
Probe = Callable[[Callable[..., Any], Case], dict[str, Any]]
"""``probe(fn, case) -> {"output": ..., "raised": ..., "modified": [...]}``."""


@dataclass(frozen=True)
class Arguments:
    """The positional and keyword arguments of one call, and the arrays to watch.

    ``watched`` maps an argument's name to the object passed; after the call,
    the probe reports every watched NumPy array or torch tensor whose values
    changed (an argument modified in place).
    """

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    watched: Mapping[str, Any] = field(default_factory=dict)


def snapshot(value: Any) -> Any:
    """A copy of a NumPy array or torch tensor to compare with later; ``None`` otherwise."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().clone()
    return None


def unchanged(value: Any, copy: Any) -> bool:
    """Whether ``value`` still equals its :func:`snapshot` ``copy`` (NaN equals NaN).

    >>> x = np.array([1.0, np.nan])
    >>> copy = snapshot(x)
    >>> unchanged(x, copy)
    True
    >>> x[0] = 2.0
    >>> unchanged(x, copy)
    False
    """
    if copy is None:
        return True
    if isinstance(copy, np.ndarray):
        return (
            isinstance(value, np.ndarray)
            and value.shape == copy.shape
            and bool(np.array_equal(value, copy, equal_nan=True))
        )
    import torch

    current = value.detach()
    if current.shape != copy.shape or current.dtype != copy.dtype:
        return False
    return bool(torch.equal(current, copy)) or bool(
        torch.isnan(copy).any() and torch.allclose(current, copy, equal_nan=True)
    )


def changed_arguments(watched: Mapping[str, Any], snapshots: Mapping[str, Any]) -> list[str]:
    """Sorted names of the watched arguments that no longer equal their snapshots."""
    return sorted(name for name, value in watched.items() if not unchanged(value, snapshots[name]))


def exception_data(error: BaseException) -> dict[str, Any]:
    """``{"types": [class names along the MRO], "message": first 300 characters}``.

    >>> data = exception_data(KeyError("x"))
    >>> data["types"][:3], data["message"]
    (['KeyError', 'LookupError', 'Exception'], "'x'")
    """
    try:
        message = str(error)[:300]
    except Exception:  # a student's exception whose __str__ fails says nothing more
        message = ""
    return {"types": [cls.__name__ for cls in type(error).__mro__], "message": message}


def make_probe(
    inputs: Callable[[Case], Arguments],
    summarise: Callable[[Any, Case], Any] | None = None,
) -> Probe:
    """A probe that calls ``fn(*args, **kwargs)`` with ``inputs(case)``, built afresh.

    ``summarise(output, case)`` turns the return value into what is sent back
    (default: the value itself). An exception raised by ``fn`` (or by
    ``summarise`` on what ``fn`` returned) is data, reported under ``"raised"``.
    """

    def probe(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
        arguments = inputs(case)
        snapshots = {name: snapshot(value) for name, value in arguments.watched.items()}
        output: Any = None
        raised: dict[str, Any] | None = None
        try:
            result = fn(*arguments.args, **dict(arguments.kwargs))
            output = result if summarise is None else summarise(result, case)
        except Exception as error:  # the student's exception is data, not a crash
            raised = exception_data(error)
        modified = changed_arguments(arguments.watched, snapshots)
        return {"output": output, "raised": raised, "modified": modified}

    return probe


def get_probe(assignment: str, function: str) -> Probe:
    """The probe of ``function`` in ``gdcourse.grading.probes.<assignment>``.

    >>> get_probe("ps3_linear_regression", "mse").__name__
    'probe'
    """
    if not isinstance(assignment, str) or not assignment.isidentifier():
        raise ValueError(
            f"assignment must be an assignment name like 'ps1_gradients', got {assignment!r}"
        )
    try:
        module = importlib.import_module(f"{__name__}.{assignment}")
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{assignment}":
            raise
        raise ValueError(f"unknown assignment {assignment!r}: it has no probe module") from None
    probes: Mapping[str, Probe] = module.PROBES
    if function not in probes:
        raise ValueError(
            f"assignment {assignment!r} has no probe for {function!r}; "
            f"its probes are: {', '.join(probes)}"
        )
    return probes[function]


def run_probe(probe: Probe, fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """``encode(probe(fn, case))`` with warnings silenced; every error becomes data.

    A warning printed by correct code never costs points, so warnings are ignored
    here. Whatever goes wrong (the probe raising, data that cannot be encoded or
    written as JSON) comes back as ``{"__error__": "<Type>: <message>"}``. The result
    is plain JSON-able data (:mod:`gdcourse.grading.protocol`).

    >>> run_probe(get_probe("ps3_linear_regression", "mse"), lambda y_pred, y: 1.5,
    ...           {"y_pred": [1.0], "y": [0.0]})
    {'output': 1.5, 'raised': None, 'modified': []}
    >>> run_probe(get_probe("ps3_linear_regression", "mse"), max, {"no": "inputs"})
    {'__error__': "KeyError: 'y_pred'"}
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encoded = encode(probe(fn, case))
        json.dumps(encoded, allow_nan=True)
    except Exception as error:
        try:
            text = str(error)[:300]
        except Exception:  # an exception whose __str__ fails
            text = ""
        return {"__error__": f"{type(error).__name__}: {text}"}
    if not isinstance(encoded, dict):
        return {"__error__": f"TypeError: the probe returned {type(encoded).__name__}"}
    return encoded
