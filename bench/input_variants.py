"""The LMM's inputs side by side at an equal budget: does the phone level fail on segmentation or on
representation? (issue "The LMM hears", item 5)

    OMP_NUM_THREADS=2 .venv/bin/python bench/input_variants.py --steps 60
    OMP_NUM_THREADS=2 .venv/bin/python bench/input_variants.py --steps 150 ...   # the full budget, later

Every variant is configs/cpu_listen.yaml (the shipped recipe, the unsaid-text training copies,
train-minus-dev25) with one change, what each score slot reads besides the audio tokens and text
(`data.evidence`, `lmm_apa.tasks.slot_evidence`):

- ``a_audio``     none: today's block of audio tokens only (the paper's inputs);
- ``b_segments``  the forced-alignment inputs: the slot's aligned Whisper frames pooled, its duration
                  and whether it was said, no phone recogniser's judgement (segmentation only);
- ``c_evidence``  the recogniser's per-phone and per-word evidence (GOP statistics, phone-mass
                  shares, recogniser state, the readout's predictions below the slot);
- ``d_both``      b and c together.

Equal budget: each is trained to ``--steps`` optimizer steps of the same 150-step schedule (same
seed, same examples, same learning rate at every step), so a checkpoint of one run at step N is
comparable to another's at step N. Runs resume; a variant already scored at this step is skipped.
Scored on --limit dev25 recordings spread over its 25 speakers (none seen in training): the LMM's own
one-pass scores, not merged with the aligner's omission rules, so the table shows what the model
itself reads. Then the listening checks on --n-listen of them (another recording's text; cut after
half its length).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VARIANTS: dict[str, str] = {
    "a_audio": "none",
    "b_segments": "segments",
    "c_evidence": "gop",
    "d_both": "gop+segments",
}
KEYS = [("sentence", a) for a in ("accuracy", "completeness", "fluency", "prosodic", "total")]
KEYS += [("word", a) for a in ("accuracy", "stress", "total")] + [("phone", "accuracy")]


def adapter_at(run_dir: Path, step: int, max_steps: int) -> Path | None:
    if step >= max_steps and (run_dir / "final" / "lmm_apa_adapter.json").is_file():
        return run_dir / "final"
    ckpt = run_dir / "checkpoints" / f"step-{step:07d}" / "adapter"
    return ckpt if (ckpt / "lmm_apa_adapter.json").is_file() else None


def train_to(name: str, run_dir: Path, args: argparse.Namespace) -> tuple[Path, float]:
    from lmm_apa.train.config import load_config
    from lmm_apa.train.loop import train

    cfg = load_config(
        args.config,
        [f"data.evidence={VARIANTS[name]}", f"train.output_dir={run_dir}", f"data.corpus_dir={args.data}"],
    )
    # a checkpoint at the step asked for, whatever the config's save interval
    if cfg.train.max_steps % args.steps and args.steps < cfg.train.max_steps:
        cfg.train.save_every = min(cfg.train.save_every, args.steps)
    found = adapter_at(run_dir, args.steps, cfg.train.max_steps)
    if found is not None:
        return found, 0.0
    start = time.perf_counter()
    train(cfg, resume=True, progress=False, stop_after=min(args.steps, cfg.train.max_steps))
    seconds = time.perf_counter() - start
    found = adapter_at(run_dir, args.steps, cfg.train.max_steps)
    if found is None:
        raise SystemExit(f"{name}: no adapter at step {args.steps} in {run_dir} after training")
    return found, seconds


def train_seconds(run_dir: Path, step: int) -> float | None:
    """Summed optimizer-step time of the run's log up to ``step`` (across resumes)."""
    log = run_dir / "log.jsonl"
    if not log.is_file():
        return None
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    by_step = {r["step"]: r.get("s_per_step", 0.0) for r in rows if "s_per_step" in r}
    return float(sum(v for s, v in by_step.items() if s <= step))


