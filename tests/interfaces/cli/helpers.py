"""Stand-ins shared by the `lmm-apa` CLI tests (imported as `tests.interfaces.cli.helpers`): a scorer
that reads the audio and gives fixed scores with an aligner's keys, a transcriber, and a JSON-lines
reader."""

from __future__ import annotations

import json

from lmm_apa.data.audio import load_audio
from lmm_apa.data.records import Phone, Word
from lmm_apa.errors import AudioError
from lmm_apa.infer.reference import reference_utterance
from lmm_apa.infer.scorer import ScoreResult

BEAR_TEXT = "WE CALL IT BEAR"


class StandInScorer:
    """Reads the audio (so a bad file fails as it would), then fixed scores with an aligner's keys."""

    def assess_text(self, audio, text, utt_id="input") -> ScoreResult:
        wave = load_audio(audio) if isinstance(audio, str) else audio
        ref = reference_utterance(text, utt_id)
        words, t = [], 0.1
        for i, w in enumerate(ref.words):
            n = len(w.phones)
            accs = [2.0 - 0.5 * (j == 1) for j in range(n)]
            words.append(
                Word(
                    text=w.text,
                    accuracy=9.0 - i,
                    stress=10.0,
                    total=8.5 - i,
                    phones=[Phone(symbol=p.symbol, accuracy=a) for p, a in zip(w.phones, accs, strict=True)],
                    start=round(t, 3),
                    end=round(t + 0.3, 3),
                    error_type="none",
                    phones_start=[round(t + 0.3 * j / n, 3) for j in range(n)],
                    phones_end=[round(t + 0.3 * (j + 1) / n, 3) for j in range(n)],
                    phones_heard=[None] * n,
                )
            )
            t += 0.4
        utt = ref.model_copy(
            update={
                "words": words,
                "accuracy": 7.3,
                "completeness": 10.0,
                "fluency": 8.0,
                "prosodic": 7.7,
                "total": 7.5,
                "insertions": [],
            }
        )
        assert len(wave) > 0
        return ScoreResult(utt)


class StandInTranscriber:
    def __init__(self, text: str | None = "We call it bear.") -> None:
        self.text, self.calls = text, 0

    def transcribe(self, wave):
        self.calls += 1
        if self.text is None:
            raise AudioError("no speech found in the recording: nothing to transcribe and score")
        return self.text


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]
