"""Run a scorer over corpus utterances: the model side of `lmm-apa evaluate --model`."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from lmm_apa.data.audio import load_audio
from lmm_apa.data.records import Utterance
from lmm_apa.distributed import Workers
from lmm_apa.errors import LmmApaError
from lmm_apa.infer.scorer import Scorer


@dataclass
class BatchPredictions:
    predictions: dict[str, Utterance] = field(default_factory=dict)
    parse_failures: int = 0  # generation answers that did not parse completely
    errors: dict[str, str] = field(default_factory=dict)  # utt_id -> why it could not be scored
    scored_here: int = 0  # utterances this process scored (all of them in a single process)


# Utterances read and scored together (`Scorer.assess_batch` sorts them by length within a chunk):
# enough to fill any batch size, few enough that their audio is a few MB.
CHUNK = 32


def predict_utterances(
    scorer: Scorer, utts: Sequence[Utterance], progress: bool = True, workers: Workers | None = None
) -> BatchPredictions:
    """Scores for each utterance; an utterance that cannot be scored is recorded, never dropped silently.

    Under several launched processes (``workers``, default: this process's place among them) each
    scores its own chunks and every process gets the whole result, in the order given.
    """
    from rich.progress import Progress

    workers = workers or Workers()
    mine = workers.my_chunks(utts, CHUNK)
    done = []
    with Progress(disable=not (progress and workers.is_main)) as bar:
        task = bar.add_task(f"scoring ({scorer.mode})", total=sum(len(c) for _, c in mine))
        for start, chunk in mine:
            done.append((start, _score_chunk(scorer, chunk)))
            bar.advance(task, len(chunk))
    out = BatchPredictions(scored_here=sum(len(c) for _, c in mine))
    for outcomes in workers.gather(done):
        for utt_id, result, parse_failed in outcomes:
            if isinstance(result, str):
                out.errors[utt_id] = result
            else:
                out.predictions[utt_id] = result
                out.parse_failures += parse_failed
    # in the order given, as one at a time gave them
    out.predictions = {u.utt_id: out.predictions[u.utt_id] for u in utts if u.utt_id in out.predictions}
    return out


def _score_chunk(scorer: Scorer, chunk: list[Utterance]) -> list[tuple[str, Utterance | str, bool]]:
    """(utt_id, predicted utterance or why not, whether its answer did not parse) for each utterance."""
    refs, waves, ids, outcomes = [], [], [], []
    for utt in chunk:
        try:
            waves.append(load_audio(utt.audio_path))
        except LmmApaError as e:
            outcomes.append((utt.utt_id, str(e), False))
            continue
        refs.append(utt.unlabelled())
        ids.append(utt.utt_id)
    for utt_id, result in zip(ids, scorer.assess_batch(refs, waves), strict=True):
        if isinstance(result, LmmApaError):
            outcomes.append((utt_id, str(result), False))
        else:
            outcomes.append((utt_id, result.utterance, bool(result.problems)))
    return outcomes
