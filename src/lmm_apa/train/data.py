"""Training examples: cached audio features + prompt, chosen and rejected token ids.

Examples come from the corpus folder (prompts and answers built by `lmm_apa.tasks`) or from a JSONL
written by `lmm-apa data build`. The audio encoder is frozen, so its features are computed once per
backbone and utterance and cached on disk; an example only holds the cache path and the length.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from lmm_apa.errors import DataError
from lmm_apa.paths import cache_dir
from lmm_apa.train.config import RunConfig


@dataclass
class Example:
    utt_id: str
    feats_path: Path
    prompt_ids: list[int]  # chat template with the audio tokens expanded; ends with the assistant header
    chosen_ids: list[int]
    rejected_ids: list[list[int]]
    # answer_inputs "filler": the answer fed to the model (a filler at every slot) and the slots'
    # indices in it; the loss is taken there only, for the chosen and every rejected answer alike.
    input_answer_ids: list[int] | None = None
    slot_positions: list[int] | None = None
    # data.evidence: the aligner's evidence per slot (slot order), a cached (n_slots, W) tensor
    evidence_path: Path | None = None
    # filler examples: each slot's kind as an index of `answer.SLOT_KINDS` (train.rank_weight pairs
    # slots of one kind)
    slot_kinds: list[int] | None = None


@dataclass
class BuildStats:
    """What building the examples dropped or cut, so a run can report it."""

    kept: int = 0
    skipped_too_long: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)


@dataclass
class Source:
    """One utterance to turn into an example: its audio and its texts."""

    utt_id: str
    audio: str
    prompt: str
    chosen: str
    rejected: list[str]
    audio_end: float | None = None  # seconds: train on the recording cut here (lmm_apa.tasks.unsaid)
    reference: Any = None  # the unlabelled Utterance of the text (corpus sources), for the aligner
    room: Room | None = None  # data.room_rate: heard in this simulated room (lmm_apa.data.augment)


@dataclass(frozen=True)
class Room:
    """Which simulated room a training copy is heard in: `RoomAugmenter(babble, seed)`, drawn per
    recording from ``key`` (its source's utt_id)."""

    babble: str
    seed: int
    key: str


def default_corpus_dir() -> Path:
    env = os.environ.get("LMM_APA_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3].parent / "shared" / "speechocean762"


def feature_dir(cfg: RunConfig) -> Path:
    """Cache folder of one backbone's frozen-encoder features."""
    if cfg.data.feature_cache:
        return Path(cfg.data.feature_cache)
    name = cfg.model.backbone
    # A path backbone gets a readable name plus a hash of its full path, so two folders never collide.
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name).name or name)
    if name != "default":
        slug += "-" + hashlib.sha1(str(Path(name).expanduser().resolve()).encode()).hexdigest()[:8]
    return cache_dir() / "features" / slug


def cached_features(
    lmm: Any,
    utt_id: str,
    audio: str,
    folder: Path,
    audio_end: float | None = None,
    room: Room | None = None,
) -> tuple[Path, int]:
    """Encode ``audio`` once (frozen encoder) and keep it at ``folder/<utt_id>.pt``; (path, frames).

    ``audio_end`` (seconds) cuts the recording first (an unsaid-text example, `lmm_apa.tasks.unsaid`,
    whose utt_id differs from its source's, so the two never share a cache entry); ``room`` then
    puts it in a simulated room (a data.room_rate copy, its utt_id marked likewise).
    """
    path = _entry(folder, utt_id)
    if path.is_file():
        cached = torch.load(path, map_location="cpu")
        # A different encoder width means a stale cache (e.g. another backbone under the same name).
        if cached.ndim == 2 and cached.shape[1] == lmm.d_audio:
            return path, int(cached.shape[0])
    with torch.no_grad():
        feats = lmm.encode_audio(_source_wave(audio, audio_end, room)).detach().cpu()
    _save_entry(feats, path)
    return path, int(feats.shape[0])


def _entry(folder: Path, utt_id: str) -> Path:
    return folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', utt_id)}.pt"


def _source_wave(audio: str, audio_end: float | None, room: Room | None = None) -> Any:
    """The recording as a training example hears it: cut at ``audio_end`` seconds if given, then
    (``room``) as recorded in that room and cut to its speech as the scorer cuts it."""
    from lmm_apa.data.audio import SAMPLE_RATE, load_audio

    wave = load_audio(audio)
    wave = wave if audio_end is None else wave[: max(1, int(audio_end * SAMPLE_RATE))]
    if room is None:
        return wave
    from lmm_apa.data.augment import as_scored

    return as_scored(_augmenter(room.babble, room.seed)(wave, room.key))


@functools.cache
def _augmenter(babble: str, seed: int) -> Any:
    from lmm_apa.data.augment import RoomAugmenter

    return RoomAugmenter(babble, seed)


def _save_entry(tensor: torch.Tensor, path: Path) -> None:
    # Write under a name of this process, then rename: a killed run never leaves a half-written
    # entry, and two runs sharing the cache never write into the same file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(tensor, tmp)
    tmp.replace(path)


