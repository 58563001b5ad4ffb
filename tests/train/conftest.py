"""Training fixtures: real corpus rows in the answer format, one real recording. The tiny backbone,
its JSONL and `tiny_cfg` are in tests/conftest.py (the CLI tests use them too)."""

import json

import pytest


@pytest.fixture(scope="session")
def slot_jsonl(tmp_path_factory, corpus_dir):
    """Two real corpus utterances as multi-task rows in the answer format, two rejected answers each."""
    from lmm_apa.data.speechocean import load_speechocean762
    from lmm_apa.tasks.build import make_record

    utts = sorted(load_speechocean762(corpus_dir, "train"), key=lambda u: len(u.words))[:2]
    rows = [make_record(u, "multi", n_rejected=2) for u in utts]
    path = tmp_path_factory.mktemp("slotdata") / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="session")
def bear_audio(corpus_dir):
    return corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac"
