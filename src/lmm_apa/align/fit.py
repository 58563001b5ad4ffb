"""Train the shipped aligner and fit its scorers: what `lmm-apa align train-head` and `lmm-apa align
fit-readout` run (and `bench/evidence_readout.py`, which also reports on them).

1. `train_phone_head`: the CTC phone recogniser (`PhoneHead`, `lmm_apa.align.train_head`) on a
   training split's canonical phones, the epoch with the lowest CTC loss on a held-out split kept.
2. `fit_readout`: align every recording of the training split with that head and fit the evidence
   readout (`lmm_apa.align.evidence_scorer`) on them (the same head's posteriors on its own training
   recordings: out-of-fold heads were tried and fail, as each head's pooled state has its own basis);
   then align the held-out split and score it from the evidence alone, for evaluation.
3. `listening_checks`: held-out recordings scored against another recording's text, and cut after
   half their length (the words the full alignment puts after the cut were never said).

The defaults are the shipped aligner's: trained and fit on train-minus-dev25, chosen on dev25.
Encoder frames are cached under ``cache`` (float16, `train_head.frame_cache`), shared by both steps.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmm_apa.data.records import Utterance

DEFAULT_TRAIN_SPLIT = "train-minus-dev25"
DEFAULT_DEV_SPLIT = "dev25"
DEFAULT_CACHE = Path("runs/align/frames")


def _splits(
    data: str | Path, split: str, dev_split: str, limit: int | None
) -> tuple[list[Utterance], list[Utterance]]:
    """(training, held-out) utterances; ``limit``: the first N of each (by utt_id), for a smoke run."""
    from lmm_apa.data.splits import load_split

    train, dev = load_split(data, split), load_split(data, dev_split)
    return (train[:limit], dev[:limit]) if limit is not None else (train, dev)


def train_phone_head(
    data: str | Path,
    out: str | Path,
    split: str = DEFAULT_TRAIN_SPLIT,
    dev_split: str = DEFAULT_DEV_SPLIT,
    cache: str | Path = DEFAULT_CACHE,
    epochs: int = 5,
    lr: float = 2e-3,
    seed: int = 0,
    limit: int | None = None,
    log: Callable[[str], None] = print,
    augment_copies: int = 0,
    augment_share: float = 1.0,
) -> dict[str, Any]:
    """Train the phone head on ``split`` (CTC on canonical phones), keep the epoch with the lowest
    ``dev_split`` CTC in ``out``; -> its `phone_head.json` (written there too), with the splits, seed,
    epochs and the greedy phone error rate on ``dev_split``. ``log`` gets a JSON line per epoch.
    ``augment_copies``: that many augmented copies of each training recording (of the first
    ``augment_share`` of them; `room_frames`) join the clean ones; the epoch is still chosen on the
    clean held-out split."""
    import torch

    from lmm_apa.align.head import HEAD_JSON
    from lmm_apa.align.train_head import frame_cache, greedy_per, load_pairs, train_head

    torch.set_num_threads(max(1, torch.get_num_threads()))
    train_utts, dev_utts = _splits(data, split, dev_split, limit)
    frames = frame_cache(train_utts + dev_utts, cache)
    dev_pairs = load_pairs(dev_utts, frames)
    train_pairs = load_pairs(train_utts, frames)
    for room in room_frames(train_utts, cache, augment_copies, seed, share=augment_share):
        train_pairs += load_pairs([u for u in train_utts if u.utt_id in room], room)
    head = train_head(train_pairs, dev_pairs, out, epochs=epochs, lr=lr, seed=seed, log=log)
    info_file = Path(out) / HEAD_JSON
    info = json.loads(info_file.read_text())
    info.update(
        train_split=split,
        dev_split=dev_split,
        seed=seed,
        epochs_run=epochs,
        dev_per_greedy=round(greedy_per(head, dev_pairs), 4),
        augment_copies=augment_copies,
        augment_share=augment_share,
        **({"limit": limit} if limit is not None else {}),
    )
    info_file.write_text(json.dumps(info, indent=2))
    return info


def room_frames(
    utts: list[Utterance],
    cache: str | Path,
    copies: int,
    seed: int = 0,
    encoder: Any = None,
    share: float = 1.0,
) -> list[dict[str, Path]]:
    """For each of ``copies`` augmented copies of ``utts`` (`lmm_apa.data.augment.RoomAugmenter`,
    seeds ``seed``, ``seed + 1``, ...): utt_id -> its cached encoder frames, under ``cache``; only
    the first ``share`` of ``utts`` (in their order: by utt_id for a split) get copies. The babble is
    built from ~200 of ``utts`` themselves (training recordings only)."""
    from lmm_apa.align.train_head import frame_cache
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.augment import RoomAugmenter, make_babble

    if copies <= 0:
        return []
    talkers = [load_audio(u.audio_path) for u in utts[:: max(1, len(utts) // 200)]]
    babble = make_babble(talkers, Path(cache) / f"babble-s{seed}", seed=seed)
    picked = utts[: round(share * len(utts))]
    return [
        frame_cache(picked, Path(cache) / f"room-s{seed + k}", encoder, RoomAugmenter(babble, seed + k))
        for k in range(copies)
    ]


@dataclass
class ReadoutFit:
    """A fitted evidence readout and what evaluating it needs: the held-out split scored from the
    evidence alone (``predictions``), its alignments, and the parts that made them."""

    readout: Any  # EvidenceScorer
    aligner: Any  # Aligner
    encoder: Any  # CT2WhisperEncoder
    train: list[Utterance]
    dev: list[Utterance]
    dev_alignments: list[Any]  # Alignment, parallel to dev
    predictions: dict[str, Utterance]  # utt_id -> dev utterance scored from the evidence
    frames: dict[str, Path]  # utt_id -> cached encoder frames
    align_seconds: float
    split: str
    dev_split: str

    def save(self, out: str | Path, head: str | Path) -> Path:
        """The readout's weights and statistics in ``out``, with where they come from."""
        return self.readout.save(out, fit_split=self.split, head=str(head))


