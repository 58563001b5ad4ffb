"""The paper's experiments at the shipped budget, and a rank-aware variant, on dev25.

    nohup env OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 .venv/bin/python bench/paper_experiments.py \\
        --reuse simpo_ce=runs/listen1 > runs/paper_experiments.log 2>&1 &

Every variant is configs/cpu_listen.yaml (the recipe: SimPO + CE, multi-granularity, three
rejected answers, the aligner's evidence at every slot, 20% unsaid-text copies, train-minus-dev25)
with one change, trained for the config's own budget (``--steps``, default its max_steps):

- ``simpo_ce``   the recipe itself (``--reuse simpo_ce=runs/listen1``: that run is the same training)
- ``ce``         CE only (the paper's SFT baseline)
- ``sentence`` / ``word`` / ``phone``  single-granularity models, each scored on its own level
- ``k1``         one rejected answer instead of three
- ``no_unsaid``  without the unsaid-text training copies
- ``rank``       + the ranking term over the slots' expected scores (``train.rank_weight``,
  lmm_apa.train.rank): with one utterance a micro-batch, its pairs are an utterance's words and
  phones
- ``rank_b4``    the same with 4 utterances a micro-batch and 2 accumulated (8 a step, as the
  recipe; the same utterances in the same order): sentence aspects get pairs across utterances
- ``swap``       rejected answers that trade two words' (or phones') scores: SimPO on order
  (``data.rejected_kind``, lmm_apa.tasks.pairs)

Each variant's final adapter is scored one-pass, listening on (the adapter's own scores merged with
what the aligner heard; no blend), on ``--dev-utts`` dev25 recordings (all 500 by default), with
PCC / SCC / RMSE, the SCC cap and speaker-bootstrap 95% CIs, and against ``simpo_ce`` the paired
bootstrap interval of each difference. Results go to ``--out`` (table.md, table.csv, one json and
one predictions file per variant); runs to ``--runs``/<variant>.

Resumable: a variant whose result exists is skipped, an interrupted one resumes from its last
checkpoint (every 20 steps), and the table is rewritten after every variant, an unfinished one
showing the steps it reached. Kill it at any time and start it again. ``--dry-run`` prints the
plan and its cost; ``--table-only`` writes the table from what exists; ``--set`` adds overrides to
every variant (the test runs a tiny backbone that way).
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import re
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASE = "simpo_ce"
VARIANTS: dict[str, tuple[list[str], str]] = {
    "simpo_ce": ([], "the recipe: SimPO + CE, multi, 3 rejected, evidence, unsaid copies"),
    "ce": (["train.loss_type=ce"], "CE only"),
    "sentence": (["data.task=sentence"], "sentence-only task"),
    "word": (["data.task=word"], "word-only task"),
    "phone": (["data.task=phone"], "phone-only task"),
    "k1": (["data.n_rejected=1"], "1 rejected answer"),
    "no_unsaid": (["data.unsaid_rate=0"], "no unsaid-text copies"),
    "rank": (["train.rank_weight=1.0"], "+ ranking term (words, phones within an utterance)"),
    "rank_b4": (
        ["train.rank_weight=1.0", "train.batch_size=4", "train.grad_accum=2"],
        "+ ranking term, 4 utterances a micro-batch (sentences ranked across them too)",
    ),
    "swap": (["data.rejected_kind=swap"], "rejected answers = two scores in the wrong order"),
}
COLUMNS: list[tuple[str, str, str]] = [
    ("sentence", "accuracy", "sent acc"),
    ("sentence", "fluency", "fluency"),
    ("sentence", "prosodic", "prosodic"),
    ("sentence", "total", "sent total"),
    ("word", "accuracy", "word acc"),
    ("word", "stress", "stress"),
    ("word", "total", "word total"),
    ("phone", "accuracy", "phone"),
]
# Config keys that may differ between a reused run and its variant without changing the training.
NOT_TRAINING = {"train.output_dir", "train.precision", "train.tensorboard", "train.log_every",
                "train.save_every", "train.keep_last", "data.corpus_dir", "data.feature_cache"}  # fmt: skip


def variant_config(name: str, run_dir: Path, args: argparse.Namespace) -> Any:
    from lmm_apa.train.config import load_config

    overrides = [*VARIANTS[name][0], f"train.max_steps={args.steps}", f"train.output_dir={run_dir}"]
    if args.data:
        overrides.append(f"data.corpus_dir={args.data}")
    return load_config(args.config, [*overrides, *args.set])


def steps_reached(run_dir: Path) -> int:
    """The step of the run's latest checkpoint (the last step is always checkpointed), 0 if none."""
    from lmm_apa.train.checkpoint import latest_checkpoint

    ckpt = latest_checkpoint(run_dir)
    return int(re.sub(r"\D", "", ckpt.name)) if ckpt is not None else 0


