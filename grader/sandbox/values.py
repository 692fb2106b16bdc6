"""Parent-side encoding of arguments and validation of what a child returns.

The child is untrusted: every header field is checked before use, and arrays
are rebuilt from raw bytes as plain `numpy.ndarray`s of an allowed dtype, so a
subclass or an object that overrides comparisons can never reach the checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALLOWED_DTYPES = frozenset({"<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"})
MAX_NDIM = 8
MAX_ELEMENTS = 1 << 24


class BadValue(Exception):
    """A value from the child that fails validation (a forged or corrupt frame)."""


@dataclass(frozen=True)
class Returned:
    """One value returned by a student function, after validation.

    `array` is None when the value is not numeric (`type_name` says what it was).
    `scalar` is True for Python numbers and numpy scalars.
    """

    array: np.ndarray | None
    scalar: bool = False
    type_name: str = ""


@dataclass(frozen=True)
class Outputs:
    """A function's whole return value: a sequence of values, or one value."""

    items: tuple[Returned, ...]
    is_sequence: bool
    type_name: str


def encode_args(args: list) -> tuple[list[dict], bytes]:
    metas, chunks, offset = [], [], 0
    for value in args:
        scalar = not isinstance(value, np.ndarray)
        arr = np.asarray(value).copy(order="C")
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        data = arr.tobytes()
        metas.append({"t": "array", "dtype": arr.dtype.str, "shape": list(arr.shape),
                      "scalar": scalar, "off": offset, "n": len(data)})
        chunks.append(data)
        offset += len(data)
    return metas, b"".join(chunks)


def _short(value: object, limit: int = 100) -> str:
    return value[:limit] if isinstance(value, str) else "unknown"


def decode_value(meta: object, payload: bytes) -> Returned:
    if not isinstance(meta, dict):
        raise BadValue("value metadata is not an object")
    kind = meta.get("t")
    if kind == "none":
        return Returned(None, type_name="None")
    if kind == "other":
        return Returned(None, type_name=_short(meta.get("type")))
    if kind != "array":
        raise BadValue(f"unknown value kind {kind!r:.40}")
    dtype, shape, off, n = meta.get("dtype"), meta.get("shape"), meta.get("off"), meta.get("n")
    if dtype not in ALLOWED_DTYPES:
        raise BadValue(f"dtype {dtype!r:.40} is not allowed")
    if (not isinstance(shape, list) or len(shape) > MAX_NDIM
            or not all(type(d) is int and 0 <= d <= MAX_ELEMENTS for d in shape)):
        raise BadValue("bad array shape")
    if type(off) is not int or type(n) is not int or off < 0 or n < 0 or off + n > len(payload):
        raise BadValue("array bytes out of range")
    count = 1
    for d in shape:
        count *= d
    if count > MAX_ELEMENTS or count * np.dtype(dtype).itemsize != n:
        raise BadValue("array size does not match its bytes")
    scalar = meta.get("scalar") is True
    if scalar and shape:
        raise BadValue("a scalar with a shape")
    arr = np.frombuffer(payload, dtype=np.dtype(dtype), count=count, offset=off).reshape(shape).copy()
    type_name = ("bool" if arr.dtype.kind == "b" else "float" if arr.dtype.kind == "f" else "int") if scalar else "ndarray"
    return Returned(arr, scalar=scalar, type_name=type_name)


def decode_outputs(meta: object, payload: bytes) -> Outputs:
    if isinstance(meta, dict) and meta.get("t") == "seq":
        items = meta.get("items")
        if not isinstance(items, list) or len(items) > 64:
            raise BadValue("bad sequence")
        return Outputs(tuple(decode_value(m, payload) for m in items), True, _short(meta.get("type")))
    value = decode_value(meta, payload)
    return Outputs((value,), False, value.type_name)
