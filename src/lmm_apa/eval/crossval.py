"""K-fold speaker-disjoint cross-validation over the whole train split, for the parts that train in
minutes: the phone recogniser head and the scorers fit on its alignments.

Why: the single dev split (dev25, 25 speakers) overstated the held-out test figures by 0.06-0.08 at
every level, because the head's epoch, the skip penalty, the scorer and the blend were all chosen on
the split they were reported on. Here every recording of train is scored once, by models that never
saw its speaker: out-of-fold (OOF) predictions for 2500 recordings and 125 speakers, whose speaker
bootstrap intervals are narrower than dev25's and whose figures nothing was chosen on.

For each fold f of `speaker_folds` (k folds, speakers dealt round robin):

1. the head trains on the other folds with today's recipe (`train_head.train_head`: 5 epochs
   one-cycle), its epoch chosen by CTC loss on a speaker-disjoint slice of those training folds
   (one of ``epoch_folds`` speaker folds of them), never on fold f;
2. every recording of train is aligned with that head (`align_posteriors`) and the alignments are
   pickled: the training folds' (in-sample posteriors, as the shipped scorer is fit) and fold f's;
3. the scorer (named in `SCORERS`) is fit on the training folds' labels and alignments, and predicts
   fold f.

Steps 1-2 are cached per fold under ``<cache>/crossval/<tag>/fold<f>/`` (the tag names the folds and
the head recipe), so another scorer is fit on the cached alignments in minutes without running a
head again; step 3's predictions are cached per fold in the output folder. A run resumes where it
stopped.

A scorer is any object with ``fit(utts, alignments, seed) -> self`` and
``predict(reference, alignment) -> Utterance`` (as `EvidenceScorer`); `register_scorer` or
"package.module:Class" names it. One that sets ``needs_audio = True`` also receives the recordings'
waves (``fit(..., waves=...)``, a lazily loading sequence, and ``predict(..., wave=...)``), and one
that sets ``needs_frames = True`` the Whisper-base encoder frames (``frames=`` / ``frames=``).
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lmm_apa.align.aligner import SKIP_BASE, SKIP_PER_PHONE, Alignment, align_posteriors
from lmm_apa.align.evidence_scorer import EvidenceScorer, concat_features
from lmm_apa.align.head import HeadConfig, PhoneHead
from lmm_apa.align.heard_text import decoder_features
from lmm_apa.align.hier_scorer import HierScorer
from lmm_apa.align.prosody import prosody_features
from lmm_apa.data.records import Utterance
from lmm_apa.data.splits import speaker_folds
from lmm_apa.errors import DataError

ALIGNMENTS = "alignments.pkl"  # {utt_id: Alignment}, every recording of the run, this fold's head
FOLD_JSON = "fold.json"  # who trained the head, who chose its epoch, who is scored; timings


class Scorer(Protocol):
    def fit(self, utts: list[Utterance], alignments: list[Alignment], seed: int = 0) -> Any: ...

    def predict(self, reference: Utterance, alignment: Alignment) -> Utterance: ...


# name -> a function of no arguments that returns an unfitted scorer. A new scorer is one entry here
# (or `register_scorer` from outside, or "package.module:Class" on the command line).
SCORERS: dict[str, Callable[[], Scorer]] = {
    "evidence": EvidenceScorer,
    # the same scorer reading Praat pitch, loudness and timing too (align/prosody.py; docs/prosody.md)
    "evidence+prosody": lambda: EvidenceScorer(extra_features=prosody_features),
    "hier+prosody": lambda: HierScorer(extra_features=prosody_features),
    # ... or the Whisper decoder's probabilities of the text's words (align/heard_text.py)
    "evidence+decoder": lambda: EvidenceScorer(extra_features=decoder_features),
    "hier+decoder": lambda: HierScorer(extra_features=decoder_features),
    "evidence+prosody+decoder": lambda: EvidenceScorer(
        extra_features=concat_features(prosody_features, decoder_features)
    ),
}


def register_scorer(name: str, factory: Callable[[], Scorer]) -> None:
    SCORERS[name] = factory


def make_scorer(name: str) -> Scorer:
    """An unfitted scorer by registry name, or by "package.module:Attribute" (a class or factory)."""
    if name in SCORERS:
        return SCORERS[name]()
    if ":" in name:
        module, attr = name.split(":", 1)
        return getattr(importlib.import_module(module), attr)()
    raise DataError(f"unknown scorer {name!r}: one of {', '.join(sorted(SCORERS))}, or package.module:Class")


@dataclass(frozen=True)
class HeadRecipe:
    """Today's head recipe (`lmm_apa.align.train_head`) and the aligner's skip penalty."""

    epochs: int = 5  # one-cycle over 5 epochs beat 15 (bench/results/phone_head_*_log.jsonl)
    lr: float = 2e-3
    batch_size: int = 16
    seed: int = 0
    # The epoch is chosen on one of this many speaker folds of the training folds (10 of their 100
    # speakers with k=5): speaker-disjoint from the head's training recordings and from fold f.
    epoch_folds: int = 10
    skip_base: float = SKIP_BASE
    skip_per_phone: float = SKIP_PER_PHONE
    head: HeadConfig = field(default_factory=HeadConfig)

    def tag(self) -> str:
        """A short name for the cache folder; the full recipe is saved next to it and checked."""
        h = self.head
        arch = f"{h.arch}{h.n_layers}x{h.d_bottleneck}"
        return (
            f"head-{arch}-e{self.epochs}-lr{self.lr:g}-s{self.seed}-ef{self.epoch_folds}"
            f"-skip{self.skip_base:g}+{self.skip_per_phone:g}"
        )


def run_dir(cache: str | Path, k: int, seed: int, recipe: HeadRecipe) -> Path:
    return Path(cache) / "crossval" / f"k{k}-seed{seed}" / recipe.tag()


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    # Written beside, then renamed: a run killed mid-write leaves no half file that looks done.
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _check_or_write_json(path: Path, content: dict) -> None:
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved != content:
            raise DataError(f"{path} was written for other folds or another recipe; use another --cache")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2))


def prepare_fold(
    utts: list[Utterance],
    held_out: list[Utterance],
    folder: Path,
    frames: dict[str, Path],
    recipe: HeadRecipe,
    log: Callable[[str], None] = print,
) -> dict[str, Alignment]:
    """Train this fold's head (if not cached), align every recording of ``utts`` with it (if not
    cached); returns the alignments by utt_id."""
    from lmm_apa.align.train_head import load_pairs, train_head

    if (folder / ALIGNMENTS).is_file():
        return load_alignments(folder)
    held = {u.utt_id for u in held_out}
    training = [u for u in utts if u.utt_id not in held]
    inner = speaker_folds(
        training, k=min(recipe.epoch_folds, len({u.speaker for u in training})), seed=recipe.seed
    )
    epoch_dev = {u.utt_id for u in inner[0]}
    head_train = [u for u in training if u.utt_id not in epoch_dev]
    info = _fold_info(utts, held_out, head_train, inner[0])
    head_dir = folder / "head"
    t0 = time.perf_counter()
    if not (folder / "head.done").is_file():
        log(f"{folder.name}: head on {len(head_train)} recordings, epoch chosen on {len(epoch_dev)}")
        with (folder / "head_log.jsonl").open("w") as f:
            head = train_head(
                load_pairs(head_train, frames),
                load_pairs(inner[0], frames),
                head_dir,
                epochs=recipe.epochs,
                batch_size=recipe.batch_size,
                lr=recipe.lr,
                seed=recipe.seed,
                cfg=recipe.head,
                log=lambda line: (f.write(line + "\n"), f.flush(), log(f"{folder.name}: {line}")),
            )
        (folder / "head.done").write_text("")
    else:
        head = PhoneHead.load(head_dir)
    info["head_seconds"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    alignments = {}
    for u in utts:
        x = np.load(frames[u.utt_id]).astype(np.float32)
        logp, hidden = head.posteriors(x)
        alignments[u.utt_id] = align_posteriors(
            logp, hidden, x, u.unlabelled(), recipe.skip_base, recipe.skip_per_phone
        )
    info["align_seconds"] = round(time.perf_counter() - t0, 1)
    info["head"] = json.loads((head_dir / "phone_head.json").read_text())
    (folder / FOLD_JSON).write_text(json.dumps(info, indent=2))
    _atomic_write(folder / ALIGNMENTS, lambda p: p.write_bytes(pickle.dumps(alignments, protocol=5)))
    log(f"{folder.name}: head {info['head_seconds']} s, {len(utts)} aligned in {info['align_seconds']} s")
    return alignments


def _fold_info(utts, held_out, head_train, epoch_dev) -> dict[str, Any]:
    speakers = lambda us: sorted({u.speaker for u in us})  # noqa: E731
    return {
        "scored_speakers": speakers(held_out),
        "head_train_speakers": speakers(head_train),
        "epoch_dev_speakers": speakers(epoch_dev),
        "n_scored": len(held_out),
        "n_head_train": len(head_train),
        "n_epoch_dev": len(epoch_dev),
        "n_aligned": len(utts),
    }


def load_alignments(folder: str | Path) -> dict[str, Alignment]:
    """A fold's cached alignments, {utt_id: Alignment}."""
    return pickle.loads((Path(folder) / ALIGNMENTS).read_bytes())


