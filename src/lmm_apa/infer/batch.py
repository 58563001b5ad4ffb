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


# Utterances read and scored together (`Scorer.assess_batch` sorts them by length within a chunk):
# enough to fill any batch size, few enough that their audio is a few MB.
CHUNK = 32


def predict_utterances(scorer: Scorer, utts: Sequence[Utterance], progress: bool = True) -> BatchPredictions:
    """Scores for each utterance; an utterance that cannot be scored is recorded, never dropped silently."""
    from rich.progress import Progress

    out = BatchPredictions()
    with Progress(disable=not progress) as bar:
        task = bar.add_task(f"scoring ({scorer.mode})", total=len(utts))
        for start in range(0, len(utts), CHUNK):
            chunk = list(utts[start : start + CHUNK])
            refs, waves, ids = [], [], []
            for utt in chunk:
                try:
                    waves.append(load_audio(utt.audio_path))
                except LmmApaError as e:
                    out.errors[utt.utt_id] = str(e)
                    continue
                refs.append(utt.unlabelled())
                ids.append(utt.utt_id)
            for utt_id, result in zip(ids, scorer.assess_batch(refs, waves), strict=True):
                if isinstance(result, LmmApaError):
                    out.errors[utt_id] = str(result)
                    continue
                out.predictions[utt_id] = result.utterance
                out.parse_failures += bool(result.problems)
            bar.advance(task, len(chunk))
    # in the order given, as one at a time gave them
    out.predictions = {u.utt_id: out.predictions[u.utt_id] for u in utts if u.utt_id in out.predictions}
    return out
