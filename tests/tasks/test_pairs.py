import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmm_apa.tasks.answer import MAX_UNITS, TASK_LEVELS, TASKS, Slot, serialize, slots, units_of
from lmm_apa.tasks.pairs import STEPS, all_units, perturb, rejected_answers
from lmm_apa.tasks.parse import parse_answer
from tests.tasks.task_strategies import utterances


def _answer_units(text, utt, task):
    result = parse_answer(text, utt, task)
    assert result.ok, result.problems
    return {s: units_of(s.read(result.utterance), s.granularity) for s in slots(utt, task)}


def _diff(utt, task, rejected):
    chosen = _answer_units(serialize(utt, task), utt, task)
    other = _answer_units(rejected, utt, task)
    return {s: other[s] - chosen[s] for s in chosen if other[s] != chosen[s]}


def _check_perturbation(utt, task, p):
    """Every documented rule of lmm_apa.tasks.pairs, checked on one perturbation."""
    before = all_units(utt, task)
    levels = TASK_LEVELS[task]
    assert all(0 <= u <= MAX_UNITS for u in p.units.values())
    picked = [c for c in p.changes if c.cause == "picked"]
    assert 1 <= len(picked) <= 3
    assert all(c.slot.granularity == p.start for c in picked)
    for c in p.changes:  # one direction for the whole answer
        assert (c.after - c.before) * p.direction > 0, c
        assert c.slot.granularity in levels, c
    for c in picked:
        if c.slot.aspect == "stress":
            assert {c.before, c.after} == {5, 10}
        else:
            assert abs(c.after - c.before) in STEPS and c.slot.aspect != "total"
    changed = {c.slot for c in p.changes}
    assert set(p.units) == set(before)
    assert {s for s in before if p.units[s] != before[s]} == changed

    def moved_or_at_bound(slot):
        at_bound = before[slot] == (MAX_UNITS if p.direction > 0 else 0)
        return slot in changed or at_bound

    moved_words = set()
    for c in picked:
        if c.slot.granularity == "phone" and "word" in levels:
            for aspect in ("accuracy", "total"):
                assert moved_or_at_bound(Slot("word", aspect, c.slot.word))
        if c.slot.granularity == "word" and c.slot.aspect == "accuracy":
            assert moved_or_at_bound(Slot("word", "total", c.slot.word))
        if c.slot.granularity == "sentence":
            assert moved_or_at_bound(Slot("sentence", "total"))
    moved_words = {s.word for s in changed if s.granularity == "word" and s.aspect == "accuracy"}
    if moved_words and "sentence" in levels:
        for aspect in ("accuracy", "total"):
            assert moved_or_at_bound(Slot("sentence", aspect))
    if p.start != "sentence":  # suprasegmental and completeness scores never follow phone/word errors
        assert not changed & {Slot("sentence", a) for a in ("completeness", "fluency", "prosodic")}
    if p.start == "sentence":
        assert not any(s.granularity != "sentence" for s in changed)
    if task == "phone":
        assert all(s.granularity == "phone" for s in changed)


@settings(max_examples=200, deadline=None)
@given(utt=utterances(), task=st.sampled_from(TASKS), seed=st.integers(0, 10**6))
def test_perturbation_follows_the_rules(utt, task, seed):
    _check_perturbation(utt, task, perturb(utt, task, random.Random(seed)))


def test_perturbation_rules_on_real_utterances(train_utts):
    rng = random.Random(0)
    starts = set()
    for utt in train_utts[::5]:
        for task in TASKS:
            p = perturb(utt, task, rng)
            _check_perturbation(utt, task, p)
            starts.add((task, p.start))
    assert ("multi", "phone") in starts and ("multi", "word") in starts and ("multi", "sentence") in starts


def test_cascade_on_the_example(example_utt):
    """Example: 'bear' (B=X EH0=5 R=5, word 6/X/6, sentence 8/X/9/9/8), down in multi.

    Whatever phones move by k units each, bear's accuracy and total fall by
    max(1, round(sum k / 3)), the sentence's accuracy and total by max(1, round(word drop / 4)).
    """
    for seed in range(200):
        p = perturb(example_utt, "multi", random.Random(seed))
        if p.start != "phone" or p.direction > 0:
            continue
        moved = [c for c in p.changes if c.cause == "picked"]
        per_word = {}
        for c in moved:
            per_word[c.slot.word] = per_word.get(c.slot.word, 0) + c.before - c.after
        drop_sum = 0
        for wi, units in per_word.items():
            n = len(example_utt.words[wi].phones)
            expected = max(1, int(units / n + 0.5))
            before = units_of(example_utt.words[wi].accuracy, "word")
            after = p.units[Slot("word", "accuracy", wi)]
            assert after == max(0, before - expected)
            assert p.units[Slot("word", "total", wi)] == after  # total equals accuracy in every word here
            drop_sum += before - after
        assert p.units[Slot("sentence", "accuracy")] == 8 - max(1, int(drop_sum / 4 + 0.5))
        assert p.units[Slot("sentence", "fluency")] == 9


