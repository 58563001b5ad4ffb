import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from lmm_apa.data.audio import load_audio
from lmm_apa.data.records import SENTENCE_ASPECTS, WORD_ASPECTS
from lmm_apa.data.speechocean import load_speechocean762
from lmm_apa.errors import DataError

SOME = ["000010011", "000010035", "000050003"]


@pytest.fixture(scope="module")
def corpus(corpus_dir):
    start = time.perf_counter()
    utts = load_speechocean762(corpus_dir)
    return utts, time.perf_counter() - start


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMM_APA_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_real_corpus_is_complete(corpus):
    utts, seconds = corpus
    assert seconds < 5.0, f"loading took {seconds:.1f} s"
    assert len(utts) == 2500
    assert len({u.speaker for u in utts}) == 125
    assert [u.utt_id for u in utts] == sorted(u.utt_id for u in utts)
    for u in utts:
        assert all(u.score(a) is not None for a in SENTENCE_ASPECTS), u.utt_id
        assert u.words and all(w.score(a) is not None for w in u.words for a in WORD_ASPECTS), u.utt_id
        assert u.phones and all(p.accuracy is not None for p in u.phones), u.utt_id
        assert u.age is not None and u.gender in {"m", "f"}
        assert os.path.isabs(u.audio_path) and u.audio_path.endswith(".flac")


def test_known_utterance_has_its_real_values(corpus, corpus_dir):
    u = next(u for u in corpus[0] if u.utt_id == "000010011")
    assert u.text == "WE CALL IT BEAR"
    assert (u.accuracy, u.completeness, u.fluency, u.prosodic, u.total) == (8, 10, 9, 9, 8)
    assert (u.speaker, u.age, u.gender) == ("0001", 6, "m")
    assert Path(u.audio_path) == corpus_dir / "WAVE/SPEAKER0001/000010011.flac"
    bear = u.words[3]
    assert (bear.text, bear.accuracy, bear.stress, bear.total) == ("BEAR", 6, 10, 6)
    assert [(p.symbol, p.accuracy) for p in bear.phones] == [("B", 2.0), ("EH0", 1.0), ("R", 1.0)]
    assert [p.symbol for p in u.words[1].phones] == ["K", "AO0", "L"]


def _wav_copy(corpus_dir: Path, dest: Path, ids: list[str]) -> Path:
    """The official download's layout: .WAV audio, scores.json at the root this time."""
    scores = json.loads((corpus_dir / "resource/scores.json").read_text())
    spk = {u: u[1:5] for u in ids}
    (dest / "train").mkdir(parents=True)
    lines = []
    for i, u in enumerate(ids):
        wav = dest / "WAVE" / f"SPEAKER{spk[u]}" / f"{u}.WAV"
        wav.parent.mkdir(parents=True, exist_ok=True)
        data, sr = sf.read(corpus_dir / f"WAVE/SPEAKER{spk[u]}/{u}.flac", dtype="int16")
        sf.write(wav, data, sr, format="WAV", subtype="PCM_16")
        # One absolute path, to show both are accepted.
        lines.append(f"{u}\t{wav if i == 0 else wav.relative_to(dest)}")
    (dest / "train/wav.scp").write_text("\n".join(lines) + "\n")
    (dest / "train/utt2spk").write_text("".join(f"{u} {spk[u]}\n" for u in ids))
    (dest / "train/spk2age").write_text(
        "".join(f"{s}\t{i + 6}\n" for i, s in enumerate(sorted(set(spk.values()))))
    )
    (dest / "train/spk2gender").write_text("".join(f"{s}\tf\n" for s in sorted(set(spk.values()))))
    # scores.json holds both splits in the official download; extra entries must be ignored.
    (dest / "scores.json").write_text(json.dumps({u: scores[u] for u in [*ids, "000010053"]}))
    return dest


def test_official_wav_layout_with_root_scores(corpus, corpus_dir, tmp_path):
    root = _wav_copy(corpus_dir, tmp_path / "so762", SOME)
    utts = load_speechocean762(root)
    assert [u.utt_id for u in utts] == SOME
    real = {u.utt_id: u for u in corpus[0]}
    for u in utts:
        assert u.words == real[u.utt_id].words
        assert u.accuracy == real[u.utt_id].accuracy
        assert u.audio_path.endswith(".WAV") and os.path.isabs(u.audio_path)
        np.testing.assert_array_equal(load_audio(u.audio_path), load_audio(real[u.utt_id].audio_path))
    assert (utts[0].speaker, utts[0].age, utts[0].gender) == ("0001", 6, "f")
    # The folder holding the extracted corpus is accepted too.
    assert [u.utt_id for u in load_speechocean762(tmp_path)] == SOME


def test_missing_pieces_are_named(corpus_dir, tmp_path):
    with pytest.raises(DataError, match="folder not found"):
        load_speechocean762(tmp_path / "absent")
    with pytest.raises(DataError, match="not a Speechocean762 folder"):
        load_speechocean762(tmp_path)
    root = _wav_copy(corpus_dir, tmp_path / "so762", SOME)
    with pytest.raises(DataError, match="split 'test' not found.*found: train"):
        load_speechocean762(root, "test")
    with pytest.raises(DataError, match="unknown split 'dev'"):
        load_speechocean762(root, "dev")

    scores = json.loads((root / "scores.json").read_text())
    del scores["000010035"]
    (root / "scores.json").write_text(json.dumps(scores))
    with pytest.raises(DataError, match="1 utterance.*no scores in scores.json: 000010035"):
        load_speechocean762(root)
    (root / "scores.json").unlink()
    with pytest.raises(DataError, match="scores.json not found"):
        load_speechocean762(root)


