"""Examples whose text was not (all) spoken: the rater's rules, the pairs, and a real build."""

import json

import pytest

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.tasks.answer import serialize
from lmm_apa.tasks.unsaid import UNSAID_KINDS, choose_unsaid, cut_short, other_text, word_swapped


def _word(text: str, acc: float, phones: tuple[str, ...], phone_acc: float) -> Word:
    return Word(
        text=text,
        accuracy=acc,
        stress=10,
        total=acc,
        phones=[Phone(symbol=s, accuracy=phone_acc) for s in phones],
    )


OTHER = Utterance(
    utt_id="000020022",
    text="GOOD DOG",
    words=[_word("GOOD", 9, ("G", "UH0", "D"), 2.0), _word("DOG", 8, ("D", "AO0", "G"), 1.6)],
    accuracy=9,
    completeness=10,
    fluency=9,
    prosodic=8,
    total=9,
    speaker="0002",
)


def test_another_sentences_text_was_not_said_at_all(example_utt):
    ex = other_text(example_utt, OTHER)
    assert ex.utt.text == "GOOD DOG" and ex.audio_path == example_utt.audio_path
    assert all(w.accuracy == 0 and w.total == 0 and w.stress == 5 for w in ex.utt.words)
    assert all(p.accuracy == 0 for p in ex.utt.phones)
    assert (ex.utt.accuracy, ex.utt.completeness, ex.utt.fluency, ex.utt.total) == (0, 0, 0, 0)
    # the rejected side: that text read well, on the same skeleton
    assert [w.accuracy for w in ex.as_if_read.words] == [9, 8]
    with pytest.raises(ValueError):
        other_text(example_utt, example_utt)


def test_a_swapped_word_scores_zero_and_lowers_the_sentence(example_utt):
    dog = Word(text="DOG", phones=[Phone(symbol=s) for s in ("D", "AO0", "G")])
    ex = word_swapped(example_utt, 1, dog)
    assert ex.utt.text == "WE DOG IT BEAR"
    assert ex.utt.words[1].accuracy == 0 and ex.utt.words[0].accuracy == 10
    assert ex.utt.completeness == pytest.approx(7.5)
    assert ex.utt.accuracy == pytest.approx(8 * 0.75) and ex.utt.fluency == pytest.approx(7.5)
    assert ex.as_if_read.words[1].accuracy == 10  # CALL's scores, as if DOG had been read
    same = Word(text="KALL", phones=[Phone(symbol=s) for s in ("K", "AO0", "L")])
    with pytest.raises(ValueError):
        word_swapped(example_utt, 1, same)


def test_a_cut_recording_loses_its_last_words(example_utt):
    ex = cut_short(example_utt, 2, cut_at=0.9)
    assert ex.audio_end == 0.9 and ex.utt.text == example_utt.text
    assert [w.accuracy for w in ex.utt.words] == [10, 10, 0, 0]
    assert ex.utt.completeness == 5.0 and ex.utt.total == pytest.approx(4.0)
    assert serialize(ex.utt, "multi") != serialize(ex.as_if_read, "multi")
    with pytest.raises(ValueError):
        cut_short(example_utt, 4, cut_at=1.0)


def test_choice_is_seeded_at_the_rate_and_uses_every_kind(example_utt):
    utts = [example_utt.model_copy(update={"utt_id": f"u{i}"}) for i in range(60)] + [OTHER]
    ends = lambda u: [0.3 * (i + 1) for i in range(len(u.words))]  # noqa: E731
    a = choose_unsaid(utts, 0.5, seed=1, word_ends=ends)
    b = choose_unsaid(utts, 0.5, seed=1, word_ends=ends)
    assert [e.utt.utt_id for e in a] == [e.utt.utt_id for e in b]
    assert 15 <= len(a) <= 45
    assert {e.kind for e in a} == set(UNSAID_KINDS)
    # without word times no recording is cut
    assert "cut_short" not in {e.kind for e in choose_unsaid(utts, 0.5, seed=1)}


def test_build_writes_unsaid_rows_with_their_pairs(corpus_dir, tmp_path):
    from lmm_apa.tasks.build import build_dataset

    out = tmp_path / "train.jsonl"
    build_dataset(corpus_dir, out, split="train", limit=12, unsaid_rate=1.0, seed=0)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    unsaid = [r for r in rows if "unsaid" in r]
    assert len(rows) == 24 and len(unsaid) == 12
    assert {r["unsaid"] for r in unsaid} == set(UNSAID_KINDS)
    for r in unsaid:
        assert r["chosen"] != r["rejected"] and r["utt_id"].endswith("~" + r["unsaid"])
    cut = [r for r in unsaid if r["unsaid"] == "cut_short"]
    assert all(0 < r["audio_end"] for r in cut)
