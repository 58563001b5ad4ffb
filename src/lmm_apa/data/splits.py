"""A speaker-disjoint dev split carved from train, for model selection (never select on test).

Speechocean762 is half children, half adults, and children score differently, so the dev speakers are
drawn separately from each age group: the dev set then has both, in about the corpus' proportions.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from lmm_apa.data.records import Utterance
from lmm_apa.errors import DataError

# Speechocean762's speakers are 6-15 or 19+ years old; below 16 is a child.
CHILD_MAX_AGE = 15


def age_group(age: int | None) -> str:
    if age is None:
        return "unknown"
    return "child" if age <= CHILD_MAX_AGE else "adult"


def train_dev_split(
    utts: list[Utterance], dev_fraction: float = 0.1, seed: int = 0
) -> tuple[list[Utterance], list[Utterance]]:
    """Split into (train, dev) by speaker, about `dev_fraction` of the utterances in dev.

    Same input and seed give the same split, whatever order the utterances come in; each list keeps
    the input's order. Within each age group, shuffled speakers go to dev until the group's share of
    utterances is reached; a group always keeps a speaker in train, and each group with two or more
    speakers gives at least one to dev.
    """
    if not 0.0 < dev_fraction < 1.0:
        raise ValueError(f"dev_fraction must be in (0, 1), got {dev_fraction}")
    by_speaker: dict[str, list[Utterance]] = defaultdict(list)
    for u in utts:
        if u.speaker is None:
            raise DataError(f"utterance {u.utt_id} has no speaker: cannot split by speaker")
        by_speaker[u.speaker].append(u)
    if len(by_speaker) < 2:
        raise DataError(f"need at least 2 speakers for a speaker-disjoint split, got {len(by_speaker)}")

    groups: dict[str, list[str]] = defaultdict(list)
    for spk in sorted(by_speaker):
        # A speaker's age is the same on all their utterances; the first one stands for all.
        groups[age_group(by_speaker[spk][0].age)].append(spk)

    rng = random.Random(seed)
    dev_speakers: set[str] = set()
    for name in sorted(groups):
        speakers = groups[name]
        rng.shuffle(speakers)
        target = dev_fraction * sum(len(by_speaker[s]) for s in speakers)
        taken = 0
        for spk in speakers[:-1]:  # never the whole group: train keeps each age group too
            n = len(by_speaker[spk])
            # Stop where adding this speaker would overshoot the target more than stopping undershoots.
            if taken and taken + n - target > target - taken:
                break
            dev_speakers.add(spk)
            taken += n
    if not dev_speakers:
        raise DataError("no age group has two speakers, so none can go to dev without emptying train")

    train = [u for u in utts if u.speaker not in dev_speakers]
    dev = [u for u in utts if u.speaker in dev_speakers]
    return train, dev


# "dev" and "train-minus-dev" are the speaker-disjoint parts of train made by `train_dev_split`.
# "dev25" is the larger dev split (a fifth of train: about 25 of its 125 speakers): 13 dev speakers
# overstated held-out sentence PCCs by 0.06-0.13, too few to choose or report on. With the same
# seed it holds every "dev" speaker (speakers are taken in one shuffled order until the share is
# reached), so a model trained on train-minus-dev25 has not seen "dev" either.
SPLITS: tuple[str, ...] = ("test", "train", "dev", "train-minus-dev", "dev25", "train-minus-dev25")
LARGE_DEV_FRACTION = 0.2


def load_split(data_dir: str | Path, split: str, dev_fraction: float = 0.1, seed: int = 0) -> list[Utterance]:
    """The labelled utterances of ``split`` (one of `SPLITS`), sorted by utt_id."""
    from lmm_apa.data.speechocean import load_speechocean762

    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if split in ("test", "train"):
        utts = load_speechocean762(data_dir, split=split)
    else:
        fraction = LARGE_DEV_FRACTION if split.endswith("dev25") else dev_fraction
        train, dev = train_dev_split(load_speechocean762(data_dir, split="train"), fraction, seed)
        utts = dev if split.startswith("dev") else train
    return sorted(utts, key=lambda u: u.utt_id)


def speaker_folds(utts: list[Utterance], k: int = 5, seed: int = 0) -> list[list[Utterance]]:
    """``k`` speaker-disjoint folds covering ``utts``, for cross-validation over the whole of train.

    The speakers are sorted, shuffled with ``seed`` and dealt round robin (the i-th shuffled speaker
    goes to fold i mod k): every fold gets the same number of speakers, give or take one, and the
    same input and seed give the same folds whatever order the utterances come in. Balanced by
    speaker count, not by age group: Speechocean762 has 20 recordings a speaker, so utterance counts
    balance too, and five folds of 25 speakers draw both age groups without stratifying. Each fold
    keeps the input's order.
    """
    if k < 2:
        raise ValueError(f"need at least 2 folds, got {k}")
    speakers = set()
    for u in utts:
        if u.speaker is None:
            raise DataError(f"utterance {u.utt_id} has no speaker: cannot fold by speaker")
        speakers.add(u.speaker)
    if len(speakers) < k:
        raise DataError(f"{len(speakers)} speakers cannot fill {k} speaker-disjoint folds")
    order = sorted(speakers)
    random.Random(seed).shuffle(order)
    fold_of = {spk: i % k for i, spk in enumerate(order)}
    folds: list[list[Utterance]] = [[] for _ in range(k)]
    for u in utts:
        folds[fold_of[u.speaker]].append(u)
    return folds
