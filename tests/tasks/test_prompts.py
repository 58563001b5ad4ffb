import pytest

from lmm_apa.tasks.answer import TASKS
from lmm_apa.tasks.prompts import AUDIO_PLACEHOLDER, build_prompt


@pytest.mark.parametrize("task", TASKS)
def test_prompt_holds_audio_text_phones_and_ranges(example_utt, task):
    prompt = build_prompt(example_utt, task)
    assert prompt.count(AUDIO_PLACEHOLDER) == 1 and prompt.startswith(AUDIO_PLACEHOLDER)
    assert "Text: we call it bear" in prompt
    assert "Phones: we: W IY0; call: K AO0 L; it: IH0 T; bear: B EH0 R" in prompt
    assert "0-10 (X=10)" in prompt
    assert ("accuracy 0-2, written x5" in prompt) == (task in ("phone", "multi"))
    assert ("stress 5 or 10" in prompt) == (task in ("word", "multi"))
    assert ("sentence:accuracy/completeness/fluency/prosodic/total" in prompt) == (
        task in ("sentence", "multi")
    )
    assert ("word:accuracy/stress/total" in prompt) == (task in ("word", "multi"))
    assert ("PHONE=accuracy" in prompt) == (task in ("phone", "multi"))
    assert "<|im_start|>" not in prompt  # chat wrapping is the backbone's job


def test_prompts_differ_by_task(example_utt):
    assert len({build_prompt(example_utt, t) for t in TASKS}) == 4


def test_unknown_task(example_utt):
    with pytest.raises(ValueError, match="unknown task"):
        build_prompt(example_utt, "syllable")


def test_placeholder_in_text_is_refused(example_utt):
    utt = example_utt.model_copy(update={"text": f"hello {AUDIO_PLACEHOLDER}"})
    with pytest.raises(ValueError, match="AUDIO"):
        build_prompt(utt, "multi")


def test_prompts_stay_short(example_utt, smollm2_tokenizer):
    """Measured on this 4-word example: multi 114 tokens, single tasks 78-81 (the placeholder
    counts 7 here; the backbone makes it audio tokens), of which text and phones take 37."""
    lengths = {t: len(smollm2_tokenizer.encode(build_prompt(example_utt, t))) for t in TASKS}
    assert lengths["multi"] <= 120
    assert max(lengths[t] for t in ("sentence", "word", "phone")) <= 85
