from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bear_flac(corpus_dir: Path) -> Path:
    """A real corpus recording: speaker 0001 reading "WE CALL IT BEAR"."""
    path = corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac"
    assert path.is_file(), path
    return path


@pytest.fixture(scope="session")
def assessor():
    """The shipped default model behind the public API, loaded once (a few seconds on CPU)."""
    from lmm_apa import Assessor
    from lmm_apa.infer.scorer import ADAPTER_JSON, DEFAULT_ADAPTER

    if not (DEFAULT_ADAPTER / ADAPTER_JSON).is_file():
        pytest.skip("no shipped default model")
    return Assessor("default")