class _Lazy(Sequence):
    """A sequence that loads item i when asked: 2000 waves would not fit in memory together."""

    def __init__(self, keys: list, load: Callable[[Any], Any]):
        self.keys, self.load = keys, load

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return _Lazy(self.keys[i], self.load)
        return self.load(self.keys[i])


def _extras(scorer: Scorer, utts: list[Utterance], frames: dict[str, Path]) -> dict[str, Sequence]:
    from lmm_apa.data.audio import load_audio

    out: dict[str, Sequence] = {}
    if getattr(scorer, "needs_audio", False):
        out["waves"] = _Lazy([u.audio_path for u in utts], load_audio)
    if getattr(scorer, "needs_frames", False):
        out["frames"] = _Lazy([frames[u.utt_id] for u in utts], lambda p: np.load(p).astype(np.float32))
    return out


_ONE = {"waves": "wave", "frames": "frames"}  # fit's keyword -> predict's, for one recording


def score_fold(
    scorer_name: str,
    training: list[Utterance],
    held_out: list[Utterance],
    alignments: dict[str, Alignment],
    frames: dict[str, Path],
    seed: int = 0,
) -> list[Utterance]:
    """Fit a fresh scorer on ``training`` and predict ``held_out`` (unlabelled), with what the aligner
    heard added as the scorer does (times, `error_type`, `phones-heard`, insertions, omitted words 0:
    `infer.heard.with_alignment`)."""
    from lmm_apa.infer.heard import with_alignment

    scorer = make_scorer(scorer_name)
    fit_extras = _extras(scorer, training, frames)
    scorer.fit(training, [alignments[u.utt_id] for u in training], seed=seed, **fit_extras)
    out = []
    for i, u in enumerate(held_out):
        extras = {_ONE[k]: v[i] for k, v in _extras(scorer, held_out, frames).items()}
        ref, al = u.unlabelled(), alignments[u.utt_id]
        pred = scorer.predict(ref, al, **extras)
        # error_type and phones-heard are read from the scorer's own word and phone accuracies; a
        # scorer without word scores gets its predictions back as they are.
        out.append(
            with_alignment(pred, al, pred) if all(w.accuracy is not None for w in pred.words) else pred
        )
    return out