def fit_readout(
    data: str | Path,
    head: str | Path | None = None,
    split: str = DEFAULT_TRAIN_SPLIT,
    dev_split: str = DEFAULT_DEV_SPLIT,
    cache: str | Path = DEFAULT_CACHE,
    seed: int = 0,
    limit: int | None = None,
    augment_copies: int = 0,
    augment_share: float = 1.0,
) -> ReadoutFit:
    """Align ``split`` and ``dev_split`` with the phone head in ``head`` (None: the shipped one), fit
    the evidence readout on ``split``'s labels and score ``dev_split`` with it. ``augment_copies``:
    the readout is also fit on that many augmented copies of each ``split`` recording (of the first
    ``augment_share`` of them; `room_frames`), with the clean recording's labels."""
    from lmm_apa.align.aligner import Aligner
    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.align.head import DEFAULT_HEAD
    from lmm_apa.align.train_head import frame_cache
    from lmm_apa.models.parts import whisper_ct2_dir
    from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

    train, dev = _splits(data, split, dev_split, limit)
    encoder = CT2WhisperEncoder(whisper_ct2_dir())
    frames = frame_cache(train + dev, cache, encoder)
    aligner = Aligner(head_dir=head if head is not None else DEFAULT_HEAD)
    t0 = time.perf_counter()
    train_al, dev_al = align_all(aligner, train, frames), align_all(aligner, dev, frames)
    fit_utts, fit_al = list(train), list(train_al)
    for room in room_frames(train, cache, augment_copies, seed, encoder, augment_share):
        roomed = [u for u in train if u.utt_id in room]
        fit_utts += roomed
        fit_al += align_all(aligner, roomed, room)
    align_s = time.perf_counter() - t0
    readout = EvidenceScorer().fit(fit_utts, fit_al, seed=seed)
    preds = {u.utt_id: readout.predict(u.unlabelled(), al) for u, al in zip(dev, dev_al, strict=True)}
    return ReadoutFit(readout, aligner, encoder, train, dev, dev_al, preds, frames, align_s, split, dev_split)


def align_all(aligner: Any, utts: list[Utterance], frames: dict[str, Path]) -> list[Any]:
    """Each utterance's `Alignment` to its cached encoder frames."""
    from lmm_apa.align.aligner import align_posteriors

    out = []
    for u in utts:
        f = np.load(frames[u.utt_id]).astype(np.float32)
        logp, hidden = aligner.head.posteriors(f)
        out.append(align_posteriors(logp, hidden, f, u.unlabelled()))
    return out