def is_done(run_dir: Path, steps: int) -> bool:
    return (run_dir / "final" / "lmm_apa_adapter.json").is_file() and steps_reached(run_dir) >= steps


def step_seconds(run_dir: Path, steps: int) -> float:
    """Seconds of the optimizer steps 1..steps from the run's log (a step redone after a resume counts
    once, its last time): training time without feature caching and start-up."""
    from lmm_apa.train.log import read_log

    path = run_dir / "log.jsonl"
    if not path.is_file():
        return 0.0
    per_step = {r["step"]: r["s_per_step"] for r in read_log(path) if "s_per_step" in r}
    return sum(s for k, s in per_step.items() if k <= steps)


def train_precision(run_dir: Path) -> str | None:
    """The precision the run trained in (its saved config holds the resolved one), None if unknown."""
    import yaml

    path = run_dir / "config.yaml"
    return (yaml.safe_load(path.read_text()).get("train") or {}).get("precision") if path.is_file() else None


def config_differences(run_dir: Path, cfg: Any) -> list[str]:
    """Training keys where a reused run's saved config differs from the variant's."""
    import yaml

    from lmm_apa.train.config import ConfigError, from_dict

    path = run_dir / "config.yaml"
    saved = yaml.safe_load(path.read_text()) if path.is_file() else {}
    try:  # through the config classes: keys added since (at their defaults), legacy spellings agree
        saved = from_dict(saved).to_dict()
    except ConfigError as e:
        return [f"{path}: {e}"]
    want = cfg.to_dict()
    diffs = []
    for section, fields in want.items():
        for key, value in fields.items():
            dotted = f"{section}.{key}"
            have = (saved.get(section) or {}).get(key, "<missing>")
            if dotted not in NOT_TRAINING and have != value:
                diffs.append(f"{dotted}: run {have!r}, variant {value!r}")
    return diffs


def score_adapter(adapter: Path, dev: list, args: argparse.Namespace) -> tuple[dict, Any, float]:
    """One-pass scores of ``adapter`` on ``dev`` (listening on), the metrics and the seconds it took."""
    from lmm_apa.eval.report import evaluate_predictions
    from lmm_apa.infer.batch import predict_utterances
    from lmm_apa.infer.scorer import load_scorer

    scorer = load_scorer(adapter, mode="onepass", precision=args.precision)
    start = time.perf_counter()
    batch = predict_utterances(scorer, dev, progress=False)
    seconds = time.perf_counter() - start
    del scorer
    gc.collect()
    return evaluate_predictions(dev, batch.predictions, n_boot=args.n_boot), batch, seconds


def run_variant(name: str, run_dir: Path, dev: list, args: argparse.Namespace) -> dict:
    """Train (or resume, or reuse) one variant, then score its final adapter; its result record."""
    from lmm_apa.eval.predictions import write_predictions
    from lmm_apa.train.loop import train

    cfg = variant_config(name, run_dir, args)
    record: dict[str, Any] = {"variant": name, "overrides": VARIANTS[name][0], "task": cfg.data.task}
    if name in args.reuse:
        record["reused"] = str(run_dir)
        record["config_differences"] = config_differences(run_dir, cfg)
        for d in record["config_differences"]:
            print(f"   warning: {run_dir} differs from variant {name}: {d}", flush=True)
    if not is_done(run_dir, args.steps):
        start = time.perf_counter()
        train(cfg, resume=True, progress=False)
        record["wall_s_last_session"] = time.perf_counter() - start
    metrics, batch, score_s = score_adapter(run_dir / "final", dev, args)
    preds = Path(args.out) / f"{name}.predictions.jsonl"
    write_predictions(batch.predictions.values(), preds)
    record |= {
        "status": "done",
        "steps": steps_reached(run_dir),
        "max_steps": args.steps,
        "utterances_seen": steps_reached(run_dir) * cfg.train.grad_accum * cfg.train.batch_size,
        "train_s": step_seconds(run_dir, args.steps),
        # fp32 where the CPU has no bf16 units: steps are slower and the numbers round differently
        "train_precision": train_precision(run_dir),
        "score_precision": args.precision,
        "score_s": score_s,
        "dev_utts": len(dev),
        "not_scored": batch.errors,
        "predictions": preds.name,
        "metrics": metrics,
    }
    return record


