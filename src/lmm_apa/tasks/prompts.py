"""Every instruction the model sees, in one place.

Prompts are terse on purpose: on the default CPU backbone every prompt token costs training time.
Each gives the reference text, the canonical phones per word (as the answer lists them), the
corpus' score ranges and the answer format of its task (see ``lmm_apa.tasks.answer``). The audio
sits at ``AUDIO_PLACEHOLDER``, exactly once; the backbone expands it to the audio tokens and wraps
the prompt in its own chat template.
"""

from __future__ import annotations

from lmm_apa.data.records import Utterance
from lmm_apa.models.parts import AUDIO_TOKEN
from lmm_apa.tasks.answer import check_task, word_label

# Qwen2-Audio's audio token (defined with the tokenizer that gets it); the backbone replaces it with
# one token per audio frame.
AUDIO_PLACEHOLDER = AUDIO_TOKEN

HEADER = "{audio}\nText: {text}\nPhones: {phones}\n"
SENTENCE = "sentence:accuracy/completeness/fluency/prosodic/total"
WORD = "word:accuracy/stress/total"
PHONE = "PHONE=accuracy ..."

TEMPLATES: dict[str, str] = {
    "sentence": f"{HEADER}Scores 0-10 (X=10).\nAnswer {SENTENCE}",
    "word": f"{HEADER}Scores 0-10 (X=10); stress 5 or 10.\nAnswer per word: {WORD}",
    "phone": f"{HEADER}Phone accuracy 0-2, written x5 as 0-10 (X=10).\nAnswer per word: word: {PHONE}",
    "multi": (
        f"{HEADER}Scores 0-10 (X=10); stress 5 or 10; phone accuracy 0-2, written x5.\n"
        f"Answer {SENTENCE}, then per word: {WORD} {PHONE}"
    ),
}


def phones_line(utt: Utterance) -> str:
    """Canonical phones per word, in the answer's own spelling: ``we: W IY0; call: K AO0 L``."""
    return "; ".join(f"{word_label(w.text)}: {' '.join(p.symbol for p in w.phones)}" for w in utt.words)


def build_prompt(utt: Utterance, task: str) -> str:
    """The instruction for ``task`` on ``utt`` (not chat-wrapped; the audio placeholder once)."""
    template = TEMPLATES[check_task(task)]
    text = utt.text.lower()  # lower case: the corpus' capitals cost about twice the tokens
    if AUDIO_PLACEHOLDER.lower() in text:
        raise ValueError(f"the reference text may not contain {AUDIO_PLACEHOLDER}")
    return template.format(audio=AUDIO_PLACEHOLDER, text=text, phones=phones_line(utt))