def listening_checks(fit: ReadoutFit, n: int = 100, seed: int = 0) -> dict[str, Any]:
    """Wrong-text and cut-in-half checks on ``n`` held-out recordings (see the module docstring):
    mean scores, and the share of words flagged."""
    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.data.audio import load_audio

    aligner, readout = fit.aligner, fit.readout
    rng = random.Random(seed)
    sample = rng.sample(fit.dev, min(n, len(fit.dev)))
    wrong: dict[str, list] = {"sentence_accuracy": [], "word_accuracy": [], "flagged": [], "completeness": []}
    own_acc: list[float] = []
    cut: dict[str, list] = {
        "unsaid_accuracy": [],
        "said_accuracy": [],
        "unsaid_flagged": [],
        "said_flagged": [],
    }
    for i, u in enumerate(sample):
        frames = np.load(fit.frames[u.utt_id]).astype(np.float32)
        # another sentence: the next sampled recording whose text differs
        other = next((v for v in sample[i + 1 :] + sample[:i] if v.text != u.text), None)
        if other is not None:
            al = aligner.align(frames, other.unlabelled())
            pred = readout.predict(other.unlabelled(), al)
            wrong["sentence_accuracy"].append(pred.accuracy)
            wrong["completeness"].append(pred.completeness)
            for w, wa in zip(pred.words, al.words, strict=True):
                wrong["word_accuracy"].append(w.accuracy)
                wrong["flagged"].append(EvidenceScorer.error_type(wa, w.accuracy) != "none")
        own = aligner.align(frames, u.unlabelled())
        own_acc.append(readout.predict(u.unlabelled(), own).accuracy)
        wave = load_audio(u.audio_path)
        half = len(wave) / 2 / 16000
        cut_al = aligner.align(fit.encoder.frames(wave[: len(wave) // 2]), u.unlabelled())
        cut_pred = readout.predict(u.unlabelled(), cut_al)
        for w, full_w, wa in zip(cut_pred.words, own.words, cut_al.words, strict=True):
            if full_w.omitted:
                continue
            flagged = EvidenceScorer.error_type(wa, w.accuracy) != "none"
            if full_w.start >= half:
                cut["unsaid_accuracy"].append(w.accuracy)
                cut["unsaid_flagged"].append(flagged)
            elif full_w.end <= half:
                cut["said_accuracy"].append(w.accuracy)
                cut["said_flagged"].append(flagged)

    def mean(x: list) -> float | None:
        return round(float(np.mean(x)), 3) if len(x) else None

    return {
        "n": len(sample),
        "own_text_sentence_accuracy": mean(own_acc),
        "wrong_text": {k: mean(v) for k, v in wrong.items()},
        "cut_half": {k: mean(v) for k, v in cut.items()} | {"n_unsaid": len(cut["unsaid_accuracy"])},
    }


def readout_report(fit: ReadoutFit, metrics: dict[str, Any], listening: dict[str, Any]) -> str:
    """The held-out metrics (`eval.report.evaluate_predictions` of ``fit.predictions``) and the
    listening checks, as Markdown."""

    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    omitted = sum(w.omitted for al in fit.dev_alignments for w in al.words)
    n_words = sum(len(al.words) for al in fit.dev_alignments)
    lines = [
        f"{fit.dev_split}: {len(fit.dev)} utterances, {len({u.speaker for u in fit.dev})} speakers; readout "
        f"fit on {fit.split} ({len(fit.train)}); words the aligner calls omitted on {fit.dev_split}: "
        f"{omitted} of {n_words}",
        "",
        "| level | aspect | n | PCC [95% CI] | SCC (cap) | RMSE |",
        "|---|---|---|---|---|---|",
    ]
    for g in ("sentence", "word", "phone"):
        for a, m in metrics[g].items():
            ci = m.get("pcc_ci")
            ci_s = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
            lines.append(
                f"| {g} | {a} | {m['n']} | {fmt(m['pcc'])}{ci_s} | "
                f"{fmt(m['scc'])} ({fmt(m.get('scc_cap'))}) | {fmt(m['rmse'])} |"
            )
    lines += ["", "Listening checks:", "```", json.dumps(listening, indent=2), "```"]
    return "\n".join(lines) + "\n"
