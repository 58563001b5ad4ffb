"""Score recordings with a trained model: the one object the CLI, the evaluator and the web app use.

``load_scorer("default")`` is the shipped default model (the default backbone plus the projector and
LoRA adapter under ``lmm_apa/weights/default``). ``--model`` may also name an adapter folder written by
``lmm-apa train``, a Qwen2-Audio folder (zero-shot unless an adapter is given), ``zero-shot`` (the
default backbone without its adapter: the paper's baseline), or ``evidence`` (no LMM: the aligner's
evidence readout alone, `lmm_apa.align.evidence_scorer`).

Every scorer listens first: the aligner (`lmm_apa.align`) finds which words were said and when, and
`lmm_apa.infer.heard.with_alignment` puts that into the scores (omissions, completeness, times,
heard phones, insertions). How, and how much of the LMM's scores are blended with the aligner's
evidence readout, is the model's `ScoringPolicy` (`lmm_apa.infer.policy`), saved beside its weights.
"""

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lmm_apa.data.audio import PASSAGE_MAX_SECONDS, load_audio
from lmm_apa.data.quality import Recording, prepare_recording
from lmm_apa.data.records import Utterance
from lmm_apa.data.speech import shift_times
from lmm_apa.errors import LmmApaError, ModelError
from lmm_apa.infer.policy import (
    DEFAULT_POLICY,
    EVIDENCE_POLICY,
    ScoringPolicy,
    applied_policy,
    load_policy,
)
from lmm_apa.models.backbone import ADAPTER_JSON
from lmm_apa.paths import WEIGHTS_DIR
from lmm_apa.tasks.answer import TASKS, Slot

MODES = ("onepass", "twopass", "generate")
# Recordings per one-pass forward in `Scorer.assess_batch`: on 2 CPU cores, bf16, 40 dev recordings,
# 8 a pass scored 2.23 recordings/s, 4 2.02, 1 1.88 (`bench/speed.py`; more on a GPU).
DEFAULT_BATCH_SIZE = 8
# The shipped LMM's share of the blend is its policy file's (weights/default/scoring_policy.json).
DEFAULT_ADAPTER = WEIGHTS_DIR / "default"


