"""The contract between assignment checks and the graders that run them: plain data.

A graded function (``gradient_descent`` in ``ps2_gradient_descent``, say) has a
probe in ``gdcourse.grading.probes.<assignment>`` and a spec in
``gdcourse.grading.specs.<assignment>``. Every test cell of a master notebook is
one call::

    check("ps2_gradient_descent", "gradient_descent", gradient_descent,
          cases=[{...}, {...}])                 # visible test cell
    check(..., cases=[...], hidden=True)        # between BEGIN/END HIDDEN TESTS

whose arguments are Python literals, so that a grader can read the cases from
the master (``ast.literal_eval``) without running any notebook code.

Grading a case has three steps, each with a clear place to run:

1. The probe, ``probe(fn, case)``, calls the function under test on inputs built
   from ``case`` and returns raw values, which :func:`encode` turns into plain
   data. It runs where the function lives: inside the sandbox for a student's
   function, in the grader for the reference and the misconception variants.
2. The probe's output crosses the process boundary as JSON (:func:`dumps` /
   :func:`loads`); nothing else does.
3. ``spec.judge(case, student, reference, variants)``
   (:mod:`gdcourse.grading.framework`) runs in the grader's own process, validates
   the student's data (types, shapes, dtypes, finiteness), compares it with the
   reference's, and names a misconception when the student's data matches a
   variant's.

Only the standard library and NumPy are imported here; torch is optional.
:func:`decode` bounds the depth of what it reads and accepts only numeric arrays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "MAX_DEPTH",
    "Case",
    "Foreign",
    "Tensor",
    "decode",
    "dumps",
    "encode",
    "loads",
]

Case = Mapping[str, Any]
"""One set of inputs for a graded function: a dict of Python literals."""

KIND = "__kind__"

MAX_DEPTH = 64
"""How deeply nested decoded data may be (the course's probes need fewer than 10 levels)."""

MAX_DIMENSIONS = 32
"""The most dimensions a decoded array may have (NumPy allows 64; the course uses 3)."""

# --------------------------------------------------------------------------- plain data


def encode(value: Any) -> Any:
    """Turn a probe's output into JSON-able plain data, keeping kinds, dtypes and shapes.

    NumPy arrays and scalars and torch tensors become tagged dicts; Python
    numbers, strings, ``None``, lists, tuples and string-keyed dicts stay what
    they are; anything else becomes ``{"__kind__": "object", "type": ...}`` so
    that a judge can say "a DataLoader came back where a list was expected".

    >>> encode(np.array([1.0, 2.0]))
    {'__kind__': 'ndarray', 'dtype': 'float64', 'shape': [2], 'data': [1.0, 2.0]}
    >>> encode((1, 2.5, None))
    {'__kind__': 'tuple', 'items': [1, 2.5, None]}
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, np.ndarray):
        return _array(value, "ndarray")
    if isinstance(value, np.generic):
        return {KIND: "npscalar", "dtype": str(value.dtype), "value": value.item()}
    type_name = f"{type(value).__module__}.{type(value).__qualname__}"
    if type_name == "torch.Tensor" or type_name.startswith("torch.nn.parameter"):
        array = value.detach().cpu().numpy()
        encoded = _array(array, "tensor")
        encoded["dtype"] = str(value.dtype).removeprefix("torch.")
        encoded["requires_grad"] = bool(value.requires_grad)
        return encoded
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, tuple):
        return {KIND: "tuple", "items": [encode(item) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        if KIND in value:
            raise ValueError(f"dict keys must not include {KIND!r}")
        return {key: encode(item) for key, item in value.items()}
    return {KIND: "object", "type": type_name}


def _array(array: np.ndarray, kind: str) -> dict[str, Any]:
    if array.dtype.kind not in "biuf":
        return {KIND: "object", "type": f"{kind} of dtype {array.dtype}"}
    return {
        KIND: kind,
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "data": array.reshape(-1).tolist(),
    }


@dataclass(frozen=True)
class Foreign:
    """Something that was not plain data on the other side (its type name only)."""

    type: str


@dataclass(frozen=True)
class Tensor:
    """A decoded torch tensor: its values as a NumPy array, its dtype name, its grad flag."""

    array: np.ndarray
    dtype: str
    requires_grad: bool = field(default=False)


def decode(value: Any, *, _depth: int = 0) -> Any:
    """Inverse of :func:`encode`, producing NumPy arrays, :class:`Tensor` and :class:`Foreign`.

    Malformed data (as a hostile sandbox might send) raises ``ValueError``: data nested
    more than :data:`MAX_DEPTH` levels deep, arrays that are not of booleans, integers
    or floats, numbers that do not fit their dtype.

    >>> decode(encode(np.arange(3.0))).tolist()
    [0.0, 1.0, 2.0]
    """
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if _depth >= MAX_DEPTH:
        raise ValueError(f"data nested more than {MAX_DEPTH} levels deep")
    depth = _depth + 1
    if isinstance(value, list):
        return [decode(item, _depth=depth) for item in value]
    if not isinstance(value, dict):
        raise ValueError(f"not plain data: {type(value).__name__}")
    kind = value.get(KIND)
    if kind is None:
        return {str(key): decode(item, _depth=depth) for key, item in value.items()}
    if kind == "tuple":
        return tuple(decode(item, _depth=depth) for item in _field(value, "items", list))
    if kind == "object":
        return Foreign(str(_field(value, "type", str)))
    if kind == "npscalar":
        dtype = _numeric_dtype(_field(value, "dtype", str))
        try:
            return dtype.type(_field(value, "value", (int, float, bool)))
        except (OverflowError, TypeError, ValueError):
            raise ValueError(f"a NumPy {dtype} scalar cannot hold that value") from None
    if kind in ("ndarray", "tensor"):
        dtype_name = _field(value, "dtype", str)
        data = _field(value, "data", list)
        shape = _shape(_field(value, "shape", list), len(data))
        if not all(isinstance(x, (int, float, bool)) for x in data):
            raise ValueError("array data must be numbers")
        numpy_dtype = _numeric_dtype(_TORCH_TO_NUMPY.get(dtype_name, dtype_name))
        try:
            array = np.array(data, dtype=numpy_dtype).reshape(shape)
        except (OverflowError, TypeError, ValueError):
            raise ValueError(f"array data does not fit dtype {numpy_dtype}") from None
        if kind == "ndarray":
            return array
        return Tensor(array, dtype_name, bool(value.get("requires_grad", False)))
    raise ValueError(f"unknown kind {kind!r}")


def _shape(dims: list[Any], size: int) -> list[int]:
    """An array's shape, checked against its ``size`` numbers with bounded arithmetic.

    At most :data:`MAX_DIMENSIONS` dimensions, each an ``int`` from 0 to 2**63 - 1 (what
    NumPy allows): so their product has at most a couple of thousand bits, and checking
    it takes a time bounded by the reply's length whatever numbers a student's process
    wrote (a product of thousands of 4,000-digit dimensions took minutes).

    >>> _shape([2, 3], 6), _shape([0, 5], 0)
    ([2, 3], [0, 5])
    >>> _shape([10**4000, 0], 0)
    Traceback (most recent call last):
    ...
    ValueError: array shape does not fit its 0 numbers
    """
    if len(dims) > MAX_DIMENSIONS:
        raise ValueError(f"an array of more than {MAX_DIMENSIONS} dimensions")
    if not all(type(n) is int and 0 <= n < 2**63 for n in dims):
        raise ValueError(f"array shape does not fit its {size} numbers")
    product = 1
    for n in dims:
        product *= n
    if product != size:
        raise ValueError(f"array shape does not fit its {size} numbers")
    return list(dims)


def _numeric_dtype(name: str) -> np.dtype[Any]:
    try:
        dtype = np.dtype(name)
    except TypeError:
        raise ValueError(f"unknown dtype {name[:40]!r}") from None
    if dtype.kind not in "biuf":
        raise ValueError(f"dtype {dtype} is not boolean, integer or floating point")
    return dtype


_TORCH_TO_NUMPY = {
    "float32": "float32",
    "float64": "float64",
    "float16": "float16",
    "int64": "int64",
    "int32": "int32",
    "bool": "bool",
    "bfloat16": "float32",
}


def _field(value: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    item = value.get(name)
    if not isinstance(item, kind):
        raise ValueError(f"field {name!r} missing or of the wrong type")
    return item


def dumps(value: Any) -> str:
    """JSON text of ``encode(value)`` (NaN and infinities allowed, as numbers can diverge)."""
    return json.dumps(encode(value), allow_nan=True)


def loads(text: str) -> Any:
    """``decode(json.loads(text))``."""
    return decode(json.loads(text))
