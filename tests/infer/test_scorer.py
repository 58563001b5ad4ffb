import math

import numpy as np
import pytest

from lmm_apa.data.records import Utterance
from lmm_apa.errors import AudioError, LexiconError, ModelError
from lmm_apa.infer.onepass import onepass_scores
from lmm_apa.infer.scorer import Scorer, load_scorer
from lmm_apa.tasks.answer import slots


@pytest.fixture(scope="module")
def onepass(tiny_adapter) -> Scorer:
    return load_scorer(tiny_adapter, mode="onepass")


def test_onepass_fills_every_slot_with_a_probability_weighted_score(onepass, bear):
    audio, text = bear
    result = onepass.assess_text(audio, text)
    utt = result.utterance
    assert [w.text for w in utt.words] == ["WE", "CALL", "IT", "BEAR"]
    expected = slots(utt, "multi")
    assert set(result.std) == set(expected)
    for slot in expected:
        value = slot.read(utt)
        hi = 2.0 if slot.granularity == "phone" else 10.0
        assert value is not None and 0.0 <= value <= hi
        assert 0.0 <= result.std[slot] <= hi / 2
    assert not result.problems


def test_onepass_mean_is_the_expectation_of_the_slot_distribution(onepass, bear):
    audio, text = bear
    from lmm_apa.data.audio import load_audio
    from lmm_apa.infer.reference import reference_utterance

    lmm = onepass.lmm
    readout = onepass_scores(lmm, lmm.encode_audio(load_audio(audio)), reference_utterance(text), "multi")
    assert readout.probs.shape == (len(readout.slots), 11)
    assert np.allclose(readout.probs.sum(-1).numpy(), 1.0, atol=1e-5)
    units = np.arange(11)
    for i, slot in enumerate(readout.slots):
        per_point = 5 if slot.granularity == "phone" else 1
        assert math.isclose(
            readout.mean[slot], float(readout.probs[i].numpy() @ units) / per_point, rel_tol=1e-5
        )


def test_generation_mode_reports_parse_problems_instead_of_failing(tiny_adapter, bear):
    audio, text = bear
    scorer = load_scorer(tiny_adapter, mode="generate")
    result = scorer.assess_text(audio, text)
    # A random tiny model writes no valid answer: every slot is missing and said so.
    assert isinstance(result.utterance, Utterance)
    assert result.problems
    assert result.to_json()["problems"] == result.problems


def test_json_is_the_corpus_schema_with_uncertainty(onepass, bear):
    audio, text = bear
    out = onepass.assess_text(audio, text, utt_id="u1").to_json()
    again = Utterance.from_corpus_dict(out)
    assert again.utt_id == "u1"
    assert {"accuracy", "completeness", "fluency", "prosodic", "total", "words"} <= set(out)
    word = out["words"][3]
    assert word["phones"] == ["B", "EH0", "R"] and len(word["phones-accuracy"]) == 3
    assert len(out["uncertainty"]["words"][3]["phones-accuracy"]) == 3


def test_bad_inputs_raise_user_errors(onepass, tmp_path):
    with pytest.raises(AudioError, match="does not exist|not found|no such"):
        onepass.assess_text(tmp_path / "missing.wav", "hello")
    with pytest.raises(LexiconError):
        onepass.assess_text(np.zeros(16000, dtype=np.float32), "!!!")
    with pytest.raises(ModelError):
        load_scorer(tmp_path / "nothing-here")


def test_logits_at_slots_equal_the_full_forward(onepass, bear):
    import torch

    from lmm_apa.data.audio import load_audio

    lmm = onepass.lmm
    feats = lmm.encode_audio(load_audio(bear[0]))
    ids = torch.tensor([lmm.prompt_ids("<|AUDIO|> score this", len(feats)) + lmm.answer_ids("sentence:8/X")])
    mask = torch.ones_like(ids)
    positions = torch.tensor([[3, ids.shape[1] - 2, ids.shape[1] - 1]])
    with torch.no_grad():
        full = lmm.forward(ids, mask, [feats])
        picked = lmm.logits_at(ids, mask, [feats], positions)
    assert torch.allclose(picked[0], full[0, positions[0]], atol=1e-5)


def test_twopass_reads_the_slots_again_with_the_first_pass_symbols_filled_in(onepass, bear):
    import torch

    from lmm_apa.data.audio import load_audio
    from lmm_apa.infer.reference import reference_utterance
    from lmm_apa.tasks.answer import slot_token_ids, token_layout
    from lmm_apa.tasks.prompts import build_prompt

    lmm, ref = onepass.lmm, reference_utterance(bear[1])
    feats = lmm.encode_audio(load_audio(bear[0]))
    first = onepass_scores(lmm, feats, ref, "multi")
    second = onepass_scores(lmm, feats, ref, "multi", passes=2)
    # By hand: the answer with each slot holding pass 1's most likely symbol, one full forward.
    symbols = slot_token_ids(lmm.tokenizer)
    layout = token_layout(ref, "multi", lmm.tokenizer)
    answer = list(layout.ids)
    for pos, k in zip(layout.slot_positions, first.probs.argmax(-1).tolist(), strict=True):
        answer[pos] = symbols[k]
    prompt = lmm.prompt_ids(build_prompt(ref, "multi"), len(feats))
    ids = torch.tensor([prompt + answer])
    at = [len(prompt) + p - 1 for p in layout.slot_positions]
    with torch.no_grad():  # the scorer's own path (and precision), at the slots
        logits = lmm.logits_at(ids, torch.ones_like(ids), [feats], torch.tensor([at]))[0]
    expected = logits[:, symbols].float().softmax(-1)
    assert torch.allclose(second.probs, expected, atol=1e-5)
    # The first slot conditions on no earlier slot, so the second pass cannot change it.
    assert torch.allclose(second.probs[0], first.probs[0], atol=1e-6)


def test_an_adapter_remembers_its_task_and_the_scorer_uses_it(tiny_adapter, tmp_path):
    scorer = load_scorer(tiny_adapter, merge=False)  # a merged LoRA cannot be saved as an adapter
    word_adapter = scorer.lmm.save_adapter(tmp_path / "word", task="word")
    assert load_scorer(word_adapter).task == "word"
    assert scorer.task == "multi"  # an adapter without a recorded task is multi-granularity


def test_a_slots_only_adapter_refuses_free_running_generation(tiny_adapter, tmp_path):
    scorer = load_scorer(tiny_adapter, merge=False)
    slots_only = scorer.lmm.save_adapter(tmp_path / "filler", task="multi", answer_inputs="filler")
    with pytest.raises(ModelError, match="--mode onepass"):
        load_scorer(slots_only, mode="generate")
    assert load_scorer(slots_only, mode="onepass").mode == "onepass"