@dataclass
class ScoreResult:
    utterance: Utterance  # reference words and phones, with the model's scores
    std: dict[Slot, float] | None = None  # one-pass only: spread of each slot's distribution
    problems: list[str] = field(default_factory=list)  # generation only: what did not parse
    quality: dict[str, Any] | None = None  # the recording's signal quality (`lmm_apa.data.quality`)

    @property
    def parsed(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """The corpus schema (a predictions line), plus ``uncertainty`` and ``problems`` when present."""
        out = self.utterance.to_corpus_dict()
        if self.std is not None:
            out["uncertainty"] = _uncertainty_json(self.utterance, self.std)
        if self.problems:
            out["problems"] = list(self.problems)
        if self.quality is not None:
            out["quality"] = self.quality
        return out


def _uncertainty_json(utt: Utterance, std: dict[Slot, float]) -> dict[str, Any]:
    """The standard deviation of every score, in the same shape as the scores."""
    out: dict[str, Any] = {}
    words: list[dict[str, Any]] = [{"text": w.text} for w in utt.words]
    for slot, s in std.items():
        s = round(s, 4)
        if slot.granularity == "sentence":
            out[slot.aspect] = s
        elif slot.granularity == "word":
            words[slot.word][slot.aspect] = s
        else:
            phones = words[slot.word].setdefault("phones-accuracy", [None] * len(utt.words[slot.word].phones))
            phones[slot.phone] = s
    out["words"] = words
    return out


class Scorer:
    """A backbone (with or without adapter), a task and a decoding mode, and the aligner that listens.

    ``lmm=None`` scores from the aligner's evidence alone; ``listener=None`` skips the aligner (the
    LMM's scores as they are, without times or omissions). ``policy`` (None: `DEFAULT_POLICY`, the
    LMM's own scores) says how much of each level's scores the LMM gives in the blend with the
    evidence readout's (`lmm_apa.infer.heard.blend_scores`) and the thresholds of what was heard; the
    scorer applies it, whatever the adapter. ``batch_size``: recordings per one-pass forward in
    `assess_batch`.

    For benchmarks: `lmm_scores` gives the LMM's own scores (before the blend and what the aligner
    heard); ``read_all_slots`` makes `readouts` read every slot, also those the blend leaves to the
    readout; ``on_readouts(references, readouts)``, when set, sees every batch of slot readouts.
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    read_all_slots: bool = False
    on_readouts: Callable[[list[Utterance], list[Any]], None] | None = None
    # Score the speech only, cut from the silence around it (`lmm_apa.data.quality.prepare_recording`);
    # False scores the whole recording, as before (the robustness bench's "before").
    trim_silence: bool = True
    # A passage's pieces are each encoded again, alone, as a recording of that sentence would be.
    # False slices their frames out of the whole recording's (no second encoder pass, ~30% faster):
    # Whisper-base's frames depend on the window they are encoded in (unpadded), and sliced frames
    # moved word accuracy by 0.2-0.8 (mean abs) from the pieces encoded alone, where a 0.1 s change
    # of the trim's margin moves it 0.2 (docs/passages.md).
    reencode_pieces: bool = True

    def __init__(
        self,
        lmm: Any,
        task: str = "multi",
        mode: str = "onepass",
        name: str = "",
        listener: Any = None,
        policy: ScoringPolicy | None = None,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: expected one of {', '.join(MODES)}")
        if lmm is None and listener is None:
            raise ValueError("a scorer needs an LMM, a listener or both")
        policy = policy or DEFAULT_POLICY
        if lmm is None and any(v != 0.0 for v in policy.lmm_share.values()):
            policy = dataclasses.replace(
                policy, lmm_share=dict(EVIDENCE_POLICY.lmm_share), source=EVIDENCE_POLICY.source
            )
        if lmm is not None and listener is None and policy.blends:
            raise ValueError("blending needs both an LMM and a listener")
        _check_listener(listener, policy)
        self.lmm, self.task, self.mode, self.name, self.listener = lmm, task, mode, name, listener
        self.policy = policy

    @property
    def lmm_share(self) -> dict[str, float] | None:
        """The LMM's share per level in the blend with the evidence readout; None when there is no
        blend (the LMM's own scores, or no LMM)."""
        return dict(self.policy.lmm_share) if self.lmm is not None and self.policy.blends else None

    def assess(self, reference: Utterance, wave: np.ndarray) -> ScoreResult:
        """Scores for ``reference`` (its words and phones) read from 16 kHz mono ``wave``; a passage
        (over 30 s, or a long text: `lmm_apa.infer.passage`) is scored in pieces."""
        from lmm_apa.infer.passage import assess_passage, is_passage

        if is_passage(reference, wave):
            return assess_passage(self, reference, wave)
        recording = prepare_recording(wave, trim=self.trim_silence)
        wave = recording.wave
        heard = self.listener.hear(wave, reference) if self.listener is not None else None
        if self.lmm is None:
            result = ScoreResult(heard.evidence)
        else:
            result = self.lmm_scores(reference, wave, heard)
        return _located(self._finish(result, heard), recording)

    def assess_batch(
        self,
        references: Sequence[Utterance],
        waves: Sequence[np.ndarray],
        texts: Sequence[str | None] | None = None,
    ) -> list[ScoreResult | LmmApaError]:
        """`assess` for many recordings at once: each is heard alone (the Whisper encoder has no
        attention mask, so padding would change its frames; it and the aligner take ~0.1-0.2 s a
        recording), then the LMM's one-pass forward runs for up to ``batch_size`` of them together
        (length-sorted, padded). An item that cannot be scored (bad audio, a model error on it
        alone) gets its error in its place; the others are scored as `assess` would score them.
        A passage is scored alone, in pieces (`lmm_apa.infer.passage`; ``texts``, the texts as
        written, give it the sentence ends to cut at).
        """
        if len(waves) != len(references):
            raise ValueError(f"{len(references)} references but {len(waves)} waves")
        return self.assess_recordings(references, waves, self._passages(references, waves, texts))

    def assess_recordings(
        self, references: Sequence[Utterance], waves: Sequence[np.ndarray], out: list[Any] | None = None
    ) -> list[ScoreResult | LmmApaError]:
        """`assess_batch` with every item scored as one recording, passage or not (a passage's
        pieces); the items whose ``out`` holds something already are left as they are."""
        n = len(references)
        out = list(out) if out is not None else [None] * n
        heard: list[Any] = [None] * n
        recordings: list[Any] = [None] * n
        for i, (ref, wave) in enumerate(zip(references, waves, strict=True)):
            if out[i] is not None:  # a passage, scored already
                continue
            try:
                recordings[i] = prepare_recording(wave, trim=self.trim_silence)
                heard[i] = self.listener.hear(recordings[i].wave, ref) if self.listener is not None else None
            except LmmApaError as e:
                out[i] = e
        return self._score_heard(references, recordings, heard, out)

    def assess_heard(
        self, references: Sequence[Utterance], recordings: Sequence[Recording], frames: Sequence[np.ndarray]
    ) -> list[ScoreResult | LmmApaError]:
        """`assess_recordings` for recordings prepared already (cut to their speech, with their
        offset and quality) whose encoder frames are given: a passage's pieces, whose frames are
        sliced out of the whole recording's (`lmm_apa.infer.passage`) instead of encoded again."""
        if self.listener is None:
            raise ModelError("frames given to hear from, but the scorer does not listen")
        out: list[Any] = [None] * len(references)
        heard: list[Any] = [None] * len(references)
        for i, (ref, f) in enumerate(zip(references, frames, strict=True)):
            try:
                heard[i] = self.listener.hear_frames(f, ref)
            except LmmApaError as e:
                out[i] = e
        return self._score_heard(references, list(recordings), heard, out)

    def _score_heard(
        self, references: Sequence[Utterance], recordings: list[Any], heard: list[Any], out: list[Any]
    ) -> list[ScoreResult | LmmApaError]:
        """The scores of the recordings heard (``out`` None there): the LMM's one-pass forwards
        batched, blended with what was heard, times on each original recording."""
        n = len(references)
        inputs: list[Any] = [None] * n
        batched = self.lmm is not None and self.mode in ("onepass", "twopass")
        for i in range(n):
            if out[i] is None and batched:
                try:
                    inputs[i] = self.lmm_inputs(references[i], recordings[i].wave, heard[i])
                except LmmApaError as e:
                    out[i] = e
        todo = [i for i in range(n) if out[i] is None]
        results: dict[int, ScoreResult] = {}
        if batched and todo:
            results = self._onepass_batch(todo, references, inputs)
        for i in todo:
            try:
                if i not in results:  # evidence only, generation, or a batch that failed as a whole
                    if self.lmm is None:
                        results[i] = ScoreResult(heard[i].evidence)
                    else:
                        results[i] = self.lmm_scores(references[i], recordings[i].wave, heard[i])
                out[i] = _located(self._finish(results[i], heard[i]), recordings[i])
            except LmmApaError as e:
                out[i] = e
        return out

    def _passages(self, references, waves, texts) -> list[Any]:
        """Each passage's result (or error) in its place, None for the recordings scored as one."""
        from lmm_apa.infer.passage import assess_passage, is_passage

        out: list[Any] = [None] * len(references)
        for i, (ref, wave) in enumerate(zip(references, waves, strict=True)):
            if is_passage(ref, wave):
                try:
                    out[i] = assess_passage(self, ref, wave, texts[i] if texts is not None else None)
                except LmmApaError as e:
                    out[i] = e
        return out

    def _onepass_batch(self, todo: list[int], references, inputs) -> dict[int, ScoreResult]:
        """One-pass readouts of the items ``todo``, batched; {} when the batch fails (then each
        item is retried alone, so that only the item at fault reports the error)."""
        try:
            readouts = self.readouts(
                [inputs[i][0] for i in todo], [references[i] for i in todo], [inputs[i][1] for i in todo]
            )
        except LmmApaError:
            return {}
        return {i: ScoreResult(r.utterance, std=r.std) for i, r in zip(todo, readouts, strict=True)}

    def readouts(self, feats: list, references: list[Utterance], evidence: list) -> list:
        """One-pass (or two-pass) slot readouts (`onepass.SlotReadout`), ``batch_size`` recordings a
        forward pass, of the slots whose scores are used: a granularity the blend gives the LMM no
        share of is not read (and the forward pass stops at the last slot that is), unless
        ``read_all_slots``. ``feats`` and ``evidence`` per recording as `lmm_inputs` gives them."""
        from lmm_apa.infer.onepass import onepass_scores_batch

        read = None
        share = self.lmm_share
        if share is not None and not self.read_all_slots:
            read = {g for g, v in share.items() if v > 0}
        out = onepass_scores_batch(
            self.lmm,
            feats,
            references,
            self.task,
            passes=2 if self.mode == "twopass" else 1,
            evidence=None if all(e is None for e in evidence) else evidence,
            batch_size=self.batch_size,
            granularities=read,
        )
        if self.on_readouts is not None:
            self.on_readouts(list(references), out)
        return out

    def _finish(self, result: ScoreResult, heard: Any) -> ScoreResult:
        """What the aligner heard, put into the model's scores under the policy (blend, omissions,
        times): the one place the policy is applied."""
        share = self.lmm_share
        if heard is not None and share is not None:
            from lmm_apa.infer.heard import blend_scores

            result.utterance = blend_scores(result.utterance, heard.evidence, share)
            result.std = _scaled_std(result.std, share)
        if heard is not None:
            from lmm_apa.infer.heard import with_alignment

            result.utterance = with_alignment(result.utterance, heard.alignment, heard.evidence, self.policy)
        return result

    def lmm_scores(self, reference: Utterance, wave: np.ndarray, heard: Any = None) -> ScoreResult:
        """The LMM's own scores of ``reference`` in ``wave``: not blended, nothing of what the
        aligner heard merged in. ``heard``: `Listener.hear`'s result, for a model that reads the
        aligner's evidence (and to reuse its encoder frames)."""
        feats, evidence = self.lmm_inputs(reference, wave, heard)
        if self.mode in ("onepass", "twopass"):
            readout = self.readouts([feats], [reference], [evidence])[0]
            return ScoreResult(readout.utterance, std=readout.std)
        from lmm_apa.infer.generate import generated_scores

        parsed = generated_scores(self.lmm, feats, reference, self.task)
        return ScoreResult(parsed.utterance, problems=list(parsed.problems))

    def lmm_inputs(self, reference: Utterance, wave: np.ndarray, heard: Any = None) -> tuple[Any, Any]:
        """(audio features, per-slot evidence or None): what the LMM reads for one recording."""
        feats = self.lmm.encode_audio(wave, frames=heard.frames if heard is not None else None)
        evidence = None
        if getattr(self.lmm, "evidence_width", None):
            # a model trained on the aligner's evidence reads it at every slot
            if heard is None:
                raise ModelError(
                    f"--model {self.name!r} reads the aligner's evidence: score with listening on"
                )
            from lmm_apa.tasks.answer import slots
            from lmm_apa.tasks.slot_evidence import slot_inputs

            kind = self.lmm.evidence_kind
            evidence = slot_inputs(
                kind, self.listener.evidence_scorer, heard.alignment, slots(reference, self.task)
            )
        return feats, evidence

    def assess_text(self, audio: Any, text: str, utt_id: str = "input") -> ScoreResult:
        """Scores for a recording (path, bytes or 16 kHz array) of ``text``."""

        from lmm_apa.infer.passage import assess_passage, is_passage

        reference, wave = _text_item(audio, text, utt_id)
        if is_passage(reference, wave):
            return assess_passage(self, reference, wave, text)
        return self.assess(reference, wave)

    def assess_texts(self, items: Sequence[tuple[Any, str, str]]) -> list[ScoreResult | LmmApaError]:
        """`assess_text` for many (audio, text, utt_id) items at once (see `assess_batch`); an item
        whose audio or text cannot be read gets its error in its place."""
        return assess_prepared(
            self,
            [partial(_text_item, audio, text, utt_id) for audio, text, utt_id in items],
            texts=[text for _, text, _ in items],
        )

    def score(self, wave: Any, text: str, utt_id: str = "input") -> Utterance:
        """The scored Utterance of a recording of ``text`` (see ``assess_text`` for the extras)."""
        return self.assess_text(wave, text, utt_id).utterance


def assess_prepared(
    scorer: Any,
    items: Sequence[Callable[[], tuple[Utterance, np.ndarray]]],
    texts: Sequence[str | None] | None = None,
) -> list[ScoreResult | LmmApaError]:
    """`scorer.assess_batch` for items made on demand: each gives (reference, 16 kHz wave) or raises
    an `LmmApaError`, which then takes its place in the output. ``texts``: each item's text as
    written (where a passage's sentences end)."""
    out: list[Any] = [None] * len(items)
    ready: list[int] = []
    refs, waves = [], []
    for i, make in enumerate(items):
        try:
            ref, wave = make()
        except LmmApaError as e:
            out[i] = e
            continue
        refs.append(ref)
        waves.append(wave)
        ready.append(i)
    kept = {"texts": [texts[i] for i in ready]} if texts is not None else {}
    for i, result in zip(ready, scorer.assess_batch(refs, waves, **kept), strict=True):
        out[i] = result
    return out


def _text_item(audio: Any, text: str, utt_id: str) -> tuple[Utterance, np.ndarray]:
    from lmm_apa.infer.passage import check_words
    from lmm_apa.infer.reference import reference_utterance

    reference = reference_utterance(text, utt_id)
    check_words(reference)
    # up to a passage's length: over 30 s, it is scored in pieces (`lmm_apa.infer.passage`)
    wave = audio if isinstance(audio, np.ndarray) else load_audio(audio, max_seconds=PASSAGE_MAX_SECONDS)
    return reference, wave


def _located(result: ScoreResult, recording: Recording) -> ScoreResult:
    """Times on the original recording (the scorer heard it cut to its speech), and its quality."""
    result.utterance = shift_times(result.utterance, recording.offset_s)
    result.quality = recording.quality.to_json()
    return result


def _check_listener(listener: Any, policy: ScoringPolicy) -> None:
    """The listener's aligner must decide omissions at the policy's cost (`load_scorer` builds it so)."""
    aligner = getattr(listener, "aligner", None)
    has = (getattr(aligner, "skip_base", None), getattr(aligner, "skip_per_phone", None))
    wants = (policy.omission_skip_base, policy.omission_skip_per_phone)
    if None not in has and has != wants:
        raise ValueError(
            f"the listener leaves a word unsaid at cost {has}, the policy at {wants}: "
            "build it with Listener(skip_base=..., skip_per_phone=...)"
        )


def _scaled_std(std: dict[Slot, float] | None, share: dict[str, float]) -> dict[Slot, float] | None:
    """The LMM's spread as it enters a blend: scaled by its share, left out where the share is 0."""
    if std is None:
        return None
    out = {s: v * share.get(s.granularity, 1.0) for s, v in std.items() if share.get(s.granularity, 1.0) > 0}
    return out or None  # the readout's alone at every level: no spread of the LMM's to report


def _adapter_info(adapter: Path) -> dict[str, Any]:
    return json.loads((adapter / ADAPTER_JSON).read_text())


def load_scorer(
    model: str | Path = "default",
    mode: str = "onepass",
    task: str | None = None,
    adapter: str | Path | None = None,
    listen: bool = True,
    precision: str | None = None,
    merge: bool = True,
    batch_size: int | None = None,
    lmm_share: float | str | dict[str, float] | None = None,
) -> Scorer:
    """Load a model to score with (see the module docstring for what ``model`` may name).

    ``precision``: auto | fp32 | bf16 (`lmm_apa.models.precision`; the CLI's default is auto), or
    None: `load_backbone`'s default (bf16 on CUDA, fp32 on CPU). ``merge``: fold the LoRA into
    the base weights at load (the same scores, no adapter branch per layer). ``batch_size``:
    recordings per one-pass forward in `Scorer.assess_batch` (None: `DEFAULT_BATCH_SIZE`).

    ``listen=False`` leaves the aligner out (the LMM's own scores, no times or omissions). Scores
    are made under the adapter's `ScoringPolicy` (its ``scoring_policy.json``; `DEFAULT_POLICY`, the
    LMM's own scores merged with what the aligner heard, where it has none; the shipped model's
    blends a quarter of the LMM with the evidence readout). ``lmm_share`` overrides its shares: one
    number for every level, ``"sentence=0.3,word=0"`` or a dict (`policy.parse_share`).
    """
    from lmm_apa.align.frontend import Listener
    from lmm_apa.models.backbone import load_backbone

    spec = str(model)
    if spec == "evidence":
        policy = applied_policy(EVIDENCE_POLICY, lmm_share, listen=True, lmm=False)
        return Scorer(
            None, task="multi", mode=mode, name=spec, listener=_listener(Listener, policy), policy=policy
        )
    if spec == "default":
        if not (DEFAULT_ADAPTER / ADAPTER_JSON).is_file():
            raise ModelError(
                f"the shipped default model is missing from {DEFAULT_ADAPTER}; reinstall lmm-apa "
                "or pass --model with a trained adapter"
            )
        base, adapter = "default", DEFAULT_ADAPTER
    elif spec == "zero-shot":
        base = "default"
    elif (Path(spec) / ADAPTER_JSON).is_file():
        adapter = Path(spec)
        base = json.loads((adapter / ADAPTER_JSON).read_text())["base"]
    elif Path(spec).is_dir():
        base = spec
    else:
        raise ModelError(
            f"--model {spec!r} is neither 'default', 'zero-shot', 'evidence', an adapter folder "
            f"(with {ADAPTER_JSON}) nor a Qwen2-Audio model folder"
        )
    info = _adapter_info(Path(adapter)) if adapter is not None else {}
    if task is None:
        task = info.get("task", "multi")
    if mode == "generate" and info.get("answer_inputs") == "filler":
        # Trained with a filler at every slot and a loss on the slots only: it never learned to
        # write the answer's words and phones, so free-running decoding would not parse.
        raise ModelError(
            f"--model {spec!r} was trained on the score slots only (answer_inputs: filler) and cannot "
            "write an answer; use --mode onepass"
        )
    policy = applied_policy(load_policy(adapter), lmm_share, listen=listen, lmm=True)
    lmm = load_backbone(base, adapter=adapter, precision=precision, merge=merge)
    listener = _listener(Listener, policy) if listen else None
    if listener is not None and lmm.shares_whisper_base:
        lmm.use_whisper_encoder(listener.encoder)  # one encoder in memory, one set of frames
    scorer = Scorer(lmm, task=task, mode=mode, name=spec, listener=listener, policy=policy)
    scorer.batch_size = batch_size or DEFAULT_BATCH_SIZE
    return scorer


def _listener(make: Callable[..., Any], policy: ScoringPolicy) -> Any:
    return make(skip_base=policy.omission_skip_base, skip_per_phone=policy.omission_skip_per_phone)


def model_policy(model: str | Path = "default") -> ScoringPolicy:
    """The scoring policy ``model`` (as `load_scorer` takes it) scores under, without loading it."""
    spec = str(model)
    if spec == "evidence":
        return EVIDENCE_POLICY
    if spec == "default":
        return load_policy(DEFAULT_ADAPTER)
    if (Path(spec) / ADAPTER_JSON).is_file():
        return load_policy(Path(spec))
    return DEFAULT_POLICY  # zero-shot, a Qwen2-Audio folder: no adapter to carry a policy
