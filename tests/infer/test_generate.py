"""Generation-mode scores: the prompt, the token budget and the parse, with a stand-in LMM."""

import pytest
import torch

from lmm_apa.infer.generate import generated_scores
from lmm_apa.infer.reference import reference_utterance
from lmm_apa.tasks.answer import serialize, token_layout


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from lmm_apa.models.parts import smollm2_tokenizer_dir

    return AutoTokenizer.from_pretrained(smollm2_tokenizer_dir())


class _LMM:
    def __init__(self, tokenizer, answer: str):
        self.tokenizer, self.answer, self.calls = tokenizer, answer, []

    def prompt_ids(self, prompt, n_audio):
        self.calls.append(("prompt", prompt, n_audio))
        return [1, 2, 3]

    def generate(self, prompt, feats, max_new_tokens):
        self.calls.append(("generate", prompt, feats.shape, max_new_tokens))
        return self.answer


def test_a_full_answer_is_parsed_into_the_references_scores(tokenizer):
    ref = reference_utterance("we call it bear")
    scored = ref.model_copy(
        update={
            **dict.fromkeys(("accuracy", "completeness", "fluency", "prosodic", "total"), 8.0),
            "words": [w.model_copy(update={"accuracy": 9.0}) for w in ref.words],
        }
    )
    task = "sentence"
    lmm = _LMM(tokenizer, serialize(scored, task))
    feats = torch.zeros(7, 4)
    result = generated_scores(lmm, feats, ref, task)
    assert result.ok, result.problems
    assert result.utterance.accuracy == pytest.approx(8.0)
    (_, prompt, n_audio), (_, ids, shape, budget) = lmm.calls
    assert n_audio == 7 and ids == [1, 2, 3] and shape == (7, 4)
    assert "Text: we call it bear" in prompt
    assert budget == len(token_layout(ref, task, tokenizer).ids) + 16


def test_rambling_is_reported_not_raised(tokenizer):
    ref = reference_utterance("we call it bear")
    result = generated_scores(_LMM(tokenizer, "I think it sounds fine."), torch.zeros(3, 4), ref, "sentence")
    assert not result.ok and result.problems
    assert result.utterance.accuracy is None
