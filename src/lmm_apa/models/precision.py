"""`--precision {auto,fp32,bf16}`: which number format the language model computes in.

``auto`` picks bf16 where the hardware multiplies bf16 matrices natively (a CUDA device, or a CPU
with AMX or AVX512-BF16: `amx_bf16` / `avx512_bf16` in /proc/cpuinfo) and fp32 elsewhere: on a CPU
without them oneDNN emulates bf16 and it is slower than fp32. AVX512-BF16 alone (this project's
AMD EPYC machines: no AMX) is enough: `bench/speed.py` measured a 4 s recording scored in 0.44 s
instead of fp32's 0.74 s there, the dev PCC of every aspect within 0.001. The choice and its
reason are logged (logger ``lmm_apa.precision``) and returned, so the CLI can print them.

What bf16 changes (`bench/speed.py` measures it): weights and activations of the projector and the
language model are stored in bf16 (inference) or computed in it under autocast (training, fp32
master weights). The Whisper-base encoder (CTranslate2) and the aligner stay in fp32; every
softmax over the score symbols is taken in fp32.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from lmm_apa.errors import ConfigError

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
# CPU flags of native bf16 matrix multiplication that `auto` trusts (/proc/cpuinfo names).
BF16_CPU_FLAGS: tuple[str, ...] = ("amx_bf16", "avx512_bf16")
CPUINFO = Path("/proc/cpuinfo")

log = logging.getLogger("lmm_apa.precision")


@dataclass(frozen=True)
class Precision:
    name: str  # "fp32" or "bf16": what runs
    requested: str  # what was asked for ("auto", "fp32", "bf16")
    reason: str  # why, for the log

    @property
    def dtype(self):
        import torch

        return torch.bfloat16 if self.name == "bf16" else torch.float32

    def __str__(self) -> str:
        return self.name if self.requested == self.name else f"{self.name} ({self.requested}: {self.reason})"


def cpu_flags(cpuinfo: Path = CPUINFO) -> set[str]:
    """The feature flags of the first CPU in /proc/cpuinfo (empty where there is no such file)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86 / ARM
            return set(value.split())
    return set()


def resolve_precision(requested: str = "auto", device=None, cpuinfo: Path = CPUINFO) -> Precision:
    """What ``requested`` means on ``device`` (None: CUDA if available, else CPU). Logs the choice."""
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision {requested!r}: expected one of {', '.join(PRECISIONS)}")
    if requested != "auto":
        choice = Precision(requested, requested, "as requested")
    else:
        import torch

        kind = torch.device(device).type if device is not None else None
        if kind is None:
            kind = "cuda" if torch.cuda.is_available() else "cpu"
        if kind == "cuda":
            choice = Precision("bf16", "auto", "CUDA device")
        elif found := sorted(set(BF16_CPU_FLAGS) & cpu_flags(cpuinfo)):
            choice = Precision("bf16", "auto", f"CPU has {', '.join(found)}")
        else:
            choice = Precision("fp32", "auto", f"CPU lacks {' and '.join(BF16_CPU_FLAGS)}")
    log.info("precision: %s", choice)
    return choice


def check_precision(value: str) -> str:
    """The value if it is one of PRECISIONS, else a `ConfigError` naming them (a training config's
    setting; the CLI's `--precision` is an enum that typer checks before anything loads)."""
    if value not in PRECISIONS:
        raise ConfigError(f"{value!r} is not one of {', '.join(PRECISIONS)}")
    return value
