import pytest
from hypothesis import given, settings

from lmm_apa.data.records import SCALES
from lmm_apa.tasks.answer import (
    SLOT_SYMBOLS,
    TASKS,
    Slot,
    serialize,
    skeleton,
    slot_token_ids,
    slots,
    token_layout,
    units_of,
    value_of,
    value_of_units,
)
from lmm_apa.tasks.parse import parse_answer
from tests.tasks.task_strategies import utterances

EXAMPLE_ANSWERS = {
    "multi": (
        "sentence:8/X/9/9/8\n"
        "we:X/X/X W=X IY0=X\n"
        "call:X/X/X K=X AO0=9 L=9\n"
        "it:X/X/X IH0=X T=X\n"
        "bear:6/X/6 B=X EH0=5 R=5"
    ),
    "sentence": "sentence:8/X/9/9/8",
    "word": "we:X/X/X\ncall:X/X/X\nit:X/X/X\nbear:6/X/6",
    "phone": "we: W=X IY0=X\ncall: K=X AO0=9 L=9\nit: IH0=X T=X\nbear: B=X EH0=5 R=5",
}


@pytest.mark.parametrize("task", TASKS)
def test_serialize_example(example_utt, task):
    assert serialize(example_utt, task) == EXAMPLE_ANSWERS[task]


def test_unknown_task_is_value_error(example_utt):
    with pytest.raises(ValueError, match="unknown task"):
        serialize(example_utt, "words")


def test_missing_score_cannot_be_serialized(example_utt):
    utt = example_utt.model_copy(update={"fluency": None})
    with pytest.raises(ValueError, match="fluency"):
        serialize(utt, "sentence")
    assert serialize(utt, "word") == EXAMPLE_ANSWERS["word"]  # the word task does not need it


def test_symbol_meanings():
    assert len(SLOT_SYMBOLS) == 11 and SLOT_SYMBOLS[10] == "X"
    assert value_of("X", "sentence", "total") == 10.0
    assert value_of("7", "word", "accuracy") == 7.0
    assert value_of("X", "phone", "accuracy") == 2.0
    assert value_of("9", "phone", "accuracy") == pytest.approx(1.8)
    assert value_of("1", "phone", "accuracy") == pytest.approx(0.2)
    assert units_of(1.8, "phone") == 9 and units_of(8.6, "sentence") == 9


def test_slot_counts_and_order(example_utt):
    n_phones = len(example_utt.phones)
    assert len(slots(example_utt, "sentence")) == 5
    assert len(slots(example_utt, "word")) == 3 * 4
    assert len(slots(example_utt, "phone")) == n_phones
    multi = slots(example_utt, "multi")
    assert len(multi) == 5 + 12 + n_phones
    assert multi[5] == Slot("word", "accuracy", 0)
    assert multi[8:10] == [Slot("phone", "accuracy", 0, 0), Slot("phone", "accuracy", 0, 1)]
    # Text and slots alternate, so each slot sits between two fixed pieces.
    pieces = skeleton(example_utt, "multi")
    assert all(isinstance(a, str) != isinstance(b, str) for a, b in zip(pieces, pieces[1:], strict=False))


@settings(max_examples=150, deadline=None)
@given(utt=utterances())
def test_round_trip_generated(utt):
    for task in TASKS:
        result = parse_answer(serialize(utt, task), utt, task)
        assert result.ok and result.problems == []
        for slot in slots(utt, task):
            assert slot.read(result.utterance) == slot.read(utt), slot


def _quantized(slot, utt):
    return value_of_units(units_of(slot.read(utt), slot.granularity), slot.granularity)


def test_phone_accuracies_are_multiples_of_a_fifth(train_utts):
    accs = [p.accuracy for u in train_utts for p in u.phones]
    assert len(accs) > 40000
    assert all(abs(a * 5 - round(a * 5)) < 1e-9 for a in accs)


def test_round_trip_every_train_utterance(train_utts):
    assert len(train_utts) == 2500
    inexact = set()
    for utt in train_utts:
        for task in TASKS:
            result = parse_answer(serialize(utt, task), utt, task)
            assert result.ok and result.problems == [], (utt.utt_id, task, result.problems)
            for slot in slots(utt, task):
                got = slot.read(result.utterance)
                assert got == _quantized(slot, utt), (utt.utt_id, slot)
                if got != slot.read(utt):
                    inexact.add((utt.utt_id, slot.aspect))
    # Only completeness can be off the alphabet (6.7, 7.5, 8.6, 8.9 in a few utterances).
    assert {aspect for _, aspect in inexact} == {"completeness"}
    assert len(inexact) == 8


