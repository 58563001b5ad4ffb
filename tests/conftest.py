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


@pytest.fixture(scope="session")
def tiny_adapter(tmp_path_factory) -> Path:
    """A tiny default-design backbone with a (random) LoRA adapter saved as `lmm-apa train` saves it."""
    from lmm_apa.models.backbone import load_backbone
    from lmm_apa.models.testing import tiny_qwen2_audio

    base = tiny_qwen2_audio(tmp_path_factory.mktemp("tiny-base"), design="default")
    lmm = load_backbone(base)
    lmm.add_lora()
    return lmm.save_adapter(tmp_path_factory.mktemp("tiny-adapter"))


@pytest.fixture(scope="session")
def bear(corpus_dir) -> tuple[Path, str]:
    return corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac", "We call it bear."


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory):
    """A tiny default-design backbone (real Whisper-base encoder, 2-layer LM); tests/models/ overrides it
    with one of each design."""
    from lmm_apa.models.testing import tiny_qwen2_audio

    return tiny_qwen2_audio(tmp_path_factory.mktemp("tiny") / "backbone", design="default")


@pytest.fixture(scope="session")
def tiny_jsonl(tmp_path_factory):
    """Two utterances of noise (1 s and 1.5 s) with answers; two rejected answers each."""
    import json

    import numpy as np
    import soundfile as sf

    root = tmp_path_factory.mktemp("tinydata")
    rng = np.random.default_rng(0)
    rows = []
    for i, seconds in enumerate((1.0, 1.5)):
        wav = root / f"u{i}.wav"
        sf.write(wav, (0.1 * rng.standard_normal(int(16000 * seconds))).astype("float32"), 16000)
        rows.append(
            {
                "utt_id": f"u{i}",
                "audio": str(wav),
                "task": "sentence",
                "prompt": "<|AUDIO|>\nText: hello\nScore the reading.",
                "chosen": f"accuracy {7 + i} fluency 8",
                "rejected": [f"accuracy {3 + i} fluency 2", "accuracy 1 fluency 1"],
            }
        )
    path = root / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture
def tiny_cfg(tiny_backbone, tiny_jsonl, tmp_path):
    """Overrides for a 4-step run on the tiny backbone; extend with more `section.key=value`."""

    def make(*extra: str):
        from lmm_apa.train.config import load_config

        return load_config(
            None,
            [
                f"model.backbone={tiny_backbone}",
                f"data.train_jsonl={tiny_jsonl}",
                "data.task=sentence",
                f"data.feature_cache={tmp_path / 'feats'}",
                "train.max_steps=4",
                "train.grad_accum=2",
                "train.warmup_ratio=0",
                "train.lr=1e-2",
                "train.save_every=2",
                "train.tensorboard=false",
                f"train.output_dir={tmp_path / 'run'}",
                *extra,
            ],
        )

    return make
