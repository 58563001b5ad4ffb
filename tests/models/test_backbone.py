"""AudioLMM on tiny backbones of both designs: encode, forward, loss, LoRA step, adapter round trip."""

import pytest
import torch

from lmm_apa.models.backbone import load_backbone
from lmm_apa.models.features import n_audio_tokens
from lmm_apa.models.lora import LoraSettings

PROMPT = "Rate the pronunciation of this recording: <|AUDIO|> Answer with scores."
ANSWER = "accuracy: 7 fluency: 8"


def _batch(lmm, feats):
    prompt = lmm.prompt_ids(PROMPT, len(feats))
    ids = prompt + lmm.answer_ids(ANSWER)
    input_ids = torch.tensor([ids])
    labels = input_ids.clone()
    labels[0, : len(prompt)] = -100  # loss on the answer only, as the trainer does
    return input_ids, torch.ones_like(input_ids), labels


def _loss(lmm, input_ids, mask, labels, feats):
    logits = lmm.forward(input_ids, mask, [feats])
    return torch.nn.functional.cross_entropy(logits[0, :-1], labels[0, 1:], ignore_index=-100)


def test_encode_audio_gives_qwen2_audio_token_count(tiny_backbone, speech):
    lmm = load_backbone(tiny_backbone)
    feats = lmm.encode_audio(speech)
    # 2.58 s = 258 mel frames -> 129 after the stride-2 conv -> 64 after the 2x pool
    assert feats.shape == (n_audio_tokens(len(speech) // 160), lmm.d_audio) == (64, lmm.d_audio)
    assert feats.dtype == torch.float32 and not feats.requires_grad
    assert torch.isfinite(feats).all() and feats.std() > 0


def test_prompt_ids_expand_placeholder_and_end_with_assistant_header(tiny_backbone):
    lmm = load_backbone(tiny_backbone)
    ids = lmm.prompt_ids(PROMPT, 7)
    assert ids.count(lmm.audio_token_id) == 7
    run = ids.index(lmm.audio_token_id)
    assert ids[run : run + 7] == [lmm.audio_token_id] * 7  # one contiguous span
    assert lmm.tokenizer.decode(ids).endswith("<|im_start|>assistant\n")
    assert lmm.answer_ids("7")[-1] == lmm.tokenizer.convert_tokens_to_ids("<|im_end|>")
    with pytest.raises(ValueError, match="exactly once"):
        lmm.prompt_ids("no placeholder", 3)


def test_forward_rejects_audio_count_mismatch(tiny_backbone):
    lmm = load_backbone(tiny_backbone)
    ids = torch.tensor([lmm.prompt_ids(PROMPT, 5)])
    with pytest.raises(ValueError, match="do not match"):
        lmm.forward(ids, torch.ones_like(ids), [torch.zeros(4, lmm.d_audio)])


def test_lora_step_changes_only_trainable_and_adapter_round_trips(tiny_backbone, speech, tmp_path):
    torch.manual_seed(0)
    lmm = load_backbone(tiny_backbone)
    lmm.add_lora(LoraSettings(rank=8, alpha=16, dropout=0.05))
    feats = lmm.encode_audio(speech)
    input_ids, mask, labels = _batch(lmm, feats)

    trainable = lmm.named_trainable_parameters()
    assert any("multi_modal_projector" in n for n in trainable)
    assert all("multi_modal_projector" in n or "lora_" in n for n in trainable)
    assert not any("audio_tower" in n for n in trainable)
    before = {n: p.detach().clone() for n, p in lmm.model.named_parameters()}

    lmm.model.train()
    loss = _loss(lmm, input_ids, mask, labels, feats)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    # lr large enough that every trainable tensor moves (lora_B starts at zero, so lora_A's gradient is zero
    # at step one: Adam still leaves it unchanged, which is what LoRA's init intends)
    torch.optim.AdamW(lmm.trainable_parameters(), lr=1e-2).step()
    changed = {n for n, p in lmm.model.named_parameters() if not torch.equal(p, before[n])}
    assert changed, "the optimizer step changed nothing"
    assert changed <= set(trainable), f"frozen weights changed: {sorted(changed - set(trainable))[:5]}"
    assert any("lora_B" in n for n in changed) and any("multi_modal_projector" in n for n in changed)

    lmm.model.eval()
    with torch.no_grad():
        logits = lmm.forward(input_ids, mask, [feats])
    lmm.save_adapter(tmp_path / "adapter")
    again = load_backbone(tiny_backbone, adapter=tmp_path / "adapter")
    with torch.no_grad():
        logits_again = again.forward(input_ids, mask, [feats])
    assert torch.equal(logits, logits_again)
    assert not again.trainable_parameters()  # loaded for scoring: frozen

    resumed = load_backbone(tiny_backbone, adapter=tmp_path / "adapter", trainable=True)
    assert set(resumed.named_trainable_parameters()) == set(trainable)


def test_generate_returns_text(tiny_backbone, speech):
    lmm = load_backbone(tiny_backbone)
    feats = lmm.encode_audio(speech)
    text = lmm.generate(lmm.prompt_ids(PROMPT, len(feats)), feats, max_new_tokens=4)
    assert isinstance(text, str) and text


def test_batch_rows_take_their_own_audio(tiny_backbone, speech):
    """Two rows with different audio lengths: each row's logits equal its own single-row forward."""
    lmm = load_backbone(tiny_backbone)
    f1, f2 = lmm.encode_audio(speech), lmm.encode_audio(speech[: len(speech) // 2])
    rows = [lmm.prompt_ids(PROMPT, len(f)) + lmm.answer_ids(ANSWER) for f in (f1, f2)]
    width = max(map(len, rows))
    ids = torch.tensor([r + [lmm.pad_token_id] * (width - len(r)) for r in rows])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    with torch.no_grad():
        both = lmm.forward(ids, mask, [f1, f2])
        alone = lmm.forward(torch.tensor([rows[1]]), torch.ones(1, len(rows[1]), dtype=torch.long), [f2])
    torch.testing.assert_close(both[1, : len(rows[1])], alone[0], atol=1e-4, rtol=1e-4)


def test_encode_audio_refuses_over_30s(tiny_backbone):
    import numpy as np

    from lmm_apa.errors import ModelError

    lmm = load_backbone(tiny_backbone)
    with pytest.raises(ModelError, match="30 s"):
        lmm.encode_audio(np.zeros(16_000 * 31, dtype=np.float32))


def _bf16_round_trip(tiny_backbone, speech, device: str) -> None:
    lmm = load_backbone(tiny_backbone, dtype=torch.bfloat16, device=device)
    feats = lmm.encode_audio(speech)
    assert feats.dtype == torch.float32 and feats.device.type == "cpu"  # cacheable whatever the model dtype
    ids = torch.tensor([lmm.prompt_ids(PROMPT, len(feats))])
    with torch.no_grad():
        logits = lmm.forward(ids, torch.ones_like(ids), [feats])
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()
    assert isinstance(lmm.generate(ids[0].tolist(), feats, max_new_tokens=2), str)


def test_bf16_on_cpu(tiny_backbone, speech):
    _bf16_round_trip(tiny_backbone, speech, "cpu")


@pytest.mark.gpu
def test_bf16_on_cuda(tiny_backbone, speech):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    _bf16_round_trip(tiny_backbone, speech, "cuda")


def test_prompt_ids_without_chat_template_use_chatml(tiny_backbone):
    lmm = load_backbone(tiny_backbone)
    lmm.tokenizer.chat_template = None  # as a base (non-instruct) Qwen2-Audio checkpoint
    text = lmm.tokenizer.decode(lmm.prompt_ids(PROMPT, 2))
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "Rate the pronunciation of this recording: <|AUDIO|><|AUDIO|> Answer with scores.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_qwen2_audio_tokenizer_gets_audio_bos_eos(tiny_backbone):
    """With Qwen2-Audio's <|audio_bos|>/<|audio_eos|> in the vocabulary, the audio span is wrapped in them."""
    from lmm_apa.models.backbone import AudioLMM

    lmm = load_backbone(tiny_backbone)
    tok = lmm.tokenizer
    tok.add_special_tokens({"additional_special_tokens": ["<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"]})
    ids = AudioLMM(lmm.model, tok, None, base="test").prompt_ids(PROMPT, 3)
    bos, eos = tok.convert_tokens_to_ids(["<|audio_bos|>", "<|audio_eos|>"])
    start = ids.index(bos)
    assert ids[start : start + 5] == [bos] + [lmm.audio_token_id] * 3 + [eos]