def rescore(spec: str, dev: list, args: argparse.Namespace) -> None:
    """A variant's adapter scored again at another precision (e.g. fp32 on a CPU without bf16 units,
    beside a record scored in bf16); compare with bench/compare_predictions.py."""
    from lmm_apa.eval.predictions import write_predictions

    name, _, adapter = spec.partition("=")
    metrics, batch, seconds = score_adapter(Path(adapter), dev, args)
    stem = f"{name}.{args.precision}"
    preds = Path(args.out) / f"{stem}.predictions.jsonl"
    write_predictions(batch.predictions.values(), preds)
    record = {"variant": name, "adapter": adapter, "score_precision": args.precision, "score_s": seconds,
              "dev_utts": len(dev), "not_scored": batch.errors, "metrics": metrics}  # fmt: skip
    (Path(args.out) / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"{name} scored at {args.precision} in {seconds:.0f} s -> {preds}", flush=True)


def unfinished(name: str, run_dir: Path, args: argparse.Namespace) -> dict:
    steps = steps_reached(run_dir)
    return {"variant": name, "status": "unfinished" if steps else "not started", "steps": steps,
            "max_steps": args.steps, "train_s": step_seconds(run_dir, args.steps)}  # fmt: skip


def measured_s_per_step(out: Path, fallback: float = 24.0) -> float:
    """The median seconds a step of the variants done so far (2 CPU cores, bf16: 24-32 s for SimPO
    with three rejected answers), for --dry-run's estimate."""
    import statistics

    per = []
    for path in out.glob("*.json"):
        r = json.loads(path.read_text())
        if isinstance(r, dict) and r.get("status") == "done" and r.get("steps"):
            per.append(r["train_s"] / r["steps"])
    return statistics.median(per) if per else fallback


def _cell(m: dict | None, stat: str) -> str:
    if not m or m.get(stat) is None:
        return "—"
    v = m[stat]
    if stat in ("pcc", "scc") and m.get(f"{stat}_ci"):
        lo, hi = m[f"{stat}_ci"]
        return f"{v:.2f} [{lo:.2f},{hi:.2f}]"
    return f"{v:.2f}"


def _levels(r: dict) -> tuple[str, ...]:
    from lmm_apa.tasks.answer import TASK_LEVELS

    return TASK_LEVELS[r.get("task", "multi")]


def metric_of(r: dict, g: str, a: str) -> dict | None:
    """A variant's metrics of one aspect; none outside its task's levels (a single-granularity
    model is judged on its own level: the others are what the aligner alone put there)."""
    if r.get("status") != "done" or g not in _levels(r):
        return None
    return r["metrics"][g][a]


