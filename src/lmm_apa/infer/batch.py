"""Run a scorer over corpus utterances: the model side of `lmm-apa evaluate --model`."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from lmm_apa.data.audio import load_audio
from lmm_apa.data.records import Utterance
from lmm_apa.errors import LmmApaError
from lmm_apa.infer.scorer import Scorer


@dataclass
class BatchPredictions:
    predictions: dict[str, Utterance] = field(default_factory=dict)
    parse_failures: int = 0  # generation answers that did not parse completely
    errors: dict[str, str] = field(default_factory=dict)  # utt_id -> why it could not be scored


def predict_utterances(scorer: Scorer, utts: Sequence[Utterance], progress: bool = True) -> BatchPredictions:
    """Scores for each utterance; an utterance that cannot be scored is recorded, never dropped silently."""
    from rich.progress import track

    out = BatchPredictions()
    items = track(utts, description=f"scoring ({scorer.mode})") if progress else utts
    for utt in items:
        try:
            result = scorer.assess(utt.unlabelled(), load_audio(utt.audio_path))
        except LmmApaError as e:
            out.errors[utt.utt_id] = str(e)
            continue
        out.predictions[utt.utt_id] = result.utterance
        out.parse_failures += bool(result.problems)
    return out
