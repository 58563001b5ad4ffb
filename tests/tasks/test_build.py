import json

import pytest

from lmm_apa.errors import DataError
from lmm_apa.tasks.answer import TASKS
from lmm_apa.tasks.build import build_dataset, load_split, make_record, make_records
from lmm_apa.tasks.parse import parse_answer
from lmm_apa.tasks.prompts import AUDIO_PLACEHOLDER


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_make_record(example_utt):
    rec = make_record(example_utt, "word", n_rejected=1, seed=0)
    assert set(rec) == {"utt_id", "audio", "task", "prompt", "chosen", "rejected"}
    assert rec["chosen"] == "we:X/X/X\ncall:X/X/X\nit:X/X/X\nbear:6/X/6"
    assert isinstance(rec["rejected"], str) and rec["rejected"] != rec["chosen"]
    assert isinstance(make_record(example_utt, "word", n_rejected=2)["rejected"], list)


def test_make_record_without_labels_is_a_data_error(example_utt):
    with pytest.raises(DataError, match="no sentence accuracy"):
        make_record(example_utt.model_copy(update={"accuracy": None}), "sentence")


def test_build_all_tasks(corpus_dir, cached_corpus, tmp_path):
    out = tmp_path / "sub" / "train.jsonl"
    summary = build_dataset(corpus_dir, out, split="train", tasks=TASKS, n_rejected=2, seed=1, limit=5)
    records = _read(out)
    assert summary.count == len(records) == 20
    assert summary.tasks == {t: 5 for t in TASKS}
    assert not (tmp_path / "sub" / "train.jsonl.part").exists()
    utts = {u.utt_id: u for u in load_split(corpus_dir, "train")[:5]}
    for rec in records:
        utt = utts[rec["utt_id"]]
        assert rec["audio"] == utt.audio_path and rec["audio"].endswith(".flac")
        assert rec["prompt"].count(AUDIO_PLACEHOLDER) == 1
        assert len(rec["rejected"]) == 2 and rec["chosen"] not in rec["rejected"]
        assert parse_answer(rec["chosen"], utt, rec["task"]).ok
    assert summary.mean_answer_chars == pytest.approx(sum(len(r["chosen"]) for r in records) / 20)
    # Same seed, same records.
    assert list(make_records(utts.values(), TASKS, n_rejected=2, seed=1)) == [
        r for u in utts for r in records if r["utt_id"] == u
    ]


def test_dev_split_is_speaker_disjoint(corpus_dir, cached_corpus):
    dev = load_split(corpus_dir, "dev")
    rest = load_split(corpus_dir, "train-minus-dev")
    assert len(dev) + len(rest) == 2500 and 150 < len(dev) < 400
    assert not {u.speaker for u in dev} & {u.speaker for u in rest}


def test_bad_arguments(corpus_dir, tmp_path):
    with pytest.raises(DataError, match="unknown split"):
        load_split(corpus_dir, "test")
    with pytest.raises(DataError, match="unknown task"):
        build_dataset(corpus_dir, tmp_path / "x.jsonl", tasks=("words",))