def wide(results: list[dict], render) -> list[str]:
    lines = ["| variant | " + " | ".join(c for _, _, c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for r in results:
        if r.get("status") != "done":
            lines.append(f"| {r['variant']} | " + " | ".join("—" for _ in COLUMNS) + " |")
            continue
        lines.append(f"| {r['variant']} | " + " | ".join(render(r, g, a) for g, a, _ in COLUMNS) + " |")
    return lines


def differences(results: list[dict], dev: list, args: argparse.Namespace) -> dict[str, dict]:
    """Each done variant against the base, paired over speakers; cached next to the results (the
    base's predictions file's mtime is the key, so a rescored base recomputes them)."""
    from lmm_apa.eval.compare import paired_differences
    from lmm_apa.eval.predictions import read_predictions

    out = Path(args.out)
    base = next((r for r in results if r["variant"] == BASE and r.get("status") == "done"), None)
    if base is None:
        return {}
    base_path = out / base["predictions"]
    stamp = base_path.stat().st_mtime
    base_preds, found = None, {}
    for r in results:
        if r["variant"] == BASE or r.get("status") != "done":
            continue
        cache = out / f"{r['variant']}.vs_{BASE}.json"
        if cache.is_file() and (c := json.loads(cache.read_text())).get("base_mtime") == stamp:
            found[r["variant"]] = c["diff"]
            continue
        base_preds = base_preds or read_predictions(base_path)
        diff = paired_differences(dev, base_preds, read_predictions(out / r["predictions"]), args.n_boot)
        cache.write_text(json.dumps({"base_mtime": stamp, "diff": diff}, indent=1) + "\n")
        found[r["variant"]] = diff
    return found


def write_table(results: list[dict], dev: list, args: argparse.Namespace) -> str:
    out = Path(args.out)
    diffs = differences(results, dev, args)
    speakers = len({u.speaker for u in dev})
    lines = [
        f"Base: {Path(args.config).name}, each variant one change; {args.steps} steps x 8 = "
        f"{args.steps * 8} training utterances each. One-pass scores of each final adapter, listening "
        f"on (its own scores, no blend), on {len(dev)} dev25 recordings ({speakers} speakers); "
        f"95% speaker-bootstrap intervals ({args.n_boot} resamples). `python bench/paper_experiments.py`.",
        "",
        "| variant | change | steps | train s | s/step | precision (train/score) | scored |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        steps = f"{r['steps']}/{r['max_steps']}" + ("" if r.get("status") == "done" else f" ({r['status']})")
        per = f"{r['train_s'] / r['steps']:.1f}" if r.get("steps") else "—"
        scored = f"{r['dev_utts'] - len(r['not_scored'])}" if r.get("status") == "done" else "—"
        reused = f" (reused {r['reused']})" if r.get("reused") else ""
        change = VARIANTS[r["variant"]][1] + reused
        prec = "—"
        if r.get("status") == "done":
            prec = f"{r.get('train_precision') or '?'}/{r.get('score_precision') or '?'}"
        cells = [r["variant"], change, steps, f"{r['train_s']:.0f}", per, prec, scored]
        lines.append("| " + " | ".join(cells) + " |")
    caps = next((r["metrics"] for r in results if r.get("status") == "done"), None)
    lines += ["", "PCC [95% CI]", "", *wide(results, lambda r, g, a: _cell(metric_of(r, g, a), "pcc"))]

    def scc(r: dict, g: str, a: str) -> str:
        m = metric_of(r, g, a)
        if not m or m.get("scc") is None:
            return "—"
        return _cell(m, "scc") + (f" ({m['scc_of_cap']:.2f})" if m.get("scc_of_cap") is not None else "")

    lines += ["", "SCC [95% CI] (SCC / cap)", "", *wide(results, scc)]
    if caps:
        lines.append("| *cap* | " + " | ".join(_cell(caps[g][a], "scc_cap") for g, a, _ in COLUMNS) + " |")
    lines += ["", "RMSE", "", *wide(results, lambda r, g, a: _cell(metric_of(r, g, a), "rmse"))]
    if diffs:

        def delta(stat: str):
            def render(r: dict, g: str, a: str) -> str:
                if r["variant"] == BASE or g not in _levels(r):
                    return "—"
                return _cell(diffs.get(r["variant"], {}).get(g, {}).get(a), stat)

            return render

        others = [r for r in results if r["variant"] in diffs]
        for stat in ("pcc", "scc"):
            title = f"{stat.upper()} minus {BASE}'s [paired 95% CI: the same speakers resampled for both]"
            lines += ["", title, "", *wide(others, delta(stat))]
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text)
    write_csv(results, diffs, out / "table.csv")
    return text


def write_csv(results: list[dict], diffs: dict, path: Path) -> None:
    """Every number of the table, one row per variant and aspect."""
    from lmm_apa.data.records import ASPECTS

    head = ["variant", "status", "steps", "train_s", "granularity", "aspect", "n", "pcc", "pcc_lo", "pcc_hi",
            "scc", "scc_lo", "scc_hi", "scc_cap", "scc_of_cap", "rmse", "d_pcc", "d_pcc_lo", "d_pcc_hi",
            "d_scc", "d_scc_lo", "d_scc_hi"]  # fmt: skip
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        for r in results:
            for g, aspects in ASPECTS.items():
                for a in aspects:
                    m = metric_of(r, g, a) or {}
                    d = diffs.get(r["variant"], {}).get(g, {}).get(a) or {}

                    def ci(x: dict, k: str) -> list:
                        return list(x.get(f"{k}_ci") or [None, None])

                    row = [r["variant"], r.get("status"), r.get("steps"), round(r.get("train_s", 0), 1), g, a]
                    row += [m.get("n"), m.get("pcc"), *ci(m, "pcc"), m.get("scc"), *ci(m, "scc")]
                    row += [m.get("scc_cap"), m.get("scc_of_cap"), m.get("rmse")]
                    w.writerow(row + [d.get("pcc"), *ci(d, "pcc"), d.get("scc"), *ci(d, "scc")])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="Speechocean762 folder (default: the config's or ../shared)")
    p.add_argument("--config", default=str(ROOT / "configs" / "cpu_listen.yaml"))
    p.add_argument(
        "--steps", type=int, default=None, help="optimizer steps per variant (default: the config's)"
    )
    p.add_argument(
        "--dev-utts", type=int, default=500, help="dev25 recordings scored (speaker-spread sample)"
    )
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--precision", default="auto", help="scoring precision: auto | fp32 | bf16")
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    what = "a run that already is this variant's training: evaluated, not retrained (resumed if unfinished)"
    p.add_argument("--reuse", nargs="*", default=[], metavar="VARIANT=RUN_DIR", help=what)
    p.add_argument(
        "--set", nargs="*", default=[], metavar="SECTION.KEY=VALUE", help="overrides for every variant"
    )
    p.add_argument("--runs", default=str(ROOT / "runs" / "paper_experiments"))
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "paper_experiments"))
    p.add_argument(
        "--s-per-step",
        type=float,
        default=None,
        help="for --dry-run's estimate (default: the median of the variants done, else 24: runs/listen1)",
    )
    p.add_argument(
        "--rescore",
        default=None,
        metavar="VARIANT=ADAPTER",
        help="score ADAPTER (a variant's final adapter) again at --precision into "
        "<out>/VARIANT.<precision>.predictions.jsonl and .json: how much the scoring precision alone moves",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan and its cost; train nothing")
    p.add_argument(
        "--table-only", action="store_true", help="write the table from what exists; train nothing"
    )
    args = p.parse_args(argv)
    reuse = {}
    for item in args.reuse:
        name, sep, path = item.partition("=")
        if not sep or name not in VARIANTS:
            p.error(f"--reuse takes VARIANT=RUN_DIR with VARIANT one of {list(VARIANTS)}, got {item!r}")
        reuse[name] = Path(path)
    args.reuse = reuse
    from lmm_apa.models.precision import resolve_precision

    try:  # what "auto" is on this machine, once
        args.precision = resolve_precision(args.precision).name
    except ValueError as e:
        p.error(str(e))
    if args.steps is None:
        from lmm_apa.train.config import load_config

        args.steps = load_config(args.config).train.max_steps or p.error("the config has no train.max_steps")
    return args


def main(argv: list[str] | None = None) -> None:
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import spread_sample
    from lmm_apa.train.data import default_corpus_dir

    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run_dirs = {n: args.reuse.get(n, Path(args.runs) / n) for n in args.variants}
    if args.dry_run:
        if args.s_per_step is None:
            args.s_per_step = measured_s_per_step(out)
        left = 0
        for name in args.variants:
            run_dir, done = run_dirs[name], (out / f"{name}.json").is_file()
            reached = steps_reached(run_dir)
            todo = 0 if done or is_done(run_dir, args.steps) else args.steps - min(reached, args.steps)
            left += todo
            state = "done" if done else f"trained {reached}/{args.steps}"
            print(f"{name:10s} {state:18s} {todo * args.s_per_step / 60:6.0f} min to train  "
                  f"{' '.join(VARIANTS[name][0]) or '(base)'}  -> {run_dir}")  # fmt: skip
        hours = left * args.s_per_step / 3600
        scoring = args.dev_utts / 2 / 60  # ~2 recordings/s one-pass with the aligner, bf16, 2 cores
        print(
            f"{left} steps to train, ~{hours:.1f} h at {args.s_per_step:.0f} s a step, plus per variant "
            f"~{scoring:.0f} min of scoring and, once per task, the feature and evidence cache"
        )
        return
    dev = spread_sample(load_split(args.data or default_corpus_dir(), "dev25"), args.dev_utts)
    if args.rescore:
        rescore(args.rescore, dev, args)
        return
    results: list[dict] = []
    for name in args.variants:
        path = out / f"{name}.json"
        done = json.loads(path.read_text()) if path.is_file() else None
        if done is not None and (done["max_steps"], done["dev_utts"]) == (args.steps, len(dev)):
            results.append(done)
            continue
        if args.table_only:
            results.append(unfinished(name, run_dirs[name], args))
            continue
        print(f"== {name}: {' '.join(VARIANTS[name][0]) or '(base)'} -> {run_dirs[name]}", flush=True)
        r = run_variant(name, run_dirs[name], dev, args)
        path.write_text(json.dumps(r, indent=2) + "\n")
        results.append(r)
        print(
            f"   {r['steps']} steps, {r['train_s']:.0f} s of steps; scored in {r['score_s']:.0f} s",
            flush=True,
        )
        # the table so far, with the variants still to come as not started / unfinished
        rest = [unfinished(n, run_dirs[n], args) for n in args.variants[len(results) :]]
        write_table(results + rest, dev, args)
    print(write_table(results, dev, args))


if __name__ == "__main__":
    main()