def test_missing_audio_and_tables_are_named(corpus_dir, tmp_path):
    root = _wav_copy(corpus_dir, tmp_path / "so762", SOME)
    (root / "WAVE/SPEAKER0005/000050003.WAV").unlink()
    with pytest.raises(DataError, match="audio file.*not found.*000050003.WAV"):
        load_speechocean762(root)
    (root / "train/spk2age").unlink()
    with pytest.raises(DataError, match="lacks spk2age"):
        load_speechocean762(root)


# ---------------------------------------------------------------------------------------------
# The Hugging Face copy, rebuilt from a few real utterances in its published schema.


def _hf_table(corpus, ids: list[str], with_path: bool = True) -> pa.Table:
    real = {u.utt_id: u for u in corpus[0]}
    rows = []
    for u in (real[i] for i in ids):
        data, sr = sf.read(u.audio_path, dtype="int16")
        buf = __import__("io").BytesIO()
        sf.write(buf, data, sr, format="WAV", subtype="PCM_16")  # the HF copy holds WAV bytes
        words = []
        for w in u.to_corpus_dict()["words"]:
            mis = (
                [{"canonical-phone": "EH", "index": 1, "pronounced-phone": "AE"}]
                if w["text"] == "BEAR"
                else []
            )
            words.append({**w, "mispronunciations": mis})
        row = {k: v for k, v in u.to_corpus_dict(with_id=False).items()}
        row.update(words=words, speaker=u.speaker, gender=u.gender, age=u.age)
        row["audio"] = {"bytes": buf.getvalue(), "path": f"{u.utt_id}.wav" if with_path else None}
        rows.append(row)
    return pa.Table.from_pylist(rows)


def _check_hf(utts, corpus, ids):
    real = {u.utt_id: u for u in corpus[0]}
    assert [u.utt_id for u in utts] == ids
    for u in utts:
        r = real[u.utt_id]
        assert (u.text, u.accuracy, u.fluency, u.prosodic, u.total) == (
            r.text,
            r.accuracy,
            r.fluency,
            r.prosodic,
            r.total,
        )
        assert [w.to_corpus_dict()["phones-accuracy"] for w in u.words] == [
            w.to_corpus_dict()["phones-accuracy"] for w in r.words
        ]
        assert (u.speaker, u.age, u.gender) == (r.speaker, r.age, r.gender)
        assert u.audio_path.endswith(".flac")
        np.testing.assert_array_equal(load_audio(u.audio_path), load_audio(r.audio_path))


def test_hf_parquet_copy(corpus, tmp_path, cache):
    root = tmp_path / "hf"
    (root / "data").mkdir(parents=True)
    pq.write_table(_hf_table(corpus, SOME), root / "data/train-00000-of-00001.parquet")
    pq.write_table(_hf_table(corpus, ["000060015"]), root / "data/test-00000-of-00001.parquet")

    utts = load_speechocean762(root)
    _check_hf(utts, corpus, SOME)
    assert utts[0].audio_path.startswith(str(cache / "hf_audio"))
    bear = utts[0].words[3]
    assert bear.mispronunciations == [{"canonical-phone": "EH", "index": 1, "pronounced-phone": "AE"}]
    assert [u.utt_id for u in load_speechocean762(root, "test")] == ["000060015"]

    # Work already done is kept: a second load writes no audio.
    stamps = {u.audio_path: os.stat(u.audio_path).st_mtime_ns for u in utts}
    again = load_speechocean762(root)
    assert {u.audio_path: os.stat(u.audio_path).st_mtime_ns for u in again} == stamps


def _save_to_disk(table: pa.Table, folder: Path) -> None:
    """What `datasets.Dataset.save_to_disk` writes: Arrow stream file(s) + state.json + dataset_info.json."""
    folder.mkdir(parents=True)
    with (
        pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as f,
        pa.ipc.new_stream(f, table.schema) as w,
    ):
        w.write_table(table, max_chunksize=2)
    (folder / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]})
    )
    (folder / "dataset_info.json").write_text(json.dumps({"features": {}}))


def test_hf_save_to_disk_copy(corpus, tmp_path, cache):
    # A DatasetDict: dataset_dict.json and one folder per split.
    root = tmp_path / "dd"
    _save_to_disk(_hf_table(corpus, SOME), root / "train")
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train"]}))
    _check_hf(load_speechocean762(root), corpus, SOME)
    with pytest.raises(DataError, match="split 'test' not found.*found: train"):
        load_speechocean762(root, "test")

    # A single Dataset whose audio has no path: ids come from the row index.
    single = tmp_path / "single"
    _save_to_disk(_hf_table(corpus, SOME[:2], with_path=False), single)
    utts = load_speechocean762(single)
    assert [u.utt_id for u in utts] == ["train-00000", "train-00001"]
    assert [u.text for u in utts] == ["WE CALL IT BEAR", "ZERO THREE FIVE ONE"]


def test_hf_table_without_the_corpus_columns_is_refused(tmp_path, cache):
    (tmp_path / "hf").mkdir()
    pq.write_table(pa.table({"text": ["hi"]}), tmp_path / "hf/train.parquet")
    with pytest.raises(DataError, match="not a Speechocean762 table: no column.*words"):
        load_speechocean762(tmp_path / "hf")


def test_copying_the_corpus_folder_keeps_relative_paths(corpus_dir, tmp_path):
    # wav.scp paths are relative to the corpus root, wherever the root is.
    root = _wav_copy(corpus_dir, tmp_path / "a", SOME)
    moved = shutil.copytree(root, tmp_path / "b")
    paths = [u.audio_path for u in load_speechocean762(moved)]
    assert all(p.startswith(str(moved)) for p in paths[1:])
