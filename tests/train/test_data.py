import json

import pytest

from lmm_apa.errors import DataError
from lmm_apa.train.data import jsonl_sources


def test_jsonl_rows_filtered_by_task_and_rejected_normalised(tmp_path):
    rows = [
        {"utt_id": u, "audio": f"{u}.wav", "task": task, "prompt": "p", "chosen": "c", "rejected": rejected}
        for u, task, rejected in [("a", "word", "r"), ("b", "multi", ["r1", "r2"]), ("c", "word", ["x", "y"])]
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    word = jsonl_sources(path, "word", n_rejected=1)
    assert [(s.utt_id, s.rejected) for s in word] == [("a", ["r"]), ("c", ["x"])]
    assert [s.utt_id for s in jsonl_sources(path, "word", 2, limit=1)] == ["a"]
    assert jsonl_sources(path, "multi", 2)[0].rejected == ["r1", "r2"]


def test_bad_jsonl_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"utt_id": "a", "audio": "a.wav", "prompt": "p", "chosen": "c"}\n{"utt_id": "b"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2"):
        jsonl_sources(path, "multi", 1)
    with pytest.raises(DataError, match="not found"):
        jsonl_sources(tmp_path / "missing.jsonl", "multi", 1)