@dataclass
class CrossVal:
    """One cross-validation run: the folds, the cached heads and alignments, the OOF predictions."""

    utts: list[Utterance]
    cache: Path  # frames under cache/frames, heads and alignments under cache/crossval/...
    k: int = 5
    seed: int = 0
    recipe: HeadRecipe = field(default_factory=HeadRecipe)
    encoder: Any = None  # for frames not cached yet (None: the packaged Whisper-base)
    log: Callable[[str], None] = print

    def __post_init__(self) -> None:
        self.cache = Path(self.cache)
        self.utts = sorted(self.utts, key=lambda u: u.utt_id)
        self.folds = speaker_folds(self.utts, k=self.k, seed=self.seed)
        self.dir = run_dir(self.cache, self.k, self.seed, self.recipe)
        folds = {f"fold{f}": sorted({u.speaker for u in us}) for f, us in enumerate(self.folds)}
        _check_or_write_json(self.dir / "folds.json", {"utts": len(self.utts), **folds})
        recipe = json.loads(json.dumps(asdict(self.recipe)))
        _check_or_write_json(self.dir / "recipe.json", recipe)
        self._frames: dict[str, Path] | None = None

    @property
    def frames(self) -> dict[str, Path]:
        if self._frames is None:
            from lmm_apa.align.train_head import frame_cache

            self._frames = frame_cache(self.utts, self.cache / "frames", self.encoder)
        return self._frames

    def fold_dir(self, f: int) -> Path:
        return self.dir / f"fold{f}"

    def alignments(self, f: int) -> dict[str, Alignment]:
        """Fold f's head's alignments of every recording (trains and aligns if not cached)."""
        folder = self.fold_dir(f)
        folder.mkdir(parents=True, exist_ok=True)
        return prepare_fold(self.utts, self.folds[f], folder, self.frames, self.recipe, self.log)

    def predict_fold(self, f: int, scorer: str, out_dir: str | Path, seed: int = 0) -> dict[str, Utterance]:
        """Fold f's predictions by ``scorer``, cached as ``out_dir/folds/fold<f>.jsonl``."""
        from lmm_apa.eval.predictions import read_predictions, write_predictions

        path = Path(out_dir) / "folds" / f"fold{f}.jsonl"
        if path.is_file():
            return read_predictions(path)
        alignments = self.alignments(f)
        held = {u.utt_id for u in self.folds[f]}
        training = [u for u in self.utts if u.utt_id not in held]
        t0 = time.perf_counter()
        preds = score_fold(scorer, training, self.folds[f], alignments, self.frames, seed=seed)
        seconds = round(time.perf_counter() - t0, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda p: write_predictions(preds, p, meta={"scorer": scorer, "fold": f}))
        (path.with_suffix(".json")).write_text(
            json.dumps({"scorer": scorer, "seed": seed, "seconds": seconds})
        )
        self.log(f"fold{f}: {scorer} fit and predicted in {seconds} s")
        return {u.utt_id: u for u in preds}

    def run(
        self, scorer: str, out_dir: str | Path, seed: int = 0, folds: Sequence[int] | None = None
    ) -> dict[str, Utterance]:
        """Out-of-fold predictions of every recording (the folds asked for), {utt_id: Utterance}."""
        oof: dict[str, Utterance] = {}
        for f in folds if folds is not None else range(self.k):
            oof |= self.predict_fold(f, scorer, out_dir, seed=seed)
        return oof

    def fold_of(self) -> dict[str, int]:
        return {u.utt_id: f for f, us in enumerate(self.folds) for u in us}
