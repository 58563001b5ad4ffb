"""The answer the model learns to write: one line per level, one single-token slot per score.

Format (``multi``; the single-granularity tasks keep only their own parts)::

    sentence:8/X/9/9/8
    we:X/X/X W=X IY0=X
    call:9/X/9 K=X AO0=9 L=9

- The sentence line gives accuracy/completeness/fluency/prosodic/total, in ``SENTENCE_ASPECTS``
  order. Each word line starts with the lower-cased word, then (word and multi tasks) its
  accuracy/stress/total, then (phone and multi tasks) ``PHONE=v`` for each canonical phone. Words
  and phones come in reference order, so the whole answer but the slot values follows from the
  reference alone (``skeleton``).
- Every slot is one symbol of ``SLOT_SYMBOLS``: the digits 0-9 and ``X`` for 10 (the Roman ten).
  SmolLM2's and Qwen2's tokenizers split numbers digit by digit, so "10" would take two tokens;
  ``X`` is one token and is no ARPAbet phone. A slot holds ``units``: the score itself on the 0-10
  scales, five times the score for phone accuracy (0-2), whose corpus values are means of five
  0/1/2 judgements and so multiples of 0.2.
- Slots are never preceded by a space (a space merges with a following letter into one token,
  " X" -> "ĠX"); they sit after ``:``, ``/`` or ``=``. So the full answer tokenizes exactly as the
  concatenation of its pieces, and ``token_layout`` can place each slot's token from the skeleton.
- Words are lower-cased (fewer tokens than the corpus' capitals) and phones kept as the corpus
  writes them, upper case with stress digit, so the two never read alike.
- Sentence completeness is the one field the alphabet cannot always hold: 8 of the 2500 train
  utterances have a completeness between integers (6.7, 7.5, 8.6, 8.9); it is rounded to the
  nearest integer (Python's round: 7.5 -> 8). Every other train score round-trips exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lmm_apa.data.records import ASPECTS, SCALES, Phone, Utterance

TASKS: tuple[str, ...] = ("multi", "sentence", "word", "phone")
# The levels each task's answer holds, coarse to fine.
TASK_LEVELS: dict[str, tuple[str, ...]] = {
    "multi": ("sentence", "word", "phone"),
    "sentence": ("sentence",),
    "word": ("word",),
    "phone": ("phone",),
}
TEN = "X"
SLOT_SYMBOLS: tuple[str, ...] = (*"0123456789", TEN)
# What a slot holds when its value is not given to the model (one-pass scoring, filler training):
# ``X`` is the most frequent label at the word and phone levels.
SLOT_FILLER = TEN
# A slot is the one symbol right after one of these marks (see the module docstring).
SLOT_MARKS = ":/="
# Slot units per score point: phone accuracy 0-2 is written as round(5 * acc), so 0-10 units.
UNITS_PER_POINT: dict[str, int] = {"sentence": 1, "word": 1, "phone": 5}
MAX_UNITS = len(SLOT_SYMBOLS) - 1
SENTENCE_LABEL = "sentence"

# The meaning of each symbol on each scale, for documentation and one-pass decoding.
SLOT_VALUES: dict[tuple[str, str], dict[str, float]] = {
    scale: {s: i / UNITS_PER_POINT[scale[0]] for i, s in enumerate(SLOT_SYMBOLS)} for scale in SCALES
}


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    return task


def units_of(value: float, granularity: str) -> int:
    """The slot units of a score: rounded to the alphabet (only completeness ever needs it)."""
    return min(MAX_UNITS, max(0, round(value * UNITS_PER_POINT[granularity])))


def value_of_units(units: int, granularity: str) -> float:
    return units / UNITS_PER_POINT[granularity]


def value_of(symbol: str, granularity: str, aspect: str = "accuracy") -> float:
    """The score a slot symbol stands for on the scale of ``granularity``/``aspect``."""
    return SLOT_VALUES[(granularity, aspect)][symbol]


@dataclass(frozen=True)
class Slot:
    """One score slot of an answer. ``word``/``phone`` are indices in the reference (None above)."""

    granularity: str
    aspect: str
    word: int | None = None
    phone: int | None = None

    def read(self, utt: Utterance) -> float | None:
        """This slot's score in ``utt`` (None where it has none)."""
        if self.granularity == "sentence":
            return utt.score(self.aspect)
        word = utt.words[self.word]
        if self.granularity == "word":
            return word.score(self.aspect)
        return word.phones[self.phone].accuracy

    def describe(self, utt: Utterance) -> str:
        if self.granularity == "sentence":
            return f"sentence {self.aspect}"
        word = utt.words[self.word]
        if self.granularity == "word":
            return f"word {self.word} {word.text.lower()!r} {self.aspect}"
        return f"phone {word.phones[self.phone].symbol} of word {self.word} {word.text.lower()!r}"


