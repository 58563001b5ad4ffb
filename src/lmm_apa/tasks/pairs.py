"""Simulated SimPO pairs: the chosen answer holds the human scores, a rejected one moved scores.

Everything works in slot units (``lmm_apa.tasks.answer``): the score on the 0-10 scales, five
times the score for phone accuracy (so one unit is 0.2 there). Rules for one rejected answer:

1. **Start level.** The task's own level (``sentence``, ``word``, ``phone``); for ``multi`` drawn
   per answer: phone 1/2, word 1/4, sentence 1/4, so every kind of slot gets rejected variants.
2. **Direction.** One direction for the whole answer, up or down at random (a coherent "too
   lenient" or "too harsh" answer, and cascades that never cancel). Where no slot can move that
   way, the other direction.
3. **Picked slots.** 1-3 slots at the start level (as many as there are, if fewer), each moved by
   2, 3 or 4 units (0.4-0.8 on the phone scale), always inside its scale. Candidates: phone
   accuracy; word accuracy and word stress; sentence accuracy, completeness, fluency and prosodic
   (sentence total follows them, rule 7). A stress slot flips between 10 and 5 instead (10 -> 5
   when moving down, 5 -> 10 when moving up). A slot is a candidate only if it has room for 2
   units in the direction and every score its change cascades to (below) has room for one point;
   if no slot qualifies in either direction, the cascade room is not required and cascaded
   scores are clipped to their scale (they may then stay put).
4. **Word accuracy -> word total.** A picked word accuracy takes its word total along by the
   same amount (in the corpus the two are equal within one point for 99% of words).
5. **Phone -> word.** A word whose phones moved gets its accuracy and total moved in the same
   direction by max(1, round(|sum of its phone moves in units| / its number of phones)): word
   accuracy tracks 5 x mean phone accuracy, which is that many units.
6. **Word -> sentence.** If word accuracies moved, sentence accuracy and total move in the same
   direction by max(1, round(|sum of word accuracy moves| / number of words)). Fluency and
   prosodic stay: simulated errors are segmental (what accuracy measures); fluency (pauses,
   repetitions) and prosody (rhythm, intonation) are suprasegmental and no phone error implies
   them. Completeness stays: every word is still read. A stress flip moves nothing else (in the
   corpus, word total equals word accuracy within one point whatever the stress).
7. **Sentence total.** When sentence aspects are picked (sentence start), total moves in the same
   direction by max(1, round(|sum of their moves| / 4)), 4 being the aspects it sums up.
8. **Cascades stop at the task's answer.** The phone task changes only phones, the word task only
   words; ``multi`` runs rules 4-7 in full.

``round`` is half-up. Seeded per (seed, utterance, task), so a build is reproducible and
``rejected_answers(..., n)`` gives up to n distinct answers, all different from the chosen one.

**Swapped answers** (``kind="swap"``, ``data.rejected_kind``): a rejected answer that keeps every
score value but puts two in the wrong order: two words of different accuracy trade their
accuracy, stress and total, or two phones of different accuracy trade theirs (word or phone level
drawn half and half where both can). Nothing else moves. Such a pair teaches order, what SCC
measures, and not level; an utterance with no two different scores of one kind gets a perturbed
answer instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from lmm_apa.data.records import Utterance
from lmm_apa.tasks.answer import (
    MAX_UNITS,
    TASK_LEVELS,
    Slot,
    check_task,
    render,
    serialize,
    skeleton,
    slots,
    units_of,
    value_of_units,
    with_scores,
)

STEPS: tuple[int, ...] = (2, 3, 4)
MAX_PICKED = 3
MULTI_START_WEIGHTS: dict[str, float] = {"phone": 0.5, "word": 0.25, "sentence": 0.25}
STRESS_LOW, STRESS_HIGH = 5, 10
SENTENCE_PARTS: tuple[str, ...] = ("accuracy", "completeness", "fluency", "prosodic")
TOTAL = Slot("sentence", "total")
SENT_ACC = Slot("sentence", "accuracy")


@dataclass(frozen=True)
class Change:
    slot: Slot
    before: int  # slot units
    after: int
    cause: str  # "picked" or "cascade"


@dataclass
class Perturbation:
    start: str
    direction: int  # +1 up, -1 down
    units: dict[Slot, int]  # every slot of the task's answer, after the change
    changes: list[Change] = field(default_factory=list)

    def utterance(self, reference: Utterance) -> Utterance:
        """The perturbed scores as an Utterance (the task's levels; others None)."""
        return with_scores(reference, {s: value_of_units(u, s.granularity) for s, u in self.units.items()})


def _half_up(x: float) -> int:
    return int(x + 0.5)


def _room(units: int, direction: int) -> int:
    return MAX_UNITS - units if direction > 0 else units


def _cascade_targets(slot: Slot, levels: tuple[str, ...]) -> list[Slot]:
    """The scores a change of ``slot`` moves (rules 4-8)."""
    if slot.aspect == "stress":
        return []
    if slot.granularity == "sentence":
        return [TOTAL]
    if slot.granularity == "phone" and "word" not in levels:
        return []
    word = [Slot("word", "total", slot.word)]
    if slot.granularity == "phone":
        word.insert(0, Slot("word", "accuracy", slot.word))
    return word + ([SENT_ACC, TOTAL] if "sentence" in levels else [])


def _movable(slot: Slot, units: dict[Slot, int], direction: int) -> bool:
    if slot.aspect == "stress":
        return units[slot] > STRESS_LOW if direction < 0 else units[slot] < STRESS_HIGH
    return _room(units[slot], direction) >= STEPS[0]


def _candidates(utt: Utterance, start: str) -> list[Slot]:
    if start == "sentence":
        return [Slot("sentence", a) for a in SENTENCE_PARTS]
    if start == "word":
        return [Slot("word", a, wi) for wi in range(len(utt.words)) for a in ("accuracy", "stress")]
    phones = [(wi, pi) for wi, word in enumerate(utt.words) for pi in range(len(word.phones))]
    return [Slot("phone", "accuracy", wi, pi) for wi, pi in phones]


def _move(units: dict[Slot, int], changes: list[Change], slot: Slot, delta: int, cause: str) -> None:
    before = units[slot]
    after = min(MAX_UNITS, max(0, before + delta))
    if after != before:
        units[slot] = after
        changes.append(Change(slot, before, after, cause))


def all_units(utt: Utterance, task: str = "multi") -> dict[Slot, int]:
    """Every score of ``task``'s answer in slot units (all must be present)."""
    out = {}
    for slot in slots(utt, task):
        value = slot.read(utt)
        if value is None:
            raise ValueError(f"{utt.utt_id}: no {slot.describe(utt)} score to perturb")
        out[slot] = units_of(value, slot.granularity)
    return out


def perturb(utt: Utterance, task: str, rng: random.Random) -> Perturbation:
    """One rejected variant of ``utt``'s scores for ``task`` (rules in the module docstring)."""
    levels = TASK_LEVELS[check_task(task)]
    if task == "multi":
        start = rng.choices(list(MULTI_START_WEIGHTS), weights=list(MULTI_START_WEIGHTS.values()))[0]
    else:
        start = levels[0]
    if start != "sentence" and not _candidates(utt, start):
        start = "sentence" if "sentence" in levels else start
    units = all_units(utt, task)  # cascades never leave the task's answer (rule 8)
    first = rng.choice((-1, 1))

    def pick(direction: int, strict: bool) -> list[Slot]:
        return [
            s
            for s in _candidates(utt, start)
            if _movable(s, units, direction)
            and (not strict or all(_room(units[t], direction) >= 1 for t in _cascade_targets(s, levels)))
        ]

    options = [(d, strict) for strict in (True, False) for d in (first, -first)]
    direction, candidates = next(((d, c) for d, st in options if (c := pick(d, st))), (first, []))
    if not candidates:
        raise ValueError(f"{utt.utt_id}: nothing to perturb for task {task!r}")
    picked = rng.sample(candidates, rng.randint(1, min(MAX_PICKED, len(candidates))))

    result = Perturbation(start, direction, units)
    moved: dict[Slot, int] = {}
    for slot in picked:
        if slot.aspect == "stress":
            target = STRESS_LOW if direction < 0 else STRESS_HIGH
            _move(units, result.changes, slot, target - units[slot], "picked")
            continue
        step = rng.choice([k for k in STEPS if _room(units[slot], direction) >= k])
        _move(units, result.changes, slot, direction * step, "picked")
        moved[slot] = direction * step
    _cascade(utt, levels, start, moved, units, result.changes, direction)
    return result


def _cascade(
    utt: Utterance,
    levels: tuple[str, ...],
    start: str,
    moved: dict[Slot, int],
    units: dict[Slot, int],
    changes: list[Change],
    direction: int,
) -> None:
    word_moves = {s.word: d for s, d in moved.items() if s.granularity == "word"}
    if start == "phone" and "word" in levels:
        per_word: dict[int, int] = {}
        for s, d in moved.items():
            per_word[s.word] = per_word.get(s.word, 0) + d
        for wi, total in per_word.items():
            step = max(1, _half_up(abs(total) / len(utt.words[wi].phones)))
            before = units[Slot("word", "accuracy", wi)]
            for aspect in ("accuracy", "total"):
                _move(units, changes, Slot("word", aspect, wi), direction * step, "cascade")
            word_moves[wi] = units[Slot("word", "accuracy", wi)] - before
    elif start == "word":
        for wi, d in word_moves.items():
            _move(units, changes, Slot("word", "total", wi), d, "cascade")
    if start != "sentence" and "sentence" in levels and any(word_moves.values()):
        step = max(1, _half_up(abs(sum(word_moves.values())) / len(utt.words)))
        for slot in (SENT_ACC, TOTAL):
            _move(units, changes, slot, direction * step, "cascade")
    if start == "sentence":
        step = max(1, _half_up(abs(sum(moved.values())) / len(SENTENCE_PARTS)))
        _move(units, changes, TOTAL, direction * step, "cascade")


REJECTED_KINDS: tuple[str, ...] = ("perturb", "swap")


def swap(utt: Utterance, task: str, rng: random.Random) -> dict[Slot, int] | None:
    """Every slot's units with two words' (or two phones') scores traded; None if no two differ."""
    levels = TASK_LEVELS[check_task(task)]
    units = all_units(utt, task)
    groups: dict[str, list[list[Slot]]] = {}
    if "word" in levels:
        groups["word"] = [
            [Slot("word", a, wi) for a in ("accuracy", "stress", "total")] for wi in range(len(utt.words))
        ]
    if "phone" in levels:
        phones = [(wi, pi) for wi, word in enumerate(utt.words) for pi in range(len(word.phones))]
        groups["phone"] = [[Slot("phone", "accuracy", wi, pi)] for wi, pi in phones]
    usable = [g for g, items in groups.items() if len({units[i[0]] for i in items}) > 1]
    if not usable:
        return None
    items = groups[rng.choice(usable)]
    first = rng.choice(items)
    second = rng.choice([i for i in items if units[i[0]] != units[first[0]]])
    for a, b in zip(first, second, strict=True):
        units[a], units[b] = units[b], units[a]
    return units


def rejected_answers(
    utt: Utterance, task: str, n: int = 1, seed: int = 0, kind: str = "perturb"
) -> list[str]:
    """``n`` rejected answers for ``utt``: distinct from the chosen one and, where the utterance
    allows that many, from each other (else the last is repeated). ``kind``: ``perturb`` (the rules
    above) or ``swap`` (two scores in the wrong order; perturbed where nothing can be swapped)."""
    check_task(task)
    if kind not in REJECTED_KINDS:
        raise ValueError(f"unknown rejected answer kind {kind!r}: expected one of {REJECTED_KINDS}")
    # perturb keeps its old seed string, so the answers it gave before are the answers it gives now
    rng = random.Random(f"{seed}:{utt.utt_id}:{task}" + ("" if kind == "perturb" else f":{kind}"))
    pieces = skeleton(utt, task)
    seen = {serialize(utt, task)}
    out: list[str] = []
    for _ in range(20 * n + 20):
        if len(out) == n:
            break
        swapped = swap(utt, task, rng) if kind == "swap" else None
        answer = render(pieces, swapped if swapped is not None else perturb(utt, task, rng).units)
        if answer not in seen:
            seen.add(answer)
            out.append(answer)
    if not out:
        raise ValueError(f"{utt.utt_id}: no rejected answer differs from the chosen one")
    return out + [out[-1]] * (n - len(out))
