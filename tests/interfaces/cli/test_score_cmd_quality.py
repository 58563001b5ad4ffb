"""`lmm-apa score`'s report shows the recording's quality and its warnings; `--json` carries them
as `quality` (and a corpus reader ignores the key)."""

from __future__ import annotations

import io

from rich.console import Console

from lmm_apa.data.records import Utterance
from lmm_apa.interfaces.cli import score_cmd

RESULT = {
    "utt_id": "u1",
    "text": "HELLO",
    "total": 6.0,
    "words": [{"text": "HELLO", "accuracy": 7.0, "phones": ["HH", "AH0", "L", "OW1"]}],
    "quality": {
        "snr_db": 9.4,
        "clipped_share": 0.0,
        "speech_seconds": 0.8,
        "level_dbfs": -22.3,
        "duration_seconds": 6.1,
        "warnings": ["noisy recording (speech 9 dB above the background): scores are less reliable"],
    },
}


def test_report_shows_quality_and_warnings(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(score_cmd, "console", Console(file=out, width=160, color_system=None))
    score_cmd.render_report(RESULT, "a.m4a")
    text = out.getvalue()
    assert "0.8 s of speech in 6.1 s, SNR 9 dB, speech level -22 dBFS, 0.0% clipped" in text
    assert "warning: noisy recording" in text


def test_quality_does_not_disturb_the_corpus_schema():
    assert Utterance.from_corpus_dict(dict(RESULT)).total == 6.0
