"""The LMM reads the aligner's evidence at its score slots: training, saving and scoring, on the tiny
backbone (real Whisper-base encoder, so the shipped aligner's evidence is real)."""

import torch

from lmm_apa.train.data import build_datasets
from lmm_apa.train.log import read_log
from lmm_apa.train.loop import build_model, make_batch, train


def _evidence_cfg(tiny_cfg, corpus_dir, *extra):
    return tiny_cfg(
        "data.train_jsonl=null",
        f"data.corpus_dir={corpus_dir}",
        "data.task=multi",
        "data.answer_inputs=filler",
        "data.evidence=true",
        "data.limit=3",
        "data.dev_limit=1",
        "data.n_rejected=2",
        *extra,
    )


def test_zero_initialised_projector_changes_nothing_until_trained(tiny_cfg, corpus_dir):
    cfg = _evidence_cfg(tiny_cfg, corpus_dir)
    lmm = build_model(cfg)
    assert lmm.evidence_width and any("evidence_projector" in n for n in lmm.named_trainable_parameters())
    train_set, _, _ = build_datasets(cfg, lmm)
    batch = make_batch(train_set[:2], lmm, with_rejected=False)
    assert batch.evidence.shape[:2] == batch.positions.shape and batch.evidence_mask.any()
    args = (batch.input_ids, batch.attention_mask, batch.audio_feats, batch.positions)
    with torch.no_grad():
        plain = lmm.logits_at(*args)
        same = lmm.logits_at(*args, batch.evidence_inputs)
        torch.nn.init.normal_(lmm.evidence_projector[2].weight, std=0.1)
        moved = lmm.logits_at(*args, batch.evidence_inputs)
    assert torch.allclose(plain, same)
    assert not torch.allclose(plain, moved, atol=1e-4)


def test_evidence_model_trains_saves_and_scores_with_the_aligner(tiny_cfg, corpus_dir, bear_audio):
    from lmm_apa.infer.scorer import load_scorer

    cfg = _evidence_cfg(tiny_cfg, corpus_dir, "data.unsaid_rate=1.0", "train.max_steps=3")
    result = train(cfg, progress=False)
    log = [r for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]
    assert len(log) == 3 and all(r["loss"] == r["loss"] for r in log)  # finite
    info = (result.final_adapter / "lmm_apa_adapter.json").read_text()
    assert '"evidence_width"' in info and (result.final_adapter / "evidence_projector.safetensors").is_file()
    scorer = load_scorer(result.final_adapter)
    assert scorer.lmm.evidence_width
    utt = scorer.assess_text(bear_audio, "We call it bear").utterance
    assert all(p.accuracy is not None for p in utt.phones) and utt.words[0].start is not None
    # listening off: the model cannot read its evidence, and says so
    import pytest

    from lmm_apa.errors import ModelError

    with pytest.raises(ModelError, match="evidence"):
        load_scorer(result.final_adapter, listen=False).assess_text(bear_audio, "We call it bear")


def test_segment_inputs_train_save_and_score(tiny_cfg, corpus_dir, bear_audio):
    """Variant (b): the slots read their aligned audio; the kind travels with the adapter."""
    import json

    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.align.head import DEFAULT_HEAD
    from lmm_apa.infer.scorer import load_scorer
    from lmm_apa.tasks.slot_evidence import input_width

    cfg = _evidence_cfg(tiny_cfg, corpus_dir, "data.evidence=gop+segments", "train.max_steps=2")
    assert cfg.data.evidence == "gop+segments"
    result = train(cfg, progress=False)
    info = json.loads((result.final_adapter / "lmm_apa_adapter.json").read_text())
    assert info["evidence_kind"] == "gop+segments"
    assert info["evidence_width"] == input_width("gop+segments", EvidenceScorer.load(DEFAULT_HEAD))
    scorer = load_scorer(result.final_adapter)
    assert scorer.lmm.evidence_kind == "gop+segments"
    utt = scorer.assess_text(bear_audio, "We call it bear").utterance
    assert all(p.accuracy is not None for p in utt.phones)


def test_evidence_config_kinds(tiny_cfg, corpus_dir):
    import pytest

    from lmm_apa.train.config import ConfigError

    assert _evidence_cfg(tiny_cfg, corpus_dir).data.evidence == "gop"  # `true` predates the kinds
    assert _evidence_cfg(tiny_cfg, corpus_dir, "data.evidence=false").data.evidence == "none"
    with pytest.raises(ConfigError, match="evidence"):
        _evidence_cfg(tiny_cfg, corpus_dir, "data.evidence=frames")


def test_the_paper_backbone_opts_in_to_the_same_inputs(tmp_path, tiny_jsonl, corpus_dir, bear_audio):
    """A Qwen2-Audio model (its own Whisper audio tower, not the aligner's CT2 Whisper-base) reads
    the aligner's evidence too: the paper's configs opt in with data.evidence + answer_inputs filler."""
    from lmm_apa.infer.scorer import load_scorer
    from lmm_apa.models.testing import tiny_qwen2_audio
    from lmm_apa.train.config import load_config

    backbone = tiny_qwen2_audio(tmp_path / "qwen2audio", design="qwen2_audio")
    cfg = load_config(
        None,
        [
            f"model.backbone={backbone}",
            f"data.corpus_dir={corpus_dir}",
            "data.task=multi",
            "data.answer_inputs=filler",
            "data.evidence=gop",
            "data.limit=2",
            "data.dev_limit=1",
            "data.n_rejected=1",
            f"data.feature_cache={tmp_path / 'feats'}",
            "train.max_steps=2",
            "train.grad_accum=2",
            "train.tensorboard=false",
            f"train.output_dir={tmp_path / 'run'}",
        ],
    )
    result = train(cfg, progress=False)
    scorer = load_scorer(result.final_adapter)
    assert not scorer.lmm.shares_whisper_base and scorer.lmm.evidence_kind == "gop"
    utt = scorer.assess_text(bear_audio, "We call it bear").utterance
    assert all(p.accuracy is not None for p in utt.phones)
