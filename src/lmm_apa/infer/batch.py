"""Run a scorer over corpus utterances: the model side of `lmm-apa evaluate --model`."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from lmm_apa.data.audio import load_audio
from lmm_apa.data.records import Utterance
from lmm_apa.distributed import Workers
from lmm_apa.errors import LmmApaError
from lmm_apa.infer.scorer import Scorer, assess_prepared


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
            done.append((start, _predict_chunk(scorer, chunk)))
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


def _predict_chunk(scorer: Scorer, chunk: list[Utterance]) -> list[tuple[str, Utterance | str, bool]]:
    """(utt_id, predicted utterance or why not, whether its answer did not parse) for each utterance."""
    results = assess_prepared(scorer, [partial(_unlabelled, utt) for utt in chunk])
    return [
        (utt.utt_id, str(r), False)
        if isinstance(r, LmmApaError)
        else (utt.utt_id, r.utterance, bool(r.problems))
        for utt, r in zip(chunk, results, strict=True)
    ]


def _unlabelled(utt: Utterance) -> tuple[Utterance, np.ndarray]:
    """What the scorer may see of a corpus utterance (its own words and phones), and its audio."""
    wave = load_audio(utt.audio_path)
    return utt.unlabelled(), wave
