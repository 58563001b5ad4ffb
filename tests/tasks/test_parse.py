"""The parser on what models really write: the example answer, bent in the ways models bend it."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lmm_apa.data.records import Utterance
from lmm_apa.tasks.answer import TASKS, serialize, slots
from lmm_apa.tasks.parse import parse_answer
from tests.tasks.task_strategies import utterances


def _values(result, utt, task):
    return {slot: slot.read(result.utterance) for slot in slots(utt, task)}


def _truth(utt, task):
    return {slot: slot.read(utt) for slot in slots(utt, task)}


def test_clean_answer(example_utt):
    result = parse_answer(serialize(example_utt, "multi"), example_utt, "multi")
    assert result.ok and result.problems == []
    assert (result.n_filled, result.n_expected) == (27, 27)
    assert result.utterance.words[3].phones[1].accuracy == 1.0
    assert result.utterance.accuracy == 8.0 and result.utterance.words[3].total == 6.0
    assert result.utterance.utt_id == example_utt.utt_id and result.utterance.text == example_utt.text


def test_single_task_leaves_other_levels_empty(example_utt):
    result = parse_answer(serialize(example_utt, "word"), example_utt, "word")
    assert result.ok
    u = result.utterance
    assert u.accuracy is None and all(p.accuracy is None for p in u.phones)
    assert [w.total for w in u.words] == [10.0, 10.0, 10.0, 6.0]


def test_prose_wrapped(example_utt):
    text = "Sure! Here are the scores:\n```\n" + serialize(example_utt, "multi") + "\n```\nHope this helps."
    result = parse_answer(text, example_utt, "multi")
    assert result.ok
    assert _values(result, example_utt, "multi") == _truth(example_utt, "multi")
    assert any("before the answer" in p for p in result.problems)


def test_one_line_and_spaced_out(example_utt):
    text = serialize(example_utt, "multi").replace("\n", " ").replace("/", " / ").replace("=", " = ")
    result = parse_answer(text, example_utt, "multi")
    assert result.ok and result.problems == []
    assert _values(result, example_utt, "multi") == _truth(example_utt, "multi")


def test_ten_written_as_digits_and_lower_case(example_utt):
    for ten in ("10", "x"):
        text = serialize(example_utt, "multi").replace("X", ten)
        result = parse_answer(text, example_utt, "multi")
        assert result.ok and result.problems == [], ten
        assert _values(result, example_utt, "multi") == _truth(example_utt, "multi")


def test_truncated_answer_keeps_what_came_before(example_utt):
    full = serialize(example_utt, "multi")
    cut = full[: full.index("AO0=") + len("AO0=")]  # "... call:X/X/X K=X AO0=" then nothing
    result = parse_answer(cut, example_utt, "multi")
    assert not result.ok
    # sentence 5 + we 3+2 + call 3 + K 1
    assert result.n_filled == 14 and result.n_expected == 27
    u = result.utterance
    assert u.total == 8.0 and u.words[1].accuracy == 10.0 and u.words[1].phones[0].accuracy == 2.0
    assert u.words[1].phones[1].accuracy is None and u.words[3].accuracy is None
    assert any("13 of 27 scores missing" in p for p in result.problems)


@pytest.mark.parametrize("task", TASKS)
def test_every_prefix_salvages_only_true_scores(example_utt, task):
    full = serialize(example_utt, task)
    filled = []
    for end in range(len(full) + 1):
        result = parse_answer(full[:end], example_utt, task)
        got = _values(result, example_utt, task)
        truth = _truth(example_utt, task)
        assert all(v is None or v == truth[s] for s, v in got.items()), full[:end]
        assert result.ok == (end == len(full))
        filled.append(result.n_filled)
    assert filled == sorted(filled)  # a longer prefix never loses a score


def test_reordered_words_are_matched_by_text(example_utt):
    lines = serialize(example_utt, "multi").split("\n")
    text = "\n".join([lines[0], lines[4], lines[2], lines[1], lines[3]])
    result = parse_answer(text, example_utt, "multi")
    assert result.ok
    assert _values(result, example_utt, "multi") == _truth(example_utt, "multi")
    assert "words out of reference order" in result.problems


def test_repeated_words_in_order():
    utt = Utterance.from_corpus_dict(
        {
            "text": "THE CAT THE DOG",
            "words": [
                {"text": t, "phones": ph}
                for t, ph in [("THE", ["DH", "AH0"]), ("CAT", ["K", "AE1", "T"]), ("THE", ["DH", "AH0"]),
                              ("DOG", ["D", "AO1", "G"])]
            ],
        },
        utt_id="u1",
    )  # fmt: skip
    text = "the:X/X/X\ncat:9/X/9\nthe:4/X/4\ndog:8/X/8"
    result = parse_answer(text, utt, "word")
    assert result.ok and result.problems == []
    assert [w.accuracy for w in result.utterance.words] == [10.0, 9.0, 4.0, 8.0]


def test_missing_and_extra_words(example_utt):
    lines = serialize(example_utt, "multi").split("\n")
    missing = parse_answer("\n".join(lines[:3] + lines[4:]), example_utt, "multi")  # no "it"
    assert not missing.ok and missing.n_filled == 27 - 5
    assert missing.utterance.words[2].accuracy is None and missing.utterance.words[3].accuracy == 6.0

    extra = parse_answer("\n".join(lines + ["hello:X/X/X H=X"]), example_utt, "multi")
    assert extra.ok
    assert "unexpected entry 'hello' ignored" in extra.problems

    twice = parse_answer("\n".join(lines + [lines[1].replace("X/X/X", "1/5/1")]), example_utt, "multi")
    assert twice.ok and twice.utterance.words[0].accuracy == 10.0  # the first one counts
    assert "unexpected entry 'we' ignored" in twice.problems


def test_wrong_counts(example_utt):
    text = "we:X/X/X/X W=X IY0=X Z=5\ncall:X/X K=X AO0=9\nit:X/X/X IH0=X T=X\nbear:6/X/6 B=X EH0=5 R=5"
    result = parse_answer(text, example_utt, "multi")
    assert not result.ok
    assert "word 0 'we': 4 values where 3 expected" in result.problems
    assert "word 0 'we': unexpected phone Z" in result.problems
    assert result.utterance.words[1].total is None and result.utterance.words[1].phones[2].accuracy is None
    assert result.n_expected - result.n_filled == 5 + 2  # no sentence line; call total and L


def test_phones_out_of_order_or_without_stress(example_utt):
    text = "we: IY0=9 W=8\ncall: K=X AO=9 L=9\nit: IH0=X T=X\nbear: B=X EH0=5 R=5"
    result = parse_answer(text, example_utt, "phone")
    assert result.ok
    assert [p.accuracy for p in result.utterance.words[0].phones] == [1.6, 1.8]
    assert result.utterance.words[1].phones[1].accuracy == 1.8


def test_out_of_range_is_clipped_and_non_symbols_rejected(example_utt):
    result = parse_answer("sentence:12/X/-1/8.5/?", example_utt, "sentence")
    assert not result.ok
    u = result.utterance
    assert u.accuracy == 10.0 and u.fluency == 0.0
    assert u.prosodic is None and u.total is None
    assert result.n_filled == 3 and result.n_invalid == 4
    text = " ".join(result.problems)
    assert "'12' out of range, clipped to 10" in text and "'-1' out of range, clipped to 0" in text
    assert "'8.5' is not a score symbol" in text and "'?' is not a score symbol" in text

    phone = parse_answer("bear: B=11 EH0=5 R=5", example_utt, "phone")
    assert phone.utterance.words[3].phones[0].accuracy == 2.0  # 11 clipped to X, i.e. 2.0


@pytest.mark.parametrize("task", TASKS)
def test_end_of_turn_token_glued_to_the_last_value(example_utt, task):
    result = parse_answer(serialize(example_utt, task) + "<|im_end|>", example_utt, task)
    assert result.ok and result.problems == []
    assert _values(result, example_utt, task) == _truth(example_utt, task)


def test_bare_sentence_values(example_utt):
    result = parse_answer("8/X/9/9/8", example_utt, "sentence")
    assert result.ok and result.utterance.fluency == 9.0
    assert result.problems == ["sentence line has no label"]


def test_punctuation_after_values(example_utt):
    result = parse_answer("**sentence**: 8/X/9/9/8.", example_utt, "sentence")
    assert result.ok and result.utterance.total == 8.0


def test_garbage_and_empty(example_utt):
    for text in ("", "I cannot assess audio.", "sentence:", "we call it bear"):
        result = parse_answer(text, example_utt, "multi")
        assert not result.ok and result.n_filled == 0, text
        assert any("27 of 27 scores missing" in p for p in result.problems)


def test_word_called_sentence():
    utt = Utterance.from_corpus_dict(
        {
            "text": "SENTENCE ONE",
            "words": [{"text": "SENTENCE", "phones": ["S"]}, {"text": "ONE", "phones": ["W"]}],
        },
        utt_id="u2",
    )
    text = "sentence:8/X/9/9/8\nsentence:7/X/7 S=9\none:X/X/X W=X"
    result = parse_answer(text, utt, "multi")
    assert result.ok and result.problems == []
    assert result.utterance.total == 8.0 and result.utterance.words[0].accuracy == 7.0
    assert parse_answer("sentence:7/X/7\none:X/X/X", utt, "word").utterance.words[0].total == 7.0


@settings(max_examples=60, deadline=None)
@given(utt=utterances(), task=st.sampled_from(TASKS), data=st.data())
def test_dropping_a_line_loses_only_that_line(utt, task, data):
    # Distinct words: with a repeated word, which one is missing is ambiguous.
    assume(len({w.text for w in utt.words}) == len(utt.words))
    lines = serialize(utt, task).split("\n")
    drop = data.draw(st.integers(0, len(lines) - 1))
    result = parse_answer("\n".join(lines[:drop] + lines[drop + 1 :]), utt, task)
    truth = _truth(utt, task)
    got = _values(result, utt, task)
    has_sentence_line = task in ("multi", "sentence")
    dropped_word = drop - 1 if has_sentence_line else drop  # -1: the sentence line
    lost = {s for s in truth if s.word == (None if dropped_word < 0 else dropped_word)}
    assert {s for s, v in got.items() if v is None} == lost
    assert all(got[s] == truth[s] for s in truth if s not in lost)
