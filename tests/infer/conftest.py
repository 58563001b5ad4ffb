from pathlib import Path

import pytest

from lmm_apa.models.backbone import load_backbone
from lmm_apa.models.testing import tiny_qwen2_audio


@pytest.fixture(scope="session")
def tiny_adapter(tmp_path_factory) -> Path:
    """A tiny default-design backbone with a (random) LoRA adapter saved as `lmm-apa train` saves it."""
    base = tiny_qwen2_audio(tmp_path_factory.mktemp("tiny-base"), design="default")
    lmm = load_backbone(base)
    lmm.add_lora()
    return lmm.save_adapter(tmp_path_factory.mktemp("tiny-adapter"))


@pytest.fixture(scope="session")
def bear(corpus_dir) -> tuple[Path, str]:
    return corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac", "We call it bear."
