"""The preference training set: one JSON line per (utterance, task) with prompt, chosen, rejected.

Fields: ``utt_id``, ``audio`` (path), ``task``, ``prompt`` (with the audio placeholder, not
chat-wrapped), ``chosen`` (the human scores), ``rejected`` (a string; a list of strings when more
than one rejected answer is asked for).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmm_apa.data import splits
from lmm_apa.data.records import Utterance
from lmm_apa.data.splits import SPLITS
from lmm_apa.errors import DataError
from lmm_apa.tasks.answer import TASKS, check_task, serialize
from lmm_apa.tasks.pairs import rejected_answers
from lmm_apa.tasks.prompts import build_prompt

# The named splits (`data.splits.SPLITS`) but test: training sets are never built from it.
TRAINING_SPLITS: tuple[str, ...] = tuple(s for s in SPLITS if s != "test")


def load_split(data_dir: str | Path, split: str, dev_fraction: float = 0.1, seed: int = 0) -> list[Utterance]:
    """The utterances of a split we may train on: never the test split."""
    if split not in TRAINING_SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(TRAINING_SPLITS)}")
    return splits.load_split(data_dir, split, dev_fraction=dev_fraction, seed=seed)


def make_record(
    utt: Utterance, task: str, n_rejected: int = 1, seed: int = 0, rejected_kind: str = "perturb"
) -> dict[str, Any]:
    """One training example; raises DataError when ``utt`` lacks a score the task needs.
    ``rejected_kind``: how the rejected answers are made (`pairs.rejected_answers`' ``kind``)."""
    try:
        chosen = serialize(utt, task)
        rejected = rejected_answers(utt, task, n=n_rejected, seed=seed, kind=rejected_kind)
    except ValueError as e:
        raise DataError(f"cannot build a {task} example: {e}") from e
    return {
        "utt_id": utt.utt_id,
        "audio": utt.audio_path,
        "task": task,
        "prompt": build_prompt(utt, task),
        "chosen": chosen,
        "rejected": rejected[0] if n_rejected == 1 else rejected,
    }


def make_unsaid_record(
    example: Any, task: str, n_rejected: int = 1, seed: int = 0, rejected_kind: str = "perturb"
) -> dict[str, Any]:
    """A training row from a `lmm_apa.tasks.unsaid.UnsaidExample`: the rule scores as chosen; first
    among the rejected, the scores of a reading that ignored the mismatch, then simulated ones."""
    record = make_record(example.utt, task, n_rejected, seed, rejected_kind)
    ignored = serialize(example.as_if_read, task)
    simulated = record["rejected"] if isinstance(record["rejected"], list) else [record["rejected"]]
    rejected = [ignored, *[r for r in simulated if r != ignored]][:n_rejected]
    record.update(
        audio=example.audio_path,
        rejected=rejected[0] if n_rejected == 1 else rejected,
        unsaid=example.kind,
    )
    if example.audio_end is not None:
        record["audio_end"] = round(example.audio_end, 3)
    return record


def unsaid_records(
    utts: Sequence[Utterance],
    tasks: Sequence[str],
    rate: float,
    seed: int = 0,
    n_rejected: int = 1,
    rejected_kind: str = "perturb",
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(`UnsaidExample`, its training row) for a ``rate`` share of ``utts``, every task of each in
    turn: the copies whose text was not (all) spoken (`lmm_apa.tasks.unsaid`), cut copies cut where
    the aligner ends a word. ``seed`` chooses the copies and seeds their rejected answers. Both
    routes to a training set (`build_dataset`, `train.data.corpus_sources`) take them from here."""
    from lmm_apa.align.frontend import Listener
    from lmm_apa.tasks.unsaid import aligned_word_ends, choose_unsaid

    # Chosen now, not when the rows are first read: a missing aligner fails before anything is written.
    unsaid = choose_unsaid(utts, rate, seed, aligned_word_ends(Listener()))
    return ((e, make_unsaid_record(e, t, n_rejected, seed, rejected_kind)) for e in unsaid for t in tasks)


def make_records(
    utts: Iterable[Utterance],
    tasks: Sequence[str],
    n_rejected: int = 1,
    seed: int = 0,
    rejected_kind: str = "perturb",
) -> Iterator[dict[str, Any]]:
    for task in tasks:
        check_task(task)
    for utt in utts:
        for task in tasks:
            yield make_record(utt, task, n_rejected, seed, rejected_kind)


@dataclass
class BuildSummary:
    count: int = 0
    tasks: Counter[str] = field(default_factory=Counter)
    prompt_chars: int = 0
    chosen_chars: int = 0

    def add(self, record: dict[str, Any]) -> None:
        self.count += 1
        self.tasks[record["task"]] += 1
        self.prompt_chars += len(record["prompt"])
        self.chosen_chars += len(record["chosen"])

    @property
    def mean_prompt_chars(self) -> float:
        return self.prompt_chars / self.count if self.count else 0.0

    @property
    def mean_answer_chars(self) -> float:
        return self.chosen_chars / self.count if self.count else 0.0


def write_jsonl(records: Iterable[dict[str, Any]], out: str | Path) -> BuildSummary:
    """Write ``records`` one per line (written to a temporary name first, so no half file is left)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    summary = BuildSummary()
    with tmp.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
            summary.add(record)
    tmp.replace(out)
    return summary


def build_dataset(
    data_dir: str | Path,
    out: str | Path,
    split: str = "train",
    tasks: Sequence[str] = ("multi",),
    n_rejected: int = 1,
    seed: int = 0,
    limit: int | None = None,
    dev_fraction: float = 0.1,
    split_seed: int = 0,
    unsaid_rate: float = 0.0,
    rejected_kind: str = "perturb",
) -> BuildSummary:
    """Load ``split``, keep the first ``limit`` utterances, write the JSONL training set.

    ``seed`` seeds the rejected answers and the unsaid copies; ``dev_fraction``/``split_seed`` the
    dev split. ``unsaid_rate``: the share of utterances that also get a copy whose text was not
    (all) spoken (`lmm_apa.tasks.unsaid`; cut copies are cut where the aligner ends a word).
    ``rejected_kind``: how the rejected answers are made (`pairs.REJECTED_KINDS`: perturbed scores,
    or two scores swapped).
    """
    from lmm_apa.tasks.pairs import REJECTED_KINDS

    if rejected_kind not in REJECTED_KINDS:
        raise DataError(f"unknown rejected kind {rejected_kind!r}; choose from {', '.join(REJECTED_KINDS)}")
    if n_rejected < 1:
        raise DataError(f"--n-rejected must be at least 1, got {n_rejected}")
    for task in tasks:
        if task not in TASKS:
            raise DataError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    utts = load_split(data_dir, split, dev_fraction=dev_fraction, seed=split_seed)
    if limit is not None:
        utts = utts[:limit]
    records = make_records(utts, tasks, n_rejected, seed, rejected_kind)
    if unsaid_rate > 0:
        from itertools import chain

        extra = unsaid_records(utts, tasks, unsaid_rate, seed, n_rejected, rejected_kind)
        records = chain(records, (row for _, row in extra))
    return write_jsonl(records, out)
