"""Load Speechocean762 as `Utterance`s, from either form a user may have on disk.

1. The official Kaldi-style download (github.com/jimbozhang/speechocean762, OpenSLR 101)::

       root/resource/scores.json        (or root/scores.json)
       root/{train,test}/{wav.scp,utt2spk,spk2age,spk2gender,text}
       root/WAVE/SPEAKERxxxx/UTT.WAV    (wherever wav.scp points: WAV or FLAC, relative to root)

2. The Hugging Face copy (``mispeech/speechocean762``) saved locally: a folder of parquet files
   (``data/train-00000-of-00001.parquet``, ``train.parquet``, ...) or a ``datasets``
   ``save_to_disk`` folder (``state.json`` + Arrow stream files, or ``dataset_dict.json`` with one
   such folder per split). The Arrow and parquet files are read with pyarrow, not ``datasets``.
   Its audio lives inside the table, so it is written once as FLAC to
   ``cache_dir()/hf_audio/<folder>-<hash of its path>/<split>/UTT.flac`` (lhotse-style: files
   already there are kept on re-run). The cache, not the data folder, because a Hugging Face
   snapshot folder is a read-only cache of its own.

Loading reads labels only; audio files are checked to exist but not opened, so the 2500
utterances of a split load in about a second.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmm_apa.data.records import Utterance
from lmm_apa.errors import DataError
from lmm_apa.paths import cache_dir

CORPUS_SPLITS = ("train", "test")  # the corpus's own; `splits.SPLITS` names the ones made from them
_KALDI_FILES = ("wav.scp", "utt2spk", "spk2age", "spk2gender")
_HF_COLUMNS = ("text", "words", "accuracy", "completeness", "fluency", "prosodic", "total", "audio")


def load_speechocean762(root: str | Path, split: str = "train") -> list[Utterance]:
    """Every utterance of `split`, sorted by utt_id, with speaker, age, gender and an audio path."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"Speechocean762 folder not found: {root}")
    if split not in CORPUS_SPLITS:
        raise DataError(f"unknown split {split!r}: Speechocean762 has {', '.join(CORPUS_SPLITS)}")
    # Tolerate the folder that holds the extracted corpus (root/speechocean762/...).
    if not _is_kaldi(root):
        inner = [d for d in root.iterdir() if d.is_dir() and _is_kaldi(d)]
        root = inner[0] if len(inner) == 1 else root
    if _is_kaldi(root):
        return _load_kaldi(root, split)
    if _hf_tables(root, split) is not None:
        return _load_hf(root, split)
    raise DataError(
        f"{root} is not a Speechocean762 folder: expected the Kaldi layout (resource/scores.json and "
        "train/wav.scp, test/wav.scp) or the Hugging Face copy (parquet files, or a save_to_disk "
        "folder with state.json / dataset_dict.json)"
    )


# ---------------------------------------------------------------------------------------------
# Kaldi layout


def _is_kaldi(root: Path) -> bool:
    return any((root / s / "wav.scp").is_file() for s in CORPUS_SPLITS) or (root / "resource").is_dir()


