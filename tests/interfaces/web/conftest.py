from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lmm_apa.interfaces.web import Limits, create_app
from tests.interfaces.web.scorer_double import (
    EnergyScorer,
    ScriptTranscriber,
)

BEAR_UTT = ("SPEAKER0001", "000010011", "WE CALL IT BEAR")


@pytest.fixture(scope="session")
def bear_flac(corpus_dir: Path) -> Path:
    """A real corpus recording: speaker 0001 reading "WE CALL IT BEAR"."""
    speaker, utt, _ = BEAR_UTT
    path = corpus_dir / "WAVE" / speaker / f"{utt}.flac"
    assert path.is_file(), path
    return path


@pytest.fixture
def scorer() -> EnergyScorer:
    return EnergyScorer()


@pytest.fixture
def transcriber() -> ScriptTranscriber:
    return ScriptTranscriber()


@pytest.fixture
def client(scorer: EnergyScorer, transcriber: ScriptTranscriber):
    """The real app (lifespan run) around the test doubles (scorer, and Whisper for free speech)."""
    app = create_app(lambda: scorer, model_name="energy-double", transcriber=transcriber)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def make_app():
    def make(scorer, **limits):
        return create_app(lambda: scorer, model_name="energy-double", limits=Limits(**limits))

    return make
