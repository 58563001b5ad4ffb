"""`Assessor`: load a model once, then score recordings from Python, as `lmm-apa score` does.

The scoring itself is the CLI's and the web app's (`lmm_apa.infer.scorer.load_scorer` and the driver
in `lmm_apa.infer.request`), so the three give the same scores for the same recording; this module
only checks the arguments (`lmm_apa.api.inputs`) and types the result (`lmm_apa.api.result`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from lmm_apa.api.inputs import check_text, read_audio
from lmm_apa.api.result import Result
from lmm_apa.errors import ConfigError, InputError, LmmApaError

if TYPE_CHECKING:
    from lmm_apa.infer.policy import ScoringPolicy

Phones = Literal["arpabet", "ipa"]
Scale = Literal[10, 100]
# Recordings read into memory at a time in `score_many` (the driver scores them in chunks of its own).
_READ_AHEAD = 32


class Assessor:
    """A pronunciation-assessment model, loaded once, that scores learners' recordings.

    >>> from lmm_apa import Assessor
    >>> a = Assessor("default")                               # doctest: +SKIP
    >>> r = a.score("me.wav", text="We call it bear")          # doctest: +SKIP
    >>> r.total, r.words[0].accuracy, r.words[3].phones[1].heard  # doctest: +SKIP

    Args:
        model: ``"default"`` (the shipped model), ``"zero-shot"`` (the default backbone without its
            adapter), ``"evidence"`` (the aligner's evidence readout alone, no language model), an
            adapter folder written by ``lmm-apa train``, or a Qwen2-Audio model folder.
        mode: ``"onepass"`` (expected scores and their spread from one forward pass; the default),
            ``"twopass"`` or ``"generate"`` (the paper's: write the answer, then parse it).
        listen: align the text first (times, omitted words, heard phones, insertions); False
            scores with the language model alone.
        precision: ``"auto"`` (bf16 where the hardware multiplies it natively, else fp32),
            ``"fp32"`` or ``"bf16"``.
        batch_size: recordings per forward pass in `score_many` (None: the model's default, 8).
        lmm_share: the language model's share in the blend with the aligner's evidence readout,
            overriding the model's scoring policy (``a.policy``): one number 0-1 for every level,
            or per level (``{"sentence": 0.3, "word": 0}`` or ``"sentence=0.3,word=0"``; levels
            left out keep the policy's). None: the model's own policy.

    Loading takes a few seconds; everything runs offline (no download at any point). To use your
    own Whisper-base folder, set ``LMM_APA_WHISPER_DIR`` before the first `Assessor`. Errors are
    `lmm_apa.LmmApaError` subclasses with a message that says what to fix: `AudioError`
    (``audio``), `InputError` (other arguments), `LexiconError` (a word with no pronunciation),
    `ModelError` (a model that does not load).
    """

    model: str
    """The model as given: a name (``"default"``) or a folder."""
    mode: str
    """How scores are read from the model: ``"onepass"``, ``"twopass"`` or ``"generate"``."""
    listen: bool
    """Whether the aligner listens first (times, omissions, heard phones)."""
    precision: str | None
    """What the language model computes in: ``"bf16"`` or ``"fp32"`` (None for ``"evidence"``)."""
    policy: ScoringPolicy
    """How the scores are made from the language model's and the aligner's (after ``lmm_share``);
    every result's ``meta["policy"]`` records it."""

    def __init__(
        self,
        model: str | Path = "default",
        *,
        mode: Literal["onepass", "twopass", "generate"] = "onepass",
        listen: bool = True,
        precision: Literal["auto", "fp32", "bf16"] = "auto",
        batch_size: int | None = None,
        lmm_share: float | str | dict[str, float] | None = None,
    ) -> None:
        from lmm_apa.infer.scorer import MODES, load_scorer
        from lmm_apa.models.precision import PRECISIONS

        if not isinstance(model, str | Path):
            raise InputError(f"model: expected a name or a folder, not a {type(model).__name__}")
        _choose("mode", mode, MODES)
        _choose("precision", precision, PRECISIONS)
        if not isinstance(listen, bool):
            raise InputError(f"listen: expected True or False, not {listen!r}")
        _check_batch_size(batch_size, allow_none=True)
        _check_share(lmm_share)
        self.model, self.mode, self.listen = str(model), mode, listen
        try:
            self._scorer = load_scorer(
                self.model,
                mode=mode,
                listen=listen,
                precision=precision,
                batch_size=batch_size,
                lmm_share=lmm_share,
            )
        except ConfigError as e:  # a share the model cannot take (no LMM, or no listening)
            raise InputError(f"lmm_share: {e}") from None
        self.policy = getattr(self._scorer, "policy", None)
        lmm = getattr(self._scorer, "lmm", None)
        chosen = getattr(lmm, "precision", None)
        # What runs: "auto" resolved to "bf16" or "fp32".
        self.precision = getattr(chosen, "name", chosen)
        self._meta: dict[str, Any] | None = None

    def __repr__(self) -> str:
        options = f"mode={self.mode!r}, listen={self.listen}, precision={self.precision!r}"
        return f"Assessor({self.model!r}, {options})"

    def score(
        self,
        audio: Any,
        text: str | None = None,
        *,
        sample_rate: int | None = None,
        utt_id: str | None = None,
        phones: Phones = "arpabet",
        scale: Scale = 10,
    ) -> Result:
        """Score one recording of ``text``.

        Args:
            audio: a path (str or Path), the file's bytes, a binary file object (WAV, FLAC, OGG,
                MP3...), or a numpy array (1-D, or 2-D with channels) with its ``sample_rate``.
                At most 5 minutes: over 30 s (or a text of over 50 words) it is a passage, aligned
                whole and scored sentence by sentence, one result on the whole recording's time line.
            text: the sentence (or passage, up to 600 words) the speaker meant to read ("We call it
                bear"; case does not matter; a passage's `.`, `!` and `?` are where it is cut).
                None: unscripted speech, transcribed by Whisper-base and scored against the
                transcript (``r.reference == "transcribed"``, no completeness).
            sample_rate: the array's rate in Hz (arrays only).
            utt_id: the result's id (default: the file's name without extension, else "input").
            phones: ``"ipa"`` also gives each word and phone in IPA (``word.ipa``, ``phone.ipa``).
            scale: 10 keeps the corpus scales (sentence and word 0-10, phone 0-2); 100 puts every
                score on 0-100.

        Returns:
            The `Result`: ``r.total``, ``r.words[i].accuracy``, ``r.words[i].phones[j].heard``...;
            ``r.to_dict()`` is the line ``lmm-apa score --json`` writes.
        """
        ipa, scale = _check_view(phones, scale)
        sentence = check_text(text)
        if utt_id is not None and not isinstance(utt_id, str):
            raise InputError(f"utt_id: expected a str, not a {type(utt_id).__name__}")
        wave, stem = read_audio(audio, sample_rate)
        from lmm_apa.infer.request import score_one

        result = score_one(self._scorer, wave, sentence, utt_id or stem or "input", ipa=ipa, scale=scale)
        return self._result(result)

    def score_many(
        self,
        items: Iterable[Any],
        *,
        batch_size: int | None = None,
        progress: bool = False,
        errors: Literal["raise", "return"] = "raise",
        phones: Phones = "arpabet",
        scale: Scale = 10,
    ) -> list[Result | LmmApaError]:
        """Score many recordings, batching the model's forward passes; results in the items' order.

        Args:
            items: each a recording (audio as `score` takes it, unscripted), an ``(audio, text)``
                pair (text None: unscripted), or a dict with ``audio`` and optional ``text``,
                ``sample_rate`` and ``utt_id`` keys.
            batch_size: recordings per forward pass (None: the Assessor's).
            progress: show a progress bar (on stderr).
            errors: ``"raise"`` stops at the first recording that cannot be scored (its error says
                which item); ``"return"`` puts that error (an `LmmApaError`) in the item's place and
                goes on with the rest.
            phones, scale: as in `score`.
        """
        ipa, scale = _check_view(phones, scale)
        _choose("errors", errors, ("raise", "return"))
        _check_batch_size(batch_size, allow_none=True)
        # One recording or a mapping is not a list of them (iterating it would give its rows or keys).
        if isinstance(items, str | bytes | Path | dict | np.ndarray) or not isinstance(items, Iterable):
            raise InputError(
                "items: expected a list of recordings, (audio, text) pairs or dicts, "
                f"not a {type(items).__name__}"
            )
        todo = list(items)
        out: list[Result | LmmApaError] = []
        bar = _Bar(len(todo)) if progress else None
        saved = self._scorer.batch_size
        if batch_size is not None:
            self._scorer.batch_size = batch_size
        try:
            for start in range(0, len(todo), _READ_AHEAD):
                for result in self._score_chunk(todo[start : start + _READ_AHEAD], start, ipa, scale):
                    if isinstance(result, LmmApaError) and errors == "raise":
                        raise result
                    out.append(result)
                    if bar is not None:
                        bar.advance()
        finally:
            self._scorer.batch_size = saved
            if bar is not None:
                bar.stop()
        return out

    def _score_chunk(
        self, chunk: Sequence[Any], start: int, ipa: bool, scale: int
    ) -> list[Result | LmmApaError]:
        """Read and check each item (an error in its place), then score the readable ones together."""
        from lmm_apa.infer.request import score_many

        out: list[Any] = [None] * len(chunk)
        ready: list[tuple[int, tuple[str, Any, str | None]]] = []
        for k, item in enumerate(chunk):
            try:
                audio, text, sample_rate, utt_id = _item(item, start + k)
                wave, stem = read_audio(audio, sample_rate)
                ready.append((k, (utt_id or stem or f"item{start + k}", wave, check_text(text))))
            except LmmApaError as e:
                out[k] = type(e)(f"item {start + k}: {e}")
        scored = score_many(self._scorer, [row for _, row in ready], ipa=ipa, scale=scale)
        for (k, _), (_, _, result) in zip(ready, scored, strict=True):
            if isinstance(result, LmmApaError):
                out[k] = type(result)(f"item {start + k}: {result}")
            else:
                out[k] = self._result(result)
        return out

    def _result(self, result: dict[str, Any]) -> Result:
        """The typed result, with the metadata `lmm-apa score --json` puts on every line."""
        if self._meta is None:
            from lmm_apa.infer.policy import result_meta
            from lmm_apa.models.provenance import whisper_meta

            # hashes model.bin once per process
            self._meta = result_meta(self._scorer, self.model, whisper_meta())
        return Result.from_dict({**result, "meta": self._meta})


def _item(item: Any, index: int) -> tuple[Any, Any, int | None, str | None]:
    """(audio, text, sample_rate, utt_id) of one `score_many` item."""
    if isinstance(item, dict):
        unknown = set(item) - {"audio", "text", "sample_rate", "utt_id"}
        if "audio" not in item or unknown:
            raise InputError(
                f"items[{index}]: a dict needs an 'audio' key and may have 'text', 'sample_rate', "
                f"'utt_id'{f' (unknown: {sorted(unknown)})' if unknown else ''}"
            )
        return item["audio"], item.get("text"), item.get("sample_rate"), item.get("utt_id")
    if isinstance(item, tuple):
        if len(item) != 2:
            raise InputError(f"items[{index}]: a tuple is (audio, text), not {len(item)} values")
        return item[0], item[1], None, None
    return item, None, None, None


def _choose(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise InputError(f"{name}={value!r}: choose one of {', '.join(map(repr, choices))}")


def _check_view(phones: Any, scale: Any) -> tuple[bool, int]:
    _choose("phones", phones, ("arpabet", "ipa"))
    if isinstance(scale, bool) or scale not in (10, 100):
        raise InputError(f"scale={scale!r}: choose 10 (the corpus scales) or 100")
    return phones == "ipa", int(scale)


def _check_share(share: Any) -> None:
    from lmm_apa.infer.policy import parse_share

    if share is None:
        return
    try:
        parse_share(share)
    except ConfigError as e:
        raise InputError(str(e)) from None


def _check_batch_size(batch_size: Any, allow_none: bool) -> None:
    if batch_size is None and allow_none:
        return
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size={batch_size!r}: give a positive integer")


class _Bar:
    """A rich progress bar on stderr (shown in notebooks too)."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self._progress = Progress(console=Console(stderr=True), transient=False)
        self._task = self._progress.add_task("scoring", total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()
