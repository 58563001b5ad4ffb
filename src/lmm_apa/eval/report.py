"""Evaluate predictions against a split's labels: compute, write metrics.json, print a table.

`lmm-apa evaluate` and scripts/reference_baseline.py go through `evaluate_predictions`; a command
that runs a model instead of reading a file calls it the same way with the parsed predictions.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lmm_apa.data.records import ASPECTS, SCALES, Utterance
from lmm_apa.eval.metrics import compute_metrics

# `--split` values: the corpus' own splits, and the speaker-disjoint dev split carved from train
# (model selection happens there, never on test) and what is left of train without it.


def spread_sample(utts: Sequence[Utterance], n: int, seed: int = 0) -> list[Utterance]:
    """``n`` utterances spread over speakers, the same for the same input and seed.

    Speakers are put in a seeded random order; each speaker's utterances are taken in utt_id order,
    one per speaker per round (round robin), so a small limit still covers many speakers. The result
    is sorted by utt_id.
    """
    if n >= len(utts):
        return sorted(utts, key=lambda u: u.utt_id)
    by_speaker: dict[str, list[Utterance]] = defaultdict(list)
    for u in sorted(utts, key=lambda u: u.utt_id):
        by_speaker[u.speaker or u.utt_id].append(u)
    speakers = sorted(by_speaker)
    random.Random(seed).shuffle(speakers)
    chosen: list[Utterance] = []
    depth = 0
    while len(chosen) < n:
        for spk in speakers:
            if depth < len(by_speaker[spk]) and len(chosen) < n:
                chosen.append(by_speaker[spk][depth])
        depth += 1
    return sorted(chosen, key=lambda u: u.utt_id)


def evaluate_predictions(
    labels: Sequence[Utterance],
    preds: Mapping[str, Utterance],
    n_boot: int = 1000,
    seed: int = 0,
    config: Mapping[str, Any] | None = None,
    parse_failures: int | None = None,
) -> dict[str, Any]:
    """metrics.json's content: metrics per granularity/aspect, pairing bookkeeping, ``config``."""
    metrics = compute_metrics(labels, preds, n_boot=n_boot, seed=seed)
    if parse_failures is not None:
        metrics["parse_failures"] = parse_failures
    metrics["config"] = {**(config or {}), "n_boot": n_boot, "bootstrap_seed": seed}
    return metrics


def write_metrics(metrics: Mapping[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    return path


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def print_metrics_table(metrics: Mapping[str, Any], console: Any = None) -> None:
    """A rich table: granularity, aspect, n, PCC [95% CI], SCC (cap), RMSE; then what was missing."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{metrics.get('n_utterances', '?')} utterances", box=box.SIMPLE_HEAD, pad_edge=False)
    for col, justify in [("level", "left"), ("aspect", "left"), ("n", "right"),
                         ("PCC [95% CI]", "right"), ("SCC (cap)", "right"), ("RMSE", "right")]:  # fmt: skip
        table.add_column(col, justify=justify, no_wrap=True)
    for granularity, aspects in ASPECTS.items():
        for aspect in aspects:
            m = metrics[granularity][aspect]
            if m["pcc"] is None:
                pcc = f"— {m.get('reason', '')}"
            else:
                ci = m["pcc_ci"]
                pcc = _fmt(m["pcc"]) + (f" [{_fmt(ci[0], 2)},{_fmt(ci[1], 2)}]" if ci else "")
            scc = _fmt(m["scc"]) + (f" ({_fmt(m['scc_cap'], 2)})" if m["scc_cap"] is not None else "")
            table.add_row(granularity, aspect, str(m["n"]), pcc, scc, _fmt(m["rmse"]))
    console.print(table)
    missing = metrics.get("missing", {})
    if any(missing.get(k) for k in ("utterances", "words", "phones")):
        console.print(
            f"[yellow]missing predictions:[/] {missing['utterances']} utterances, "
            f"{missing['words']} words, {missing['phones']} phones"
        )
    extra = metrics.get("extra", {})
    if extra.get("utterances"):
        console.print(
            f"[yellow]warning:[/] {extra['utterances']} predicted utterances are not in the evaluated "
            "split; they are ignored"
        )
    outside = _outside_scale_text(metrics)
    if outside:
        console.print(f"[yellow]predictions outside the scale[/] (used as they are, not clipped): {outside}")
    if metrics.get("mismatched_words"):
        console.print(f"[yellow]word text differs from the reference:[/] {metrics['mismatched_words']} words")
    if metrics.get("parse_failures"):
        console.print(f"[yellow]parse failures:[/] {metrics['parse_failures']}")


def _outside_scale_text(metrics: Mapping[str, Any]) -> str:
    """'phone accuracy 12 of 9319 above 2; word total 1 of 3134 below 0', or '' when none were."""
    parts = []
    for granularity, aspects in ASPECTS.items():
        for aspect in aspects:
            m = metrics[granularity][aspect]
            counts = m.get("outside_scale") or {}
            lo, hi = SCALES[(granularity, aspect)]
            for side, bound in (("below", lo), ("above", hi)):
                if counts.get(side):
                    parts.append(f"{granularity} {aspect} {counts[side]} of {m['n']} {side} {bound:g}")
    return "; ".join(parts)


def evaluate_file(
    labels: Sequence[Utterance],
    predictions_path: str | Path,
    metrics_out: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    console: Any = None,
) -> dict[str, Any]:
    """Read a predictions file, evaluate it, write metrics.json (if asked) and print the table."""
    from rich.console import Console

    from lmm_apa.eval.predictions import read_predictions

    console = console or Console()
    preds = read_predictions(predictions_path)
    config = {**(config or {}), "predictions": str(predictions_path)}
    metrics = evaluate_predictions(labels, preds, n_boot=n_boot, seed=seed, config=config)
    if metrics_out is not None:
        write_metrics(metrics, metrics_out)
    print_metrics_table(metrics, console=console)
    return metrics
