"""Numpy arrays as plain JSON-able data, for bulky per-neuron telemetry (activation
windows, weight matrices) where a JSON list of floats would be several times larger.
numpy only -- no torch here."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np

_ARRAY_DTYPES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}


def encode_array(array: Any, dtype: str = "float32") -> dict:
    """``{"dtype", "shape", "b64"}`` for ``array`` cast to ``dtype``."""
    arr = np.ascontiguousarray(np.asarray(array, dtype=dtype))
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_array(data: Mapping[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_array`; validates dtype and size before trusting them."""
    if not isinstance(data, Mapping):
        raise ValueError("an encoded array must be a JSON object")
    dtype = data.get("dtype")
    if dtype not in _ARRAY_DTYPES:
        raise ValueError(f"unsupported array dtype {dtype!r}")
    shape = tuple(int(n) for n in data.get("shape", ()))
    if any(n < 0 for n in shape):
        raise ValueError(f"array shape {shape} has a negative size")
    raw = base64.b64decode(data.get("b64", ""))
    expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if len(raw) != expected:
        raise ValueError(f"array data has {len(raw)} bytes, shape {shape} needs {expected}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
