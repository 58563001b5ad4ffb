"""Read scores back from what a model wrote, salvaging what it can and saying what went wrong.

Tolerates what models really emit: prose around the answer, entries on one line or many, spaces
around separators, missing, extra or reordered words (matched by their text), missing or extra
phones (matched by position, then by symbol), truncation (what came before the cut is kept) and
"10" for ``X``. Rules for a slot's value:

- a symbol of the alphabet (``x`` too) or a plain integer 0-10: taken;
- an integer outside 0-10: clipped into range, and reported;
- anything else (decimals, words, an empty slot): rejected, the slot stays empty, and reported.

``ParseResult.ok`` says every slot of the task was read from a well-formed value: the parse-failure
count of an evaluation is the number of results that are not ok. ``problems`` also lists harmless
deviations (prose, extra entries, reordering) that leave ``ok`` untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lmm_apa.data.records import ASPECTS, Utterance
from lmm_apa.tasks.answer import (
    MAX_UNITS,
    SENTENCE_LABEL,
    SLOT_SYMBOLS,
    TASK_LEVELS,
    Slot,
    check_task,
    slots,
    value_of_units,
    with_scores,
)

# An entry starts at "label:" where the label is one word-like run; the text before the first
# entry, if any, is prose.
_ENTRY = re.compile(r"(?:^|(?<=\s)|(?<=[*\"'`>]))([\w'.\-]+)[*\"'`]*\s*:", re.UNICODE)
# A value runs to the next separator; "<" ends it too, so a special token glued to the last
# value ("5<|im_end|>") does not spoil it.
_VALUE = r"[^\s/=,;<]*"
_PHONE_PAIR = re.compile(rf"([A-Za-z]{{1,3}}[0-9]?)\s*=\s*({_VALUE})")
_VALUES = re.compile(rf"\s*{_VALUE}(?:\s*/\s*{_VALUE})*")
_INT = re.compile(r"[+-]?\d+")
_SYMBOL_UNITS = {s.lower(): i for i, s in enumerate(SLOT_SYMBOLS)}


@dataclass
class ParseResult:
    utterance: Utterance  # the reference holding the salvaged scores, None where missing
    problems: list[str] = field(default_factory=list)
    n_filled: int = 0
    n_expected: int = 0
    n_invalid: int = 0  # values clipped or rejected

    @property
    def ok(self) -> bool:
        """Every slot of the task read from a well-formed, in-range value."""
        return self.n_filled == self.n_expected and self.n_invalid == 0


@dataclass
class _Entry:
    label: str
    values: list[str]
    phones: list[tuple[str, str]]


def _norm(label: str) -> str:
    return label.strip("*\"'`.-").lower()


def _strip_value(token: str) -> str:
    # A sentence-final "." or "," after a value is prose, not part of it ("10." is 10).
    return token.strip().rstrip(".,;)*").lstrip("(*")


def _entries(text: str) -> tuple[list[_Entry], str]:
    """Split the text into ``label: ...`` entries; also return the leading prose."""
    matches = list(_ENTRY.finditer(text))
    entries = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        rest = text[m.end() : end]
        first_pair = _PHONE_PAIR.search(rest)
        head = rest[: first_pair.start()] if first_pair else rest
        values_text = _VALUES.match(head).group(0)
        values = [_strip_value(v) for v in values_text.split("/")] if values_text.strip() else []
        phones = [(s, _strip_value(v)) for s, v in _PHONE_PAIR.findall(rest)]
        entries.append(_Entry(_norm(m.group(1)), values, phones))
    lead = text[: matches[0].start()] if matches else text
    return entries, lead


class _Reader:
    """Collects slot values and problems for one parse."""

    def __init__(self, reference: Utterance, expected: list[Slot]) -> None:
        self.reference = reference
        self.expected = set(expected)
        self.scores: dict[Slot, float] = {}
        self.problems: list[str] = []
        self.n_invalid = 0

    def put(self, slot: Slot, token: str) -> None:
        if slot not in self.expected:
            return
        where = slot.describe(self.reference)
        units = _SYMBOL_UNITS.get(token.lower())
        if units is None and _INT.fullmatch(token):
            n = int(token)
            units = min(MAX_UNITS, max(0, n))
            if units != n:
                self.n_invalid += 1
                self.problems.append(f"{where}: {token!r} out of range, clipped to {units}")
        if units is None:
            if token:
                self.n_invalid += 1
                self.problems.append(f"{where}: {token!r} is not a score symbol, ignored")
            return
        self.scores[slot] = value_of_units(units, slot.granularity)


def _read_list(reader: _Reader, values: list[str], slot_list: list[Slot], what: str) -> None:
    for slot, token in zip(slot_list, values, strict=False):
        reader.put(slot, token)
    if len(values) > len(slot_list):
        reader.problems.append(f"{what}: {len(values)} values where {len(slot_list)} expected")


def _read_phones(reader: _Reader, pairs: list[tuple[str, str]], wi: int) -> None:
    ref = [p.symbol.upper() for p in reader.reference.words[wi].phones]
    word = reader.reference.words[wi].text.lower()
    used: set[int] = set()
    nxt = 0
    for symbol, token in pairs:
        symbol = symbol.upper()
        free = [i for i in range(len(ref)) if i not in used]
        exact = [i for i in free if ref[i] == symbol]
        loose = [i for i in free if ref[i].rstrip("012") == symbol.rstrip("012")]
        if nxt in exact or (not exact and nxt in loose):
            pi = nxt
        elif exact or loose:
            pi = (exact or loose)[0]
        else:
            reader.problems.append(f"word {wi} {word!r}: unexpected phone {symbol}")
            continue
        used.add(pi)
        nxt = pi + 1
        reader.put(Slot("phone", "accuracy", wi, pi), token)


def _is_sentence_line(entry: _Entry, reference: Utterance, levels: tuple[str, ...], seen: bool) -> bool:
    if entry.label != SENTENCE_LABEL or "sentence" not in levels or seen or entry.phones:
        return False
    # A reference word "sentence" reads like the sentence line; its line has at most 3 values.
    has_word = any(_norm(w.text) == SENTENCE_LABEL for w in reference.words)
    return not has_word or len(entry.values) > len(ASPECTS["word"])


def parse_answer(text: str, reference: Utterance, task: str) -> ParseResult:
    """Scores for ``task`` read from ``text``, matched against the reference's words and phones."""
    levels = TASK_LEVELS[check_task(task)]
    expected = slots(reference, task)
    reader = _Reader(reference, expected)
    entries, lead = _entries(text)
    if lead.strip():
        if task == "sentence" and not entries and "/" in lead:
            # A bare "8/X/8/8/8" without its label.
            values = [_strip_value(v) for v in _VALUES.match(lead.strip()).group(0).split("/")]
            entries = [_Entry(SENTENCE_LABEL, values, [])]
            reader.problems.append("sentence line has no label")
        else:
            reader.problems.append("text before the answer ignored")

    sentence_slots = [Slot("sentence", a) for a in ASPECTS["sentence"]]
    seen_sentence = False
    used_words: set[int] = set()
    next_word = 0
    reordered = False
    for entry in entries:
        if _is_sentence_line(entry, reference, levels, seen_sentence):
            seen_sentence = True
            _read_list(reader, entry.values, sentence_slots, "sentence")
            continue
        candidates = [
            i for i, w in enumerate(reference.words) if i not in used_words and _norm(w.text) == entry.label
        ]
        if not candidates:
            reader.problems.append(f"unexpected entry {entry.label!r} ignored")
            continue
        after = [i for i in candidates if i >= next_word]
        wi = after[0] if after else candidates[0]
        reordered |= wi != next_word
        used_words.add(wi)
        next_word = wi + 1
        if "word" in levels:
            word_slots = [Slot("word", a, wi) for a in ASPECTS["word"]]
            _read_list(reader, entry.values, word_slots, f"word {wi} {entry.label!r}")
        elif entry.values:
            reader.problems.append(f"word {wi} {entry.label!r}: word scores where none expected")
        if "phone" in levels:
            _read_phones(reader, entry.phones, wi)
    if reordered:
        reader.problems.append("words out of reference order")

    missing = [s for s in expected if s not in reader.scores]
    if missing:
        shown = ", ".join(s.describe(reference) for s in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        reader.problems.append(f"{len(missing)} of {len(expected)} scores missing: {shown}{more}")
    return ParseResult(
        utterance=with_scores(reference, reader.scores),
        problems=reader.problems,
        n_filled=len(expected) - len(missing),
        n_expected=len(expected),
        n_invalid=reader.n_invalid,
    )
