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
