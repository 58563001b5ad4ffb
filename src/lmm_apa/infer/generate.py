"""The paper's way of reading scores: generate the answer freely, then parse it."""

import torch

from lmm_apa.data.records import Utterance
from lmm_apa.models.backbone import AudioLMM
from lmm_apa.tasks.answer import token_layout
from lmm_apa.tasks.parse import ParseResult, parse_answer
from lmm_apa.tasks.prompts import build_prompt


def generated_scores(lmm: AudioLMM, feats: torch.Tensor, reference: Utterance, task: str) -> ParseResult:
    prompt = lmm.prompt_ids(build_prompt(reference, task), len(feats))
    # Room for the whole skeleton plus slack for a chatty model; beyond that it is rambling.
    budget = len(token_layout(reference, task, lmm.tokenizer).ids) + 16
    text = lmm.generate(prompt, feats, max_new_tokens=budget)
    return parse_answer(text, reference, task)
