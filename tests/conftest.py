import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _corpus_dir() -> Path:
    return Path(os.environ.get("LMM_APA_CORPUS", REPO.parent / "shared" / "speechocean762"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The real Speechocean762 train split (../shared/speechocean762 or $LMM_APA_CORPUS)."""
    d = _corpus_dir()
    if not (d / "train" / "wav.scp").exists():
        pytest.skip(f"Speechocean762 not found at {d} (set LMM_APA_CORPUS)")
    return d


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def official_whisper_dir(tmp_path_factory) -> Path:
    """A folder laid out as a download of Systran/faster-whisper-base, its files links to the packaged
    Whisper-base (the same bytes: the packaged model.bin has the official sha256)."""
    from lmm_apa.models.parts import packaged_whisper_dir

    packaged = packaged_whisper_dir()
    folder = tmp_path_factory.mktemp("faster-whisper-base")
    for name in ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt"):
        (folder / name).symlink_to(packaged / name)
    return folder


@pytest.fixture(scope="session")
def train_utts(corpus_dir: Path) -> list:
    """The real Speechocean762 train split, read once per test session."""
    from lmm_apa.data.speechocean import load_speechocean762

    return load_speechocean762(corpus_dir, split="train")


@pytest.fixture
def cached_corpus(train_utts, monkeypatch):
    """load_speechocean762 answered from the session's copy: the corpus is read once per run."""
    import lmm_apa.data.speechocean as speechocean

    monkeypatch.setattr(speechocean, "load_speechocean762", lambda root, split="train": list(train_utts))