def test_slot_symbols_are_single_tokens(smollm2_tokenizer):
    ids = slot_token_ids(smollm2_tokenizer)
    assert len(set(ids)) == 11
    assert smollm2_tokenizer.convert_ids_to_tokens(ids) == list(SLOT_SYMBOLS)
    # "10" is two tokens: why the ten is written X.
    assert len(smollm2_tokenizer.encode("10", add_special_tokens=False)) == 2


def test_answer_tokenizes_as_its_pieces_on_every_train_utterance(train_utts, smollm2_tokenizer):
    """The full answer's tokens are the concatenated tokens of its skeleton pieces and slots."""
    tok = smollm2_tokenizer
    answers, layouts = [], []
    texts: set[str] = set()
    for utt in train_utts:
        for task in TASKS:
            pieces = skeleton(utt, task)
            answers.append(serialize(utt, task))
            layouts.append((utt, task, pieces))
            texts.update(p for p in pieces if isinstance(p, str))
    text_list = sorted(texts)
    piece_ids = dict(zip(text_list, tok(text_list, add_special_tokens=False)["input_ids"], strict=True))
    symbol_ids = dict(zip(SLOT_SYMBOLS, slot_token_ids(tok), strict=True))
    full = tok(answers, add_special_tokens=False)["input_ids"]
    for ids, (utt, task, pieces) in zip(full, layouts, strict=True):
        expected = []
        for p in pieces:
            if isinstance(p, str):
                expected += piece_ids[p]
            else:
                expected.append(symbol_ids[SLOT_SYMBOLS[units_of(p.read(utt), p.granularity)]])
        assert ids == expected, (utt.utt_id, task)


def test_token_layout_places_every_slot(train_utts, smollm2_tokenizer):
    tok = smollm2_tokenizer
    symbol_ids = slot_token_ids(tok)
    for utt in train_utts[:50]:
        for task in TASKS:
            layout = token_layout(utt, task, tok)
            ids = tok.encode(serialize(utt, task), add_special_tokens=False)
            assert len(ids) == len(layout.ids)
            assert layout.slots == slots(utt, task)
            for pos, slot in zip(layout.slot_positions, layout.slots, strict=True):
                assert ids[pos] == symbol_ids[units_of(slot.read(utt), slot.granularity)]
            others = set(range(len(ids))) - set(layout.slot_positions)
            assert all(ids[i] == layout.ids[i] for i in others)


def test_slot_token_positions_match_the_layout_on_every_train_utterance(train_utts, smollm2_tokenizer):
    """Found from the answer text alone (filler training), the slots sit where token_layout puts them."""
    from lmm_apa.tasks.answer import slot_token_positions

    for utt in train_utts:
        for task in TASKS:
            positions = slot_token_positions(serialize(utt, task), smollm2_tokenizer)
            assert positions == token_layout(utt, task, smollm2_tokenizer).slot_positions, (utt.utt_id, task)


def test_slot_token_positions_rejects_a_merged_slot(smollm2_tokenizer):
    from lmm_apa.tasks.answer import slot_token_positions

    assert slot_token_positions("sentence:8/X", smollm2_tokenizer) == [2, 4]
    with pytest.raises(ValueError, match="not a token of its own"):
        # BPE merges "XML" into one token, so the slot X has no token of its own.
        slot_token_positions("sentence:XML", smollm2_tokenizer)


def test_slot_values_cover_every_scale():
    from lmm_apa.tasks.answer import SLOT_VALUES

    assert set(SLOT_VALUES) == set(SCALES)
    for (granularity, aspect), meaning in SLOT_VALUES.items():
        lo, hi = SCALES[(granularity, aspect)]
        assert meaning["0"] == lo and meaning["X"] == hi


def test_slot_kinds_read_from_the_text_match_the_skeleton(train_utts):
    from lmm_apa.tasks.answer import SLOT_KINDS, TASKS, serialize, slot_kinds, slots

    assert len(SLOT_KINDS) == 9
    for utt in train_utts[:200]:
        for task in TASKS:
            expected = [(s.granularity, s.aspect) for s in slots(utt, task)]
            assert slot_kinds(serialize(utt, task), task) == expected
