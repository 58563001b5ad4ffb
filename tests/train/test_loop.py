"""Tiny-backbone training runs: a few steps each, seconds on a CPU."""

import torch

from lmm_apa.train.checkpoint import list_checkpoints
from lmm_apa.train.data import build_datasets
from lmm_apa.train.log import read_log
from lmm_apa.train.loop import build_model, make_batch, train

TRL_NAMES = (
    "loss", "nll_loss", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies",
    "logps/chosen", "logps/rejected", "lr", "epoch", "step", "samples_per_s",
)  # fmt: skip


def test_loss_decreases_and_only_trainable_parameters_change(tiny_cfg):
    cfg = tiny_cfg("data.n_rejected=2", "train.max_steps=6")
    lmm = build_model(cfg)
    before = {n: p.detach().clone() for n, p in lmm.model.named_parameters()}
    trainable = {n for n, p in lmm.model.named_parameters() if p.requires_grad}
    result = train(cfg, lmm=lmm, progress=False)

    log = [r for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert log[-1]["loss"] < log[0]["loss"] and log[-1]["rewards/margins"] > log[0]["rewards/margins"]
    assert all(name in log[0] for name in TRL_NAMES)

    # bf16 training stores frozen matrices in bf16 (frozen_to_bf16): compare in the stored dtype
    changed = {
        n for n, p in lmm.model.named_parameters() if not torch.equal(before[n].to(p.dtype), p.detach())
    }
    assert changed and changed <= trainable
    assert any("lora_" in n for n in changed) and any("multi_modal_projector" in n for n in changed)
    assert len(before) > len(trainable)  # the base weights exist and stayed frozen

    assert (result.final_adapter / "lmm_apa_adapter.json").is_file()
    assert (result.final_adapter / "config.yaml").is_file()
    ckpts = list_checkpoints(result.output_dir)
    assert [c.name for c in ckpts] == ["step-0000004", "step-0000006"]  # keep_last 2
    assert (ckpts[-1] / "config.yaml").is_file() and (ckpts[-1] / "adapter").is_dir()


def test_resume_reproduces_the_uninterrupted_run(tiny_cfg, tmp_path):
    whole = train(tiny_cfg(f"train.output_dir={tmp_path / 'whole'}"), progress=False)
    cfg = tiny_cfg(f"train.output_dir={tmp_path / 'cut'}")
    first = train(cfg, progress=False, stop_after=2)
    assert first.steps == 2 and not first.final_adapter.exists()
    resumed = train(cfg, resume=True, progress=False)
    assert resumed.resumed_from.name == "step-0000002" and resumed.steps == whole.steps == 4

    a = torch.load(whole.output_dir / "checkpoints/step-0000004/trainer_state.pt", weights_only=False)
    b = torch.load(resumed.output_dir / "checkpoints/step-0000004/trainer_state.pt", weights_only=False)
    assert a["trainable"].keys() == b["trainable"].keys()
    for name in a["trainable"]:
        torch.testing.assert_close(a["trainable"][name], b["trainable"][name], atol=1e-6, rtol=1e-5)
    loss = {r["step"]: r["loss"] for r in read_log(whole.output_dir / "log.jsonl") if "loss" in r}
    cut = {r["step"]: r["loss"] for r in read_log(resumed.output_dir / "log.jsonl") if "loss" in r}
    assert cut.keys() == loss.keys() and abs(cut[4] - loss[4]) < 1e-5


def test_ce_only_mode(tiny_cfg):
    result = train(tiny_cfg("train.loss_type=ce", "train.max_steps=2"), progress=False)
    log = [r for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]
    assert all(r["loss"] == r["nll_loss"] for r in log)
    assert not any(k.startswith("rewards/") for r in log for k in r)


def test_labels_cover_only_the_answers(tiny_cfg):
    cfg = tiny_cfg("data.n_rejected=2")
    lmm = build_model(cfg)
    examples, _, _ = build_datasets(cfg, lmm)
    batch = make_batch(examples, lmm, with_rejected=True)
    assert batch.input_ids.shape[0] == 2 + 2 * 2
    labels, ids = batch.labels, batch.input_ids
    assert (labels[ids == lmm.audio_token_id] == -100).all()
    assert (labels[batch.attention_mask == 0] == -100).all()
    answers = [e.chosen_ids for e in examples] + [r for e in examples for r in e.rejected_ids]
    for row, answer in enumerate(answers):
        assert labels[row][labels[row] != -100].tolist() == answer
        assert answer[-1] == lmm.end_of_turn_id


def test_too_long_audio_is_skipped_and_answers_cut_at_the_end(tiny_cfg):
    lmm = build_model(tiny_cfg())
    full, _, _ = build_datasets(tiny_cfg(), lmm)
    short, long_ = sorted(full, key=lambda e: len(e.prompt_ids))
    cfg = tiny_cfg(f"data.max_length={len(short.prompt_ids) + 2}")
    examples, _, stats = build_datasets(cfg, lmm)
    assert [e.utt_id for e in examples] == [short.utt_id]
    assert stats["train"].skipped_too_long == [long_.utt_id] and stats["train"].truncated == [short.utt_id]
    assert examples[0].prompt_ids == short.prompt_ids  # audio and prompt intact
    assert examples[0].chosen_ids == short.chosen_ids[:2]


def _filler_cfg(tiny_cfg, slot_jsonl, *extra):
    return tiny_cfg(f"data.train_jsonl={slot_jsonl}", "data.task=multi", "data.answer_inputs=filler", *extra)


def test_filler_inputs_hide_every_score_and_label_only_the_slots(tiny_cfg, slot_jsonl):
    from lmm_apa.tasks.answer import SLOT_FILLER, SLOT_SYMBOLS, slot_token_ids

    cfg = _filler_cfg(tiny_cfg, slot_jsonl, "data.n_rejected=2")
    lmm = build_model(cfg)
    examples, _, _ = build_datasets(cfg, lmm)
    batch = make_batch(examples, lmm, with_rejected=True)
    symbols = slot_token_ids(lmm.tokenizer)
    filler = symbols[SLOT_SYMBOLS.index(SLOT_FILLER)]
    assert batch.input_ids.shape[0] == 2 and batch.labels.shape[0] == 2 + 2 * 2
    for b, e in enumerate(examples):
        at = batch.positions[b, : len(e.slot_positions)] + 1  # where the slot tokens sit in the row
        assert (batch.input_ids[b, at] == filler).all()
        assert batch.labels[b, : len(e.slot_positions)].tolist() == [
            e.chosen_ids[p] for p in e.slot_positions
        ]
        assert set(batch.labels[b][batch.labels[b] != -100].tolist()) <= set(symbols)
    # A rejected answer moves some scores: its labels differ from its chosen row's somewhere.
    assert all(
        not torch.equal(batch.labels[2 + j], batch.labels[batch.label_source[2 + j]]) for j in range(4)
    )


def test_filler_loss_reads_the_full_forward_at_the_slots(tiny_cfg, slot_jsonl):
    """The position-only path (logits_at) gives the log-probs a full forward pass gives there."""
    from lmm_apa.train.loop import forward_loss

    cfg = _filler_cfg(tiny_cfg, slot_jsonl, "data.n_rejected=1")
    lmm = build_model(cfg)
    lmm.model.eval()
    examples, _, _ = build_datasets(cfg, lmm)
    batch = make_batch(examples, lmm, with_rejected=True)
    with torch.no_grad():
        _, metrics = forward_loss(lmm, batch, cfg)
        full = lmm.forward(batch.input_ids, batch.attention_mask, batch.audio_feats).log_softmax(-1)
    per_row = []
    for b in range(batch.n_chosen):
        keep = batch.labels[b] != -100
        pos, lab = batch.positions[b][keep], batch.labels[b][keep]
        per_row.append(full[b, pos, lab].mean())
    assert abs(metrics["logps/chosen"] - float(torch.stack(per_row).mean())) < 1e-4


def test_filler_training_learns_the_slots(tiny_cfg, slot_jsonl):
    cfg = _filler_cfg(tiny_cfg, slot_jsonl, "data.n_rejected=3", "train.max_steps=6")
    result = train(cfg, progress=False)
    log = [r for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]
    assert log[-1]["nll_loss"] < log[0]["nll_loss"]
    assert log[-1]["rewards/margins"] > log[0]["rewards/margins"]
    assert all(name in log[0] for name in TRL_NAMES)


def test_each_process_draws_its_own_dropout_masks():
    from lmm_apa.train.loop import dropout_seed

    assert dropout_seed(0, rank=0, step=0) is None and dropout_seed(0, rank=0, step=20) is None
    seeds = {dropout_seed(s, r, k) for s in (0, 1) for r in (1, 2, 3) for k in (0, 2, 20)}
    assert len(seeds) == 18  # apart across seeds, processes and resume points
    torch.manual_seed(dropout_seed(0, rank=1, step=0))
    one = torch.nn.functional.dropout(torch.ones(64), 0.5)
    torch.manual_seed(0)
    assert not torch.equal(one, torch.nn.functional.dropout(torch.ones(64), 0.5))