class HeardCache:
    """The aligner's result per (recording, text, cut): the same for every variant, computed once."""

    def __init__(self, listener):
        self.listener, self.memo = listener, {}

    def __call__(self, key: tuple, wave: np.ndarray, ref):
        if key not in self.memo:
            self.memo[key] = self.listener.hear(wave, ref)
        return self.memo[key]


def lmm_scores(scorer, items: list[tuple], heard_of: HeardCache, batch: int = 8) -> list:
    """The LMM's own one-pass utterances for (key, ref, wave) items, in order."""
    out = []
    for i in range(0, len(items), batch):
        chunk = items[i : i + batch]
        feats, evidence = [], []
        for key, ref, wave in chunk:
            f, e = scorer.lmm_inputs(ref, wave, heard_of(key, wave, ref))
            feats.append(f)
            evidence.append(e)
        out += [r.utterance for r in scorer.readouts(feats, [ref for _, ref, _ in chunk], evidence)]
    return out


def score_variant(adapter: Path, dev: list, waves: dict, probes: list, heard_of: HeardCache, args) -> dict:
    from lmm_apa.eval.listening import cut_word_scores, other_text_scores
    from lmm_apa.eval.report import evaluate_predictions
    from lmm_apa.infer.scorer import load_scorer

    scorer = load_scorer(adapter, batch_size=8)
    t0 = time.perf_counter()
    items = [((u.utt_id, "own", 0), u.unlabelled(), waves[u.utt_id]) for u in dev]
    preds = dict(zip([u.utt_id for u in dev], lmm_scores(scorer, items, heard_of), strict=True))
    score_s = time.perf_counter() - t0
    metrics = evaluate_predictions(dev, preds, n_boot=args.n_boot)

    listen: dict[str, list[float]] = {}
    wrong = [((u.utt_id, "other", 0), other, waves[u.utt_id]) for u, other in probes]
    for pred in lmm_scores(scorer, wrong, heard_of):
        for key, values in other_text_scores(pred).items():
            listen.setdefault(key, []).extend(values)
    cut = [
        ((u.utt_id, "own", 1), u.unlabelled(), waves[u.utt_id][: len(waves[u.utt_id]) // 2])
        for u, _ in probes
    ]
    for (u, _), pred in zip(probes, lmm_scores(scorer, cut, heard_of), strict=True):
        wave = waves[u.utt_id]
        full = heard_of((u.utt_id, "own", 0), wave, u.unlabelled()).alignment
        for key, values in cut_word_scores(pred, full, len(wave) / 2 / 16000).items():
            listen.setdefault(key, []).extend(values)
    del scorer
    gc.collect()
    return {
        "metrics": metrics,
        "listening": {k: round(float(np.mean(v)), 3) for k, v in listen.items()},
        "score_s": score_s,
    }


def table(results: list[dict]) -> list[str]:
    def cells(r, fmt):
        return " | ".join(fmt(r["metrics"][g][a]) for g, a in KEYS)

    def pcc(m):
        ci = m.get("pcc_ci")
        return (
            "—"
            if m.get("pcc") is None
            else f"{m['pcc']:.3f} [{ci[0]:.2f},{ci[1]:.2f}]"
            if ci
            else f"{m['pcc']:.3f}"
        )

    def scc(m):
        if m.get("scc") is None:
            return "—"
        cap = m.get("scc_cap")
        return f"{m['scc']:.3f} ({m['scc'] / cap:.2f} of {cap:.2f})" if cap else f"{m['scc']:.3f}"

    def rmse(m):
        return "—" if m.get("rmse") is None else f"{m['rmse']:.3f}"

    head = "| variant | " + " | ".join(f"{g[:4]} {a[:5]}" for g, a in KEYS) + " |"
    rule = "|---" * (len(KEYS) + 1) + "|"
    lines = []
    for title, fmt in (
        ("PCC [95% speaker-bootstrap CI]", pcc),
        ("SCC (share of its cap, cap)", scc),
        ("RMSE", rmse),
    ):
        lines += ["", title, "", head, rule] + [f"| {r['variant']} | {cells(r, fmt)} |" for r in results]
    lines += [
        "",
        "Listening (means of the LMM's own scores): another recording's text (sentence accuracy, word"
        " accuracy); cut after half its length (words wholly before / after the cut)",
        "",
        "| variant | other text: sentence acc | other text: word acc | cut: said words | cut: unsaid words |"
        " train s to this step | scoring s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lst = r["listening"]
        ts = r.get("train_s")
        lines.append(
            f"| {r['variant']} | {lst.get('wrong_text.sentence_accuracy', float('nan')):.2f} | "
            f"{lst.get('wrong_text.word_accuracy', float('nan')):.2f} | "
            f"{lst.get('cut_half.said_word_accuracy', float('nan')):.2f} | "
            f"{lst.get('cut_half.unsaid_word_accuracy', float('nan')):.2f} | "
            f"{'—' if ts is None else f'{ts:.0f}'} | {r['score_s']:.0f} |"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "speechocean762"))
    p.add_argument("--config", default=str(ROOT / "configs" / "cpu_listen.yaml"))
    p.add_argument(
        "--steps", type=int, default=150, help="optimizer steps per variant (of the config's schedule)"
    )
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument(
        "--reuse", nargs="*", default=[], help="NAME=RUN_DIR: a run already trained with this config"
    )
    p.add_argument("--train-only", action="store_true", help="train (or resume) the variants, score none")
    p.add_argument("--limit", type=int, default=250, help="dev25 recordings, spread over its speakers")
    p.add_argument("--n-listen", type=int, default=40)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--runs", default=str(ROOT / "runs" / "input_variants"))
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "input_variants"))
    args = p.parse_args()
    reuse = dict(item.split("=", 1) for item in args.reuse)

    from lmm_apa.align.frontend import Listener
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import spread_sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    adapters: dict[str, tuple[Path, Path]] = {}
    for name in args.variants:
        run_dir = Path(reuse.get(name, Path(args.runs) / name))
        print(f"== {name} (data.evidence={VARIANTS[name]}): {run_dir}", flush=True)
        adapter, _ = train_to(name, run_dir, args)
        adapters[name] = (adapter, run_dir)
    if args.train_only:
        return

    dev = (
        spread_sample(load_split(args.data, "dev25"), args.limit)
        if args.limit
        else load_split(args.data, "dev25")
    )
    waves = {u.utt_id: load_audio(u.audio_path) for u in dev}
    rng = random.Random(0)
    sample = rng.sample(dev, min(args.n_listen, len(dev)))
    probes = [
        (u, next(v for v in sample[i + 1 :] + sample[:i] if v.text != u.text).unlabelled())
        for i, u in enumerate(sample)
    ]
    heard_of = HeardCache(Listener())
    results = []
    for name, (adapter, run_dir) in adapters.items():
        path = out / f"{name}.step{args.steps}.json"
        if path.is_file() and json.loads(path.read_text()).get("limit") == args.limit:
            results.append(json.loads(path.read_text()))
            continue
        print(f"== scoring {name} at step {args.steps}: {adapter}", flush=True)
        r = score_variant(adapter, dev, waves, probes, heard_of, args)
        r |= {
            "variant": name,
            "evidence": VARIANTS[name],
            "adapter": str(adapter),
            "steps": args.steps,
            "train_s": train_seconds(run_dir, args.steps),
            "limit": args.limit,
            "dev_utts": len(dev),
            "speakers": len({u.speaker for u in dev}),
        }
        path.write_text(json.dumps(r, indent=2) + "\n")
        results.append(r)
    lines = [
        f"Input variants at an equal budget: {args.steps} optimizer steps x 8 utterances of "
        f"{Path(args.config).name}'s schedule each; dev25, {len(dev)} recordings of "
        f"{len({u.speaker for u in dev})} speakers; the LMM's own one-pass scores.",
        *table(results),
    ]
    (out / f"table.step{args.steps}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