def load_features(path: Path) -> torch.Tensor:
    return torch.load(path, map_location="cpu")


def corpus_sources(cfg: RunConfig) -> tuple[list[Source], list[Source]]:
    """(train, dev) sources from the corpus folder: speaker-disjoint split, then tasks' texts."""
    from lmm_apa.data.speechocean import load_speechocean762
    from lmm_apa.data.splits import train_dev_split
    from lmm_apa.tasks.build import make_record

    d = cfg.data
    utts = load_speechocean762(d.corpus_dir or default_corpus_dir(), "train")
    train, dev = train_dev_split(utts, d.dev_fraction, d.split_seed) if d.dev_fraction > 0 else (utts, [])
    if d.limit is not None:
        train = train[: d.limit]
    if d.dev_limit is not None:
        dev = dev[: d.dev_limit]

    def source(u: Any) -> Source:
        # The same record `lmm-apa data build` writes, so both routes train on identical texts.
        row = make_record(u, d.task, d.n_rejected, d.rejected_seed, d.rejected_kind)
        return _source(row, u.unlabelled())

    train_sources = [source(u) for u in train]
    if d.unsaid_rate > 0:
        from lmm_apa.tasks.build import unsaid_records

        # the simulated rejected answers of the same kind as the others'
        unsaid = unsaid_records(
            train, [d.task], d.unsaid_rate, d.rejected_seed, d.n_rejected, d.rejected_kind
        )
        train_sources += [_source(row, e.utt.unlabelled()) for e, row in unsaid]
    if d.room_rate > 0:
        train_sources += room_copies(train, train_sources[: len(train)], d.room_rate, d.rejected_seed)
    return train_sources, [source(u) for u in dev]


