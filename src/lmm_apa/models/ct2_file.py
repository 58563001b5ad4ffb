"""CTranslate2's model.bin, parsed with numpy: the one reader of the format in this package.

The layout is the one `ctranslate2/specs/model_spec.py::_serialize` writes: a version, the spec's
name and revision, then every variable (name, shape, type code, byte count, bytes), then aliases
(one name standing for another variable). Two users read it:
- `read_ct2_variables`: every tensor, so `assemble` can copy Whisper-base's encoder weights into the
  torch audio tower;
- `read_ct2_header`: names, shapes and types only (the 145 MB of tensors skipped, a few hundred
  seeks), so `whisper_check` can tell whether a user's folder is Whisper-base.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lmm_apa.errors import ModelError

# CTranslate2's DataType enum (include/ctranslate2/types.h), by code.
_DTYPES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_INTEGERS = ("int8", "int16", "int32")
_SUPPORTED_VERSIONS = (5, 6)


class _Reader:
    """Little-endian fields of one open model.bin; a short read is a `ModelError`, not a struct error."""

    def __init__(self, f: BinaryIO, model_bin: Path):
        self.f, self.model_bin = f, model_bin

    def bytes(self, n: int) -> bytes:
        raw = self.f.read(n)
        if len(raw) < n:
            raise ModelError(f"{self.model_bin} ends inside its header: not a whole CTranslate2 model")
        return raw

    def take(self, fmt: str) -> int:
        return struct.unpack(fmt, self.bytes(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.take("<H")
        return self.bytes(n)[:-1].decode("utf-8", errors="replace")  # n counts the trailing NUL


_Entry = tuple[tuple[int, ...], str, np.ndarray | None]  # shape, dtype name, array (or None)


def _read(model_bin: Path, tensors: bool) -> tuple[str, dict[str, _Entry]]:
    """(spec name, {variable: (shape, dtype name, array)}); aliases resolved. Without ``tensors``
    only scalar integers get an array (a hyper-parameter such as the number of heads), the rest
    None, and the aliases are not read (they follow the tensors)."""
    out: dict[str, _Entry] = {}
    with open(model_bin, "rb") as f:
        r = _Reader(f, Path(model_bin))
        version = r.take("<I")
        if version not in _SUPPORTED_VERSIONS:
            raise ModelError(f"{model_bin}: not a CTranslate2 model (binary version {version}, not 5 or 6)")
        spec = r.string()
        r.take("<I")  # spec revision
        for _ in range(r.take("<I")):
            name = r.string()
            shape = tuple(r.take("<I") for _ in range(r.take("<B")))
            code, nbytes = r.take("<B"), r.take("<I")
            dtype = _DTYPES[code] if code < len(_DTYPES) else f"type {code}"
            array = None
            if tensors or (not shape and dtype in _INTEGERS):
                if dtype not in _DTYPES or dtype == "bfloat16":  # numpy has no bfloat16
                    raise ModelError(f"{model_bin}: {dtype} variables are not supported ({name})")
                array = np.frombuffer(r.bytes(nbytes), dtype=np.dtype(dtype)).reshape(shape)
            else:
                f.seek(nbytes, 1)
            out[name] = (shape, dtype, array)
        if tensors:
            for _ in range(r.take("<I")):
                alias, target = r.string(), r.string()
                out[alias] = out[target]
    return spec, out


def read_ct2_variables(model_bin: Path) -> dict[str, np.ndarray]:
    """All named tensors of a CTranslate2 model.bin (aliases resolved), as read-only numpy arrays."""
    return {name: array for name, (_, _, array) in _read(model_bin, tensors=True)[1].items()}


def read_ct2_header(model_bin: Path) -> tuple[str, dict[str, tuple[tuple[int, ...], str]], dict[str, int]]:
    """(spec name, {variable: (shape, dtype)}, {scalar integer variable: value}) of a CTranslate2
    model.bin, its tensors skipped."""
    spec, variables = _read(model_bin, tensors=False)
    shapes = {name: (shape, dtype) for name, (shape, dtype, _) in variables.items()}
    scalars = {name: int(a) for name, (_, _, a) in variables.items() if a is not None}
    return spec, shapes, scalars