@settings(max_examples=100, deadline=None)
@given(utt=utterances(), seed=st.integers(0, 1000))
def test_rejected_answer_differs_by_the_documented_step(utt, seed):
    # Single-granularity tasks: the text shows exactly the picked slots and their followers.
    (phone,) = rejected_answers(utt, "phone", n=1, seed=seed)
    d = _diff(utt, "phone", phone)
    assert 1 <= len(d) <= 3 and all(abs(v) in STEPS for v in d.values())
    assert len({v > 0 for v in d.values()}) == 1

    (sentence,) = rejected_answers(utt, "sentence", n=1, seed=seed)
    d = _diff(utt, "sentence", sentence)
    parts = {s: v for s, v in d.items() if s.aspect != "total"}
    assert 1 <= len(parts) <= 3 and all(abs(v) in STEPS for v in parts.values())
    assert len({v > 0 for v in d.values()}) == 1

    (word,) = rejected_answers(utt, "word", n=1, seed=seed)
    d = _diff(utt, "word", word)
    assert d and len({v > 0 for v in d.values()}) == 1
    for s, v in d.items():
        if s.aspect == "stress":
            assert abs(v) == 5
        elif s.aspect == "accuracy":
            assert abs(v) in STEPS
        else:  # total follows its accuracy, clipped to the scale
            assert abs(v) <= abs(d[Slot("word", "accuracy", s.word)])


@pytest.mark.parametrize("task", TASKS)
def test_several_distinct_rejected_answers(example_utt, task):
    chosen = serialize(example_utt, task)
    answers = rejected_answers(example_utt, task, n=4, seed=3)
    assert len(answers) == 4 and len(set(answers)) == 4 and chosen not in answers
    for text in answers:
        assert parse_answer(text, example_utt, task).ok


def test_seeded_and_reproducible(example_utt):
    a = rejected_answers(example_utt, "multi", n=3, seed=0)
    assert a == rejected_answers(example_utt, "multi", n=3, seed=0)
    others = [rejected_answers(example_utt, "multi", n=3, seed=s) for s in range(1, 6)]
    assert any(o != a for o in others)
    # The seed mixes in the utterance: another utterance id gets other choices.
    renamed = example_utt.model_copy(update={"utt_id": "x"})
    assert any(
        rejected_answers(renamed, "multi", n=3, seed=s) != rejected_answers(example_utt, "multi", n=3, seed=s)
        for s in range(5)
    )


def test_tiny_utterance_repeats_when_distinct_answers_run_out():
    from lmm_apa.data.records import Utterance

    utt = Utterance.from_corpus_dict(
        {"text": "A", "words": [{"text": "A", "phones": ["AH0"], "phones-accuracy": [2.0]}]}, utt_id="t"
    )
    answers = rejected_answers(utt, "phone", n=5, seed=0)
    # 2.0 (X) can only go down by 2, 3 or 4 units: three distinct answers, then the last repeated.
    assert sorted(set(answers)) == ["a: AH0=6", "a: AH0=7", "a: AH0=8"]
    assert len(answers) == 5


def test_rejected_for_every_train_utterance(train_utts):
    for utt in train_utts:
        for task in ("multi",):
            (rejected,) = rejected_answers(utt, task, n=1, seed=0)
            assert rejected != serialize(utt, task)


def test_swapped_rejected_answers_keep_the_values_and_break_the_order(train_utts):
    from collections import Counter

    from lmm_apa.tasks.answer import serialize, slot_kinds
    from lmm_apa.tasks.pairs import rejected_answers

    def values(text, task):
        kinds = slot_kinds(text, task)
        slots = [ch for k, ch in enumerate(text) if k and text[k - 1] in ":/=" and ch in "0123456789X"]
        return kinds, slots

    swapped = 0
    for utt in train_utts[:40]:
        for task in ("multi", "word", "phone"):
            chosen = serialize(utt, task)
            kinds, gold = values(chosen, task)
            for r in rejected_answers(utt, task, n=3, seed=0, kind="swap"):
                _, got = values(r, task)
                changed = [i for i, (a, b) in enumerate(zip(gold, got, strict=True)) if a != b]
                if Counter(got) != Counter(gold):  # no two scores differed: a perturbed answer
                    continue
                assert changed and {kinds[i][0] for i in changed} <= {"word", "phone"}
                assert all(got[i] != gold[i] for i in changed) and r != chosen
                swapped += 1
    assert swapped > 200  # nearly every answer of 40 utterances x 3 tasks x 3 is a swap
    with pytest.raises(ValueError, match="unknown rejected answer kind"):
        rejected_answers(train_utts[0], "multi", kind="nope")


def test_rejected_kind_is_checked_in_the_config():
    from lmm_apa.train.config import ConfigError, load_config

    assert load_config(None).data.rejected_kind == "perturb"
    assert load_config(None, ["data.rejected_kind=swap"]).data.rejected_kind == "swap"
    with pytest.raises(ConfigError, match="rejected_kind"):
        load_config(None, ["data.rejected_kind=shuffle"])