Piece = str | Slot


def word_label(text: str) -> str:
    return text.lower()


def skeleton(utt: Utterance, task: str) -> list[Piece]:
    """The answer as fixed text pieces and slots, in order; joining them with values gives the answer."""
    levels = TASK_LEVELS[check_task(task)]
    pieces: list[Piece] = []

    def slash_list(slots: Sequence[Slot]) -> None:
        for i, slot in enumerate(slots):
            if i:
                pieces.append("/")
            pieces.append(slot)

    if "sentence" in levels:
        pieces.append(f"{SENTENCE_LABEL}:")
        slash_list([Slot("sentence", a) for a in ASPECTS["sentence"]])
    if "word" in levels or "phone" in levels:
        for wi, word in enumerate(utt.words):
            pieces.append(("\n" if pieces else "") + f"{word_label(word.text)}:")
            if "word" in levels:
                slash_list([Slot("word", a, wi) for a in ASPECTS["word"]])
            if "phone" in levels:
                for pi, phone in enumerate(word.phones):
                    pieces.append(f" {phone.symbol}=")
                    pieces.append(Slot("phone", "accuracy", wi, pi))
    return _merge_text(pieces)


def _merge_text(pieces: list[Piece]) -> list[Piece]:
    """Adjacent text pieces joined, so text and slots alternate."""
    out: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return out


def slots(utt: Utterance, task: str) -> list[Slot]:
    """The task's slots in answer order."""
    return [p for p in skeleton(utt, task) if isinstance(p, Slot)]


def render(pieces: Sequence[Piece], units: Mapping[Slot, int]) -> str:
    """Join a skeleton with a slot value (in units) for every slot."""
    return "".join(p if isinstance(p, str) else SLOT_SYMBOLS[units[p]] for p in pieces)


def serialize(utt: Utterance, task: str) -> str:
    """The answer for ``utt``'s scores; every slot of the task must have a score."""
    pieces = skeleton(utt, task)
    units: dict[Slot, int] = {}
    for slot in (p for p in pieces if isinstance(p, Slot)):
        value = slot.read(utt)
        if value is None:
            raise ValueError(f"{utt.utt_id}: no {slot.describe(utt)} score to write")
        units[slot] = units_of(value, slot.granularity)
    return render(pieces, units)


def with_scores(reference: Utterance, scores: Mapping[Slot, float | None]) -> Utterance:
    """A copy of ``reference`` (text, phones, speaker, audio) holding exactly ``scores``."""

    def get(slot: Slot) -> float | None:
        return scores.get(slot)

    words = []
    for wi, word in enumerate(reference.words):
        phones = [
            Phone(symbol=p.symbol, accuracy=get(Slot("phone", "accuracy", wi, pi)))
            for pi, p in enumerate(word.phones)
        ]
        update: dict[str, Any] = {a: get(Slot("word", a, wi)) for a in ASPECTS["word"]}
        words.append(word.model_copy(update={**update, "phones": phones}))
    sentence = {a: get(Slot("sentence", a)) for a in ASPECTS["sentence"]}
    return reference.model_copy(update={**sentence, "words": words})


