"""A tiny Qwen2-Audio backbone (real Whisper-base encoder, 2-layer LM) and a 2-utterance JSONL."""

import json

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory):
    from lmm_apa.models.testing import tiny_qwen2_audio

    return tiny_qwen2_audio(tmp_path_factory.mktemp("tiny") / "backbone", design="default")


@pytest.fixture(scope="session")
def tiny_jsonl(tmp_path_factory):
    """Two utterances of noise (1 s and 1.5 s) with answers; two rejected answers each."""
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


@pytest.fixture(scope="session")
def slot_jsonl(tmp_path_factory, corpus_dir):
    """Two real corpus utterances as multi-task rows in the answer format, two rejected answers each."""
    from lmm_apa.data.speechocean import load_speechocean762
    from lmm_apa.tasks.build import make_record

    utts = sorted(load_speechocean762(corpus_dir, "train"), key=lambda u: len(u.words))[:2]
    rows = [make_record(u, "multi", n_rejected=2) for u in utts]
    path = tmp_path_factory.mktemp("slotdata") / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="session")
def bear_audio(corpus_dir):
    return corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac"
