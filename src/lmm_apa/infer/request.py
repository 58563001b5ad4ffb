"""Scoring requests: one recording and the sentence read, or none (unscripted speech). The one driver
`lmm-apa score`, the web app and the Python API run.

A request without a sentence is transcribed (`lmm_apa.infer.transcribe`; Whisper-base unless another
``transcribe`` is given) and scored against its transcript: the result says so (``"reference":
"transcribed"``) and leaves completeness out. Results are the corpus schema
(`ScoreResult.to_json()`), with IPA added and on 0-100 where asked (`as_asked`).

Requests with a sentence are scored together where the scorer can batch them (`Scorer.assess_texts`
batches their one-pass forwards), `CHUNK` at a time; a request that cannot be scored gets its
error (`LmmApaError`) in its place, never a hole.

A scorer here is `lmm_apa.infer.scorer.Scorer` or anything with ``assess_text(audio, text,
utt_id) -> ScoreResult`` or, least, ``score(wave, text, utt_id) -> Utterance`` (the web app's test
doubles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lmm_apa.data.audio import PASSAGE_MAX_SECONDS, load_audio
from lmm_apa.data.records import Utterance
from lmm_apa.errors import AudioError, LmmApaError

if TYPE_CHECKING:
    from lmm_apa.distributed import Workers

# Recordings read and scored together (`Scorer.assess_texts` batches their one-pass forwards).
CHUNK = 32

# (utt_id, audio: a path, bytes or 16 kHz mono array, the sentence read or None: transcribe it)
Item = tuple[str, Any, str | None]
# 16 kHz mono wave -> what was said ("We call it bear."); raises AudioError when nothing was.
Transcribe = Callable[[np.ndarray], str]


@dataclass
class Assessed:
    """One request's scores: the utterance (corpus scales, for feedback) and its result as JSON."""

    utterance: Utterance
    result: dict[str, Any]  # `ScoreResult.to_json()`, marked `"reference": "transcribed"` where so


def as_asked(result: dict[str, Any], ipa: bool = False, scale: int = 10) -> dict[str, Any]:
    """A result with IPA added and on 0-100 when asked (`lmm_apa.data.ipa`, `.scale100`)."""
    if ipa:
        from lmm_apa.data.ipa import add_ipa

        add_ipa(result)
    if scale == 100:
        from lmm_apa.data.scale100 import to_scale_100

        result = to_scale_100(result)
    return result


def score_one(
    scorer: Any,
    audio: Any,
    text: str | None,
    utt_id: str = "input",
    ipa: bool = False,
    scale: int = 10,
    transcribe: Transcribe | None = None,
) -> dict[str, Any]:
    """One recording's result (`ScoreResult.to_json()`): of ``text``, or of its transcript when
    ``text`` is None; IPA added and on 0-100 when asked. Raises `LmmApaError` when it cannot be scored."""
    return as_asked(assess_one(scorer, audio, text, utt_id, transcribe).result, ipa=ipa, scale=scale)


def score_many(
    scorer: Any,
    items: Sequence[Item],
    ipa: bool = False,
    scale: int = 10,
    workers: Workers | None = None,
    transcribe: Transcribe | None = None,
) -> Iterator[tuple[str, Any, dict[str, Any] | LmmApaError]]:
    """(utt_id, audio, result or its error) for each item, in order: `score_one` for each, except
    that the recordings with a text are scored `CHUNK` at a time where the scorer can batch them.

    Under several launched processes (``workers``) each scores its own chunks; the main process
    yields every item's result, in order, once all are gathered, and the others yield nothing.
    """

    def scored(part: Sequence[Item]) -> list[tuple[str, Any, dict[str, Any] | LmmApaError]]:
        done = assess_many(scorer, part, transcribe)
        return [
            (utt_id, audio, r if isinstance(r, LmmApaError) else as_asked(r.result, ipa=ipa, scale=scale))
            for (utt_id, audio, _), r in zip(part, done, strict=True)
        ]

    if workers is None or workers.world == 1:  # one process: results as they come
        for start in range(0, len(items), CHUNK):
            yield from scored(items[start : start + CHUNK])
        return
    gathered = workers.gather([(start, scored(part)) for start, part in workers.my_chunks(items, CHUNK)])
    if workers.is_main:
        for results in gathered:
            yield from results


def assess_one(
    scorer: Any, audio: Any, text: str | None, utt_id: str = "input", transcribe: Transcribe | None = None
) -> Assessed:
    """A recording scored against ``text``, or against its transcript when ``text`` is None."""
    if text is None:
        return _assess_unscripted(scorer, audio, utt_id, transcribe)
    return _assessed(_assess_text(scorer, audio, text, utt_id))


def assess_many(
    scorer: Any, items: Sequence[Item], transcribe: Transcribe | None = None
) -> list[Assessed | LmmApaError]:
    """`assess_one` for each item, in order, an item's error in its place; the items with a text in
    one `Scorer.assess_texts` call where the scorer has it (their forwards batched)."""
    batches = callable(getattr(scorer, "assess_texts", None))
    scripted = [i for i, (_, _, text) in enumerate(items) if text is not None] if batches else []
    done: dict[int, Any] = {}
    if scripted:
        results = scorer.assess_texts([(items[i][1], items[i][2], items[i][0]) for i in scripted])
        done = dict(zip(scripted, results, strict=True))
    out: list[Assessed | LmmApaError] = []
    for i, (utt_id, audio, text) in enumerate(items):
        try:
            if i not in done:
                out.append(assess_one(scorer, audio, text, utt_id, transcribe))
            elif isinstance(done[i], LmmApaError):
                out.append(done[i])
            else:
                out.append(_assessed(done[i]))
        except LmmApaError as e:
            out.append(e)
    return out


def _assess_text(scorer: Any, audio: Any, text: str, utt_id: str) -> Any:
    """`Scorer.assess_text` (a `ScoreResult`), or a bare scorer's `score` (an `Utterance`)."""
    assess = getattr(scorer, "assess_text", None)
    if callable(assess):
        return assess(audio, text, utt_id=utt_id)
    return scorer.score(_wave(audio), text, utt_id)


def _assessed(result: Any) -> Assessed:
    if isinstance(result, Utterance):  # a scorer without uncertainty or problems
        return Assessed(result, result.to_corpus_dict())
    return Assessed(result.utterance, result.to_json())


def _assess_unscripted(scorer: Any, audio: Any, utt_id: str, transcribe: Transcribe | None) -> Assessed:
    """Transcribe, then score against the transcript; no completeness (nothing was expected)."""
    from lmm_apa.infer.transcribe import mark_transcribed, transcript_reference

    wave = _wave(audio)
    # a word the lexicon refuses raises LexiconError, naming it
    sentence = transcript_reference((transcribe or _whisper_transcribe)(wave))
    if not sentence:
        raise AudioError("no speech found in the recording: nothing to transcribe and score")
    done = _assessed(_assess_text(scorer, wave, sentence, utt_id))
    return Assessed(done.utterance.model_copy(update={"completeness": None}), mark_transcribed(done.result))


def _whisper_transcribe(wave: np.ndarray) -> str:
    # looked up on each call, so that one transcriber serves the process (and tests can replace it)
    from lmm_apa.infer.transcribe import default_transcriber

    return default_transcriber().transcribe(wave)


def _wave(audio: Any) -> np.ndarray:
    return audio if isinstance(audio, np.ndarray) else load_audio(audio, max_seconds=PASSAGE_MAX_SECONDS)