@dataclass(frozen=True)
class TokenLayout:
    """An answer's token ids with every slot's position (ids hold ``filler`` at the slots)."""

    ids: list[int]
    slot_positions: list[int]
    slots: list[Slot]


def slot_token_ids(tokenizer: Any) -> list[int]:
    """The token id of each symbol of ``SLOT_SYMBOLS``; raises if one is not a single token."""
    ids = []
    for s in SLOT_SYMBOLS:
        enc = tokenizer.encode(s, add_special_tokens=False)
        if len(enc) != 1:
            raise ValueError(f"slot symbol {s!r} is {len(enc)} tokens in this tokenizer")
        ids.append(enc[0])
    return ids


def slot_token_positions(text: str, tokenizer: Any) -> list[int]:
    """Indices of the slot tokens in ``tokenizer(text)``, found from the text alone.

    A slot is a symbol of ``SLOT_SYMBOLS`` right after a mark of ``SLOT_MARKS``; the format keeps
    every slot a token of its own, so each one is the token whose characters are exactly that symbol.
    Needs a fast tokenizer (character offsets). Raises if a slot does not stand as its own token.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    start_of = {start: i for i, (start, end) in enumerate(enc["offset_mapping"]) if end == start + 1}
    positions = []
    for k, ch in enumerate(text):
        if ch in SLOT_SYMBOLS and k > 0 and text[k - 1] in SLOT_MARKS:
            if k not in start_of:
                raise ValueError(
                    f"slot {ch!r} at character {k} of {text[: k + 1]!r}... is not a token of its own"
                )
            positions.append(start_of[k])
    return positions


# Every (granularity, aspect) a slot can score, in a fixed order: a slot's kind as a small integer.
SLOT_KINDS: tuple[tuple[str, str], ...] = tuple((g, a) for g in TASK_LEVELS["multi"] for a in ASPECTS[g])


def slot_kinds(text: str, task: str) -> list[tuple[str, str]]:
    """The (granularity, aspect) of each slot of an answer ``text``, in slot order, from the text alone.

    The slots are found as ``slot_token_positions`` finds them (a symbol right after a mark). The
    first line is the sentence line when the task has one (``skeleton`` puts it first); on a word
    line the slots after ``:`` and ``/`` are the word aspects in order, one after ``=`` a phone.
    Needs no reference, so JSONL examples get their kinds too.
    """
    has_sentence = "sentence" in TASK_LEVELS[check_task(task)]
    kinds: list[tuple[str, str]] = []
    for n, line in enumerate(text.split("\n")):
        in_line = 0
        for k, ch in enumerate(line):
            if ch not in SLOT_SYMBOLS or k == 0 or line[k - 1] not in SLOT_MARKS:
                continue
            if n == 0 and has_sentence:
                kinds.append(("sentence", ASPECTS["sentence"][min(in_line, len(ASPECTS["sentence"]) - 1)]))
            elif line[k - 1] == "=":
                kinds.append(("phone", "accuracy"))
            else:
                kinds.append(("word", ASPECTS["word"][min(in_line, len(ASPECTS["word"]) - 1)]))
            in_line += 1
    return kinds


def token_layout(utt: Utterance, task: str, tokenizer: Any, filler: str = "0") -> TokenLayout:
    """Token ids of the answer skeleton, slot positions computed from the pieces alone.

    Valid because the format keeps token boundaries at every slot (see the module docstring;
    tests check it on every train utterance).
    """
    symbol_ids = dict(zip(SLOT_SYMBOLS, slot_token_ids(tokenizer), strict=True))
    ids: list[int] = []
    positions: list[int] = []
    slot_list: list[Slot] = []
    for piece in skeleton(utt, task):
        if isinstance(piece, Slot):
            positions.append(len(ids))
            slot_list.append(piece)
            ids.append(symbol_ids[filler])
        else:
            ids.extend(tokenizer.encode(piece, add_special_tokens=False))
    return TokenLayout(ids, positions, slot_list)