def _load_kaldi(root: Path, split: str) -> list[Utterance]:
    split_dir = root / split
    if not split_dir.is_dir():
        have = [s for s in CORPUS_SPLITS if (root / s).is_dir()]
        raise DataError(f"split {split!r} not found in {root} (found: {', '.join(have) or 'none'})")
    missing = [n for n in _KALDI_FILES if not (split_dir / n).is_file()]
    if missing:
        raise DataError(f"{split_dir} lacks {', '.join(missing)}")
    scores = _read_scores(root)
    wav = _read_table(split_dir / "wav.scp")
    utt2spk = _read_table(split_dir / "utt2spk")
    spk2age = _read_table(split_dir / "spk2age")
    spk2gender = _read_table(split_dir / "spk2gender")
    text = _read_table(split_dir / "text") if (split_dir / "text").is_file() else {}

    _require(sorted(set(wav) - set(scores)), "utterance(s) in wav.scp have no scores in scores.json")
    _require(sorted(set(wav) - set(utt2spk)), f"utterance(s) in wav.scp are missing from {split}/utt2spk")
    speakers = {utt2spk[u] for u in wav}
    _require(sorted(speakers - set(spk2age)), f"speaker(s) missing from {split}/spk2age")
    _require(sorted(speakers - set(spk2gender)), f"speaker(s) missing from {split}/spk2gender")

    audio = {u: _audio_path(root, u, entry) for u, entry in wav.items()}
    _require(sorted(str(p) for p in audio.values() if not os.path.isfile(p)), "audio file(s) not found")

    utts = []
    for uid in sorted(wav):
        spk = utt2spk[uid]
        entry = scores[uid]
        if not entry.get("text") and uid in text:
            entry = {**entry, "text": text[uid]}
        utts.append(
            _utterance(
                entry,
                uid,
                speaker=spk,
                age=_int(spk2age[spk], f"age of speaker {spk}"),
                gender=spk2gender[spk],
                audio_path=audio[uid],
            )
        )
    return utts


def _read_scores(root: Path) -> dict[str, Any]:
    for path in (root / "resource" / "scores.json", root / "scores.json"):
        if path.is_file():
            try:
                scores = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise DataError(f"{path} is not valid JSON: {e}") from None
            if not isinstance(scores, dict):
                raise DataError(f"{path} should map utterance ids to scores")
            return scores
    raise DataError(f"scores.json not found in {root / 'resource'} or {root}")


def _read_table(path: Path) -> dict[str, str]:
    """A Kaldi table: 'key value' per line (space or tab separated)."""
    table = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) < 2:
            raise DataError(f"{path}:{n}: expected 'key value', got {line!r}")
        table[parts[0]] = parts[1].strip()
    return table


def _audio_path(root: Path, uid: str, entry: str) -> str:
    if entry.endswith("|"):
        raise DataError(f"wav.scp entry of {uid} is a command ({entry!r}); only file paths are supported")
    path = Path(entry).expanduser()
    return os.path.abspath(path if path.is_absolute() else root / path)


# ---------------------------------------------------------------------------------------------
# Hugging Face copy (parquet or save_to_disk Arrow)


def _hf_tables(root: Path, split: str) -> list[Path] | None:
    """The data files of `split`, or None when `root` holds no Hugging Face copy."""
    if (root / "dataset_dict.json").is_file():  # DatasetDict.save_to_disk: one folder per split
        if not (root / split / "state.json").is_file():
            have = [p.parent.name for p in root.glob("*/state.json")]
            raise DataError(f"split {split!r} not found in {root} (found: {', '.join(have) or 'none'})")
        return _arrow_files(root / split)
    if (root / "state.json").is_file():  # Dataset.save_to_disk of one split
        return _arrow_files(root)
    parquet = sorted(root.rglob("*.parquet"))
    if not parquet:
        return None
    chosen = [p for p in parquet if _names_split(p.relative_to(root), split)]
    if not chosen:
        found = ", ".join(str(p.relative_to(root)) for p in parquet[:5])
        raise DataError(
            f"no parquet file of split {split!r} in {root} (expected e.g. "
            f"data/{split}-00000-of-00001.parquet; found {found})"
        )
    return chosen


def _names_split(rel: Path, split: str) -> bool:
    stem = rel.name.split(".")[0]
    return stem == split or stem.startswith(f"{split}-") or split in rel.parts[:-1]


def _arrow_files(folder: Path) -> list[Path]:
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    names = [f["filename"] for f in state.get("_data_files", [])]
    files = [folder / n for n in names] if names else sorted(folder.glob("*.arrow"))
    _require([str(f) for f in files if not f.is_file()], "Arrow file(s) listed in state.json not found")
    if not files:
        raise DataError(f"no Arrow files in {folder}")
    return files