def room_copies(utts: list[Any], sources: list[Source], rate: float, seed: int) -> list[Source]:
    """A copy of a ``rate`` share of ``sources`` (parallel to ``utts``, the clean corpus ones),
    heard in a simulated room, with the same texts: the raters judged the speaker, not the room.
    Babble is built from ~200 of ``utts`` (training recordings only) into the cache."""
    import random

    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.augment import make_babble

    talkers = [load_audio(u.audio_path) for u in utts[:: max(1, len(utts) // 200)]]
    babble = str(make_babble(talkers, cache_dir() / f"babble-s{seed}", seed=seed))
    picked = random.Random(seed).sample(range(len(sources)), round(rate * len(sources)))
    return [
        replace(
            sources[i], utt_id=f"{sources[i].utt_id}~room{seed}", room=Room(babble, seed, sources[i].utt_id)
        )
        for i in sorted(picked)
    ]


def _source(row: dict[str, Any], reference: Any) -> Source:
    rejected = [row["rejected"]] if isinstance(row["rejected"], str) else row["rejected"]
    return Source(
        row["utt_id"], row["audio"], row["prompt"], row["chosen"], rejected, row.get("audio_end"), reference
    )


def jsonl_sources(path: str | Path, task: str, n_rejected: int, limit: int | None = None) -> list[Source]:
    """Sources from a `lmm-apa data build` JSONL (rows of other tasks are skipped)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"training JSONL {path} not found (write it with `lmm-apa data build`)")
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if row.get("task", task) != task:
                continue
            rejected = row.get("rejected") or []
            rejected = [rejected] if isinstance(rejected, str) else list(rejected)
            uid, audio, prompt, chosen = str(row["utt_id"]), row["audio"], row["prompt"], row["chosen"]
            out.append(Source(uid, audio, prompt, chosen, rejected[:n_rejected], row.get("audio_end")))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            msg = f"{path}:{i}: not a training row ({e!r}); needs utt_id, audio, prompt, chosen"
            raise DataError(msg) from None
        if limit is not None and len(out) >= limit:
            break
    return out


def cached_evidence(listener: Any, s: Source, task: str, folder: Path, kind: str = "gop") -> Path:
    """The aligner's per-slot inputs of ``kind`` for one source, computed once and kept at
    ``folder/<utt_id>.pt``."""
    from lmm_apa.tasks.answer import slots
    from lmm_apa.tasks.slot_evidence import slot_inputs

    if s.reference is None:
        raise DataError(
            f"{s.utt_id}: data.evidence needs the corpus as the source (data.corpus_dir), not a JSONL"
        )
    path = _entry(folder, s.utt_id)
    if path.is_file():
        return path
    heard = listener.hear(_source_wave(s.audio, s.audio_end, s.room), s.reference)
    ev = torch.as_tensor(
        slot_inputs(kind, listener.evidence_scorer, heard.alignment, slots(s.reference, task))
    )
    _save_entry(ev, path)
    return path


def build_examples(
    sources: list[Source], lmm: Any, cfg: RunConfig, progress: bool = False
) -> tuple[list[Example], BuildStats]:
    """Tokenise, attach cached features, and fit each sequence into ``max_length``.

    Only the answer's end may be cut: the audio tokens and the prompt are never truncated (a model
    that sees part of the audio would be trained to score speech it did not hear), so an example
    whose prompt alone does not fit is skipped and counted.
    """
    d, stats, folder = cfg.data, BuildStats(), feature_dir(cfg)
    need_rejected = cfg.train.loss_type != "ce"
    examples = []
    listener = None
    if d.evidence != "none":
        from lmm_apa.align.frontend import Listener

        listener = Listener()
        if getattr(listener.encoder, "adapter", None) is not None and lmm.shares_whisper_base:
            # the aligner hears through its room adapter: the LMM is trained on the frames it will
            # be given at scoring time, cached apart from the frozen encoder's
            lmm.use_whisper_encoder(listener.encoder)
            folder = folder.with_name(f"{folder.name}-enc-{listener.tag}")
    if progress:
        from rich.progress import track

        # The first run of a backbone encodes every utterance (about 0.4 s each on 2 CPU cores).
        sources = track(sources, description=f"features ({folder})", transient=True)
    for s in sources:
        if need_rejected and not s.rejected:
            raise DataError(f"utterance {s.utt_id} has no rejected answer: SimPO needs one (or loss_type ce)")
        feats_path, n_audio = cached_features(lmm, s.utt_id, s.audio, folder, s.audio_end, s.room)
        prompt = lmm.prompt_ids(s.prompt, n_audio)
        room = d.max_length - len(prompt)
        if room < 1:
            stats.skipped_too_long.append(s.utt_id)
            continue
        if d.max_answer_tokens is not None:
            room = min(room, d.max_answer_tokens)
        answers = [lmm.answer_ids(a) for a in [s.chosen, *(s.rejected if need_rejected else [])]]
        if any(len(a) > room for a in answers):
            stats.truncated.append(s.utt_id)
        answers = [a[:room] for a in answers]
        example = Example(s.utt_id, feats_path, prompt, answers[0], answers[1:])
        if d.answer_inputs == "filler":
            example = with_filler(example, s, lmm.tokenizer)
            example.slot_kinds = slot_kind_ids(s.chosen, d.task)[: len(example.slot_positions)]
        if listener is not None:
            # one folder per kind and aligner: a retrained aligner never reads the old one's evidence
            sub = f"evidence-{d.evidence.replace('+', '-')}-{listener.tag}"
            if d.task != "multi":  # the cache is per utterance, and each task has its own slots
                sub += f"-{d.task}"
            example.evidence_path = cached_evidence(listener, s, d.task, folder / sub, d.evidence)
        examples.append(example)
    stats.kept = len(examples)
    return examples, stats


def with_filler(example: Example, source: Source, tokenizer: Any) -> Example:
    """The example with a filler at each slot of its input answer, and the slots' indices.

    Chosen and rejected answers differ only in slot values, so they share one input: the model
    never sees a score it is asked to predict, exactly as in one-pass scoring.
    """
    from lmm_apa.tasks.answer import SLOT_FILLER, SLOT_SYMBOLS, slot_token_ids, slot_token_positions

    positions = [p for p in slot_token_positions(source.chosen, tokenizer) if p < len(example.chosen_ids)]
    if not positions:
        raise DataError(f"utterance {source.utt_id}: answer {source.chosen[:40]!r}... has no score slot")
    fill = slot_token_ids(tokenizer)[SLOT_SYMBOLS.index(SLOT_FILLER)]
    inputs = list(example.chosen_ids)
    for p in positions:
        inputs[p] = fill
    for r in example.rejected_ids:
        other = list(r)
        for p in positions:
            other[p] = fill
        if other != inputs:
            raise DataError(
                f"utterance {source.utt_id}: a rejected answer differs from the chosen one "
                "outside the score slots"
            )
    example.input_answer_ids, example.slot_positions = inputs, positions
    return example


def slot_kind_ids(answer: str, task: str) -> list[int]:
    """Each slot's kind in ``answer`` as an index of `lmm_apa.tasks.answer.SLOT_KINDS`."""
    from lmm_apa.tasks.answer import SLOT_KINDS, slot_kinds

    return [SLOT_KINDS.index(k) for k in slot_kinds(answer, task)]


def build_datasets(
    cfg: RunConfig, lmm: Any, progress: bool = False
) -> tuple[list[Example], list[Example], dict[str, BuildStats]]:
    """Train and dev examples for a run, from the JSONL files if given, else from the corpus."""
    d = cfg.data
    if d.train_jsonl:
        train_src = jsonl_sources(d.train_jsonl, d.task, d.n_rejected, d.limit)
        dev_src = jsonl_sources(d.dev_jsonl, d.task, d.n_rejected, d.dev_limit) if d.dev_jsonl else []
    else:
        train_src, dev_src = corpus_sources(cfg)
    if not train_src:
        raise DataError(f"no training examples for task {d.task!r}")
    train, train_stats = build_examples(train_src, lmm, cfg, progress)
    dev, dev_stats = build_examples(dev_src, lmm, cfg, progress)
    if not train:
        raise DataError(f"all {len(train_src)} train examples are longer than data.max_length={d.max_length}")
    return train, dev, {"train": train_stats, "dev": dev_stats}
