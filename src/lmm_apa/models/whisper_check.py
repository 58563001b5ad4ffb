"""Is a folder a CTranslate2 Whisper-base? The check a user's own copy of the weights passes first.

The shipped adapter, the phone recogniser and the evidence readout were all trained on Whisper-base
encoder frames, so another folder must hold the same architecture: a different model would load in
CTranslate2 and give frames of another width or meaning. CTranslate2's config.json says nothing
about the architecture (alignment heads and token ids only); the shapes are in model.bin's header,
which is read without its data (`ct2_file.read_ct2_header`).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from lmm_apa.errors import ModelError
from lmm_apa.models.ct2_file import read_ct2_header

# openai/whisper-base (multilingual) as CTranslate2 writes it; the packaged copy has exactly this.
WHISPER_BASE = {
    "model type": "WhisperSpec",
    "mel bins": 80,
    "d_model": 512,
    "encoder layers": 6,
    "decoder layers": 6,
    "attention heads": 8,
    "vocabulary": 51865,
}
# Unquantized only: the projector and the aligner were trained on frames of float16 weights run in
# float32; int8 weights would move every frame a little.
_FLOAT_WEIGHTS = ("float16", "float32")
# What each user of the folder reads: CTranslate2 (model.bin, config.json), faster-whisper's
# transcription (tokenizer.json) and its vocabulary (either file name, by converter version).
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
VOCABULARY_FILES = ("vocabulary.txt", "vocabulary.json")


def architecture(model_bin: Path) -> dict[str, object]:
    """The keys of `WHISPER_BASE` as a model.bin's header gives them (None where it has no such part),
    and the type of its encoder weights ("weights")."""
    spec, shapes, scalars = read_ct2_header(model_bin)
    conv1, dtype = shapes.get("encoder/conv1/weight", ((), None))
    embeddings = shapes.get("decoder/embeddings/weight", ((None,), None))[0]

    def layers(stack: str) -> int:
        return len({m[1] for name in shapes if (m := re.match(rf"{stack}/layer_(\d+)/", name))})

    return {
        "model type": spec,
        "mel bins": conv1[1] if len(conv1) == 3 else None,
        "d_model": conv1[0] if conv1 else None,
        "encoder layers": layers("encoder"),
        "decoder layers": layers("decoder"),
        "attention heads": scalars.get("encoder/num_heads"),
        "vocabulary": embeddings[0] if embeddings else None,
        "weights": dtype,
    }


def _vocabulary_size(folder: Path) -> int | None:
    for name in VOCABULARY_FILES:
        path = folder / name
        if path.is_file():
            if name.endswith(".json"):
                return len(json.loads(path.read_text(encoding="utf-8")))
            return sum(1 for _ in path.open(encoding="utf-8"))
    return None


def check_whisper_base(folder: str | Path) -> Path:
    """The folder, resolved, if it holds a CTranslate2 Whisper-base as the shipped models need it;
    else a `ModelError` naming what is missing or what differs (header checked once per file state)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ModelError(f"Whisper-base folder {folder} does not exist")
    missing = [n for n in REQUIRED_FILES if not (folder / n).is_file()]
    if not any((folder / n).is_file() for n in VOCABULARY_FILES):
        missing.append(" or ".join(VOCABULARY_FILES))
    if missing:
        raise ModelError(
            f"Whisper-base folder {folder} lacks {', '.join(missing)}: give a CTranslate2 Whisper-base "
            "folder, e.g. a download of Systran/faster-whisper-base"
        )
    model_bin = (folder / "model.bin").resolve()
    stat = model_bin.stat()
    _check_model_bin(str(model_bin), stat.st_size, stat.st_mtime_ns)
    vocab = _vocabulary_size(folder)
    if vocab != WHISPER_BASE["vocabulary"]:
        raise ModelError(
            f"Whisper-base folder {folder}: its vocabulary file has {vocab} tokens, Whisper-base's "
            f"{WHISPER_BASE['vocabulary']}"
        )
    return folder.resolve()


@lru_cache(maxsize=8)
def _check_model_bin(model_bin: str, size: int, mtime_ns: int) -> None:
    """Raise unless the header is Whisper-base's; cached by (path, size, mtime): read once per process."""
    got = architecture(Path(model_bin))
    differs = [f"{k} {got[k]} (Whisper-base: {want})" for k, want in WHISPER_BASE.items() if got[k] != want]
    if differs:
        raise ModelError(f"{model_bin} is not Whisper-base: {'; '.join(differs)}")
    if got["weights"] not in _FLOAT_WEIGHTS:
        raise ModelError(
            f"{model_bin} holds {got['weights']} weights: the shipped models were trained on float16 "
            "Whisper-base (Systran/faster-whisper-base); give an unquantized (float16 or float32) one"
        )