def _load_hf(root: Path, split: str) -> list[Utterance]:
    files = _hf_tables(root, split) or []
    key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:10]
    audio_dir = cache_dir() / "hf_audio" / f"{root.resolve().name}-{key}" / split
    utts: dict[str, Utterance] = {}
    for index, row in enumerate(_hf_rows(files)):
        audio = row.get("audio") or {}
        src = audio.get("path")
        uid = Path(src).stem if src else f"{split}-{index:05d}"
        if uid in utts:
            raise DataError(f"two rows of {root} ({split}) have the same utterance id {uid!r}")
        meta = {
            "speaker": None if row.get("speaker") is None else str(row["speaker"]),
            "age": None if row.get("age") is None else _int(row["age"], f"age in row {index}"),
            "gender": row.get("gender"),
            "audio_path": _hf_audio_file(audio, uid, audio_dir),
        }
        utts[uid] = _utterance(row, uid, **meta)
    if not utts:
        raise DataError(f"the {split} split in {root} has no rows")
    return [utts[u] for u in sorted(utts)]


def _hf_rows(files: list[Path]) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in files:
        try:
            if path.suffix == ".parquet":
                pf = pq.ParquetFile(path)
                _check_columns(pf.schema_arrow.names, path)
                batches = pf.iter_batches(batch_size=64)
            else:
                batches = _arrow_batches(path, pa)
            for batch in batches:  # batch by batch: the audio column is hundreds of MB
                yield from batch.to_pylist()
        except (pa.ArrowException, OSError) as e:
            raise DataError(f"cannot read {path}: {e}") from None


def _arrow_batches(path: Path, pa: Any) -> Iterator[Any]:
    # save_to_disk writes the Arrow IPC stream format; plain .arrow files are usually the file format.
    source = pa.memory_map(str(path))
    try:
        reader = pa.ipc.open_stream(source)
    except pa.ArrowInvalid:
        reader = pa.ipc.open_file(source)
        _check_columns(reader.schema.names, path)
        return (reader.get_batch(i) for i in range(reader.num_record_batches))
    _check_columns(reader.schema.names, path)
    return iter(reader)


def _check_columns(names: list[str], path: Path) -> None:
    missing = [c for c in _HF_COLUMNS if c not in names]
    if missing:
        raise DataError(f"{path} is not a Speechocean762 table: no column(s) {', '.join(missing)}")


def _hf_audio_file(audio: dict[str, Any], uid: str, audio_dir: Path) -> str:
    """A FLAC file holding the row's audio, written once; or the row's own file when it exists."""
    dest = audio_dir / f"{uid}.flac"
    if dest.is_file() and dest.stat().st_size > 0:
        return str(dest)
    data, src = audio.get("bytes"), audio.get("path")
    if not data:
        if src and os.path.isfile(src):  # a save_to_disk of a dataset whose audio stayed on disk
            return os.path.abspath(src)
        raise DataError(f"utterance {uid} has no audio bytes and no readable audio file ({src!r})")
    import soundfile as sf

    audio_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    try:
        if data[:4] == b"fLaC":
            tmp.write_bytes(data)
        else:
            wave, sr = sf.read(io.BytesIO(data), dtype="int16")
            sf.write(tmp, wave, sr, format="FLAC", subtype="PCM_16")
    except (sf.LibsndfileError, RuntimeError) as e:
        tmp.unlink(missing_ok=True)
        raise DataError(f"audio of utterance {uid} cannot be decoded: {e}") from None
    os.replace(tmp, dest)  # atomic: an interrupted run never leaves a half-written file behind
    return str(dest)


# ---------------------------------------------------------------------------------------------
# shared


def _utterance(entry: dict[str, Any], uid: str, **meta: Any) -> Utterance:
    try:
        return Utterance.from_corpus_dict(entry, utt_id=uid, **meta)
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"scores of utterance {uid} are malformed: {e}") from None


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"{what} is not a whole number: {value!r}") from None


def _require(bad: list[str], message: str) -> None:
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DataError(f"{len(bad)} {message}: {', '.join(bad[:5])}{more}")
