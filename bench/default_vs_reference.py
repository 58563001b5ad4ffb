"""The shipped default model's dev metrics next to the reference predictor's, in one run.

    .venv/bin/python bench/default_vs_reference.py --data ../shared/speechocean762 \
        --out bench/results/default_vs_reference

Both are evaluated on the whole speaker-disjoint dev split (seed 0) by the code of `lmm-apa
evaluate`: the reference predictor (ridge on acoustic statistics, fit on train-minus-dev; see
scripts/reference_baseline.py) and the shipped default model (one-pass expected scores, or --mode).
The paper's Speechocean762 *test* PCCs (Qwen2-Audio-7B, SimPO+CE) are printed beside them as the
targets; they are not dev numbers, so compare with care. Writes JSON and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lmm_apa.data.splits import load_split
from lmm_apa.eval.baseline import BaselinePredictor, extract_features
from lmm_apa.eval.report import evaluate_predictions

# arXiv 2509.15701, Speechocean762 test, the paper's best 7B model (PCC).
PAPER_PCC = {
    "phone.accuracy": 0.38,
    "word.accuracy": 0.51,
    "word.stress": 0.11,
    "word.total": 0.52,
    "sentence.accuracy": 0.69,
    "sentence.fluency": 0.74,
    "sentence.prosodic": 0.73,
    "sentence.total": 0.72,
}


def flat(metrics: dict) -> dict[str, dict]:
    return {f"{g}.{a}": metrics[g][a] for g in ("sentence", "word", "phone") for a in metrics[g]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "speechocean762"))
    p.add_argument("--model", default="default")
    p.add_argument("--mode", default="onepass")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--out", default="bench/results/default_vs_reference")
    args = p.parse_args()

    train, dev = load_split(args.data, "train-minus-dev"), load_split(args.data, "dev")
    inputs = [u.unlabelled() for u in dev]
    reference = BaselinePredictor().fit(train, extract_features(train))
    ref_preds = {u.utt_id: u for u in reference.predict(inputs, extract_features(inputs))}
    ref = evaluate_predictions(dev, ref_preds, n_boot=args.n_boot)

    from lmm_apa.infer.batch import predict_utterances
    from lmm_apa.infer.scorer import load_scorer

    scorer = load_scorer(args.model, mode=args.mode)
    start = time.perf_counter()
    batch = predict_utterances(scorer, dev)
    seconds = time.perf_counter() - start
    failures = batch.parse_failures
    model = evaluate_predictions(dev, batch.predictions, n_boot=args.n_boot, parse_failures=failures)

    rows, r, m = [], flat(ref), flat(model)
    lines = [
        f"dev split: {len(dev)} utterances; model {args.model} ({args.mode}), scored in {seconds:.0f} s",
        "",
        "| aspect | n | reference PCC | model PCC [95% CI] | model SCC (cap) | model RMSE | paper test PCC |",
        "|---|---|---|---|---|---|---|",
    ]
    fmt = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
    for key in m:
        ci = m[key].get("pcc_ci")
        ci_s = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
        lines.append(
            f"| {key} | {m[key]['n']} | {fmt(r[key]['pcc'])} | {fmt(m[key]['pcc'])}{ci_s} | "
            f"{fmt(m[key]['scc'])} ({fmt(m[key].get('scc_cap'))}) | {fmt(m[key]['rmse'])} | "
            f"{fmt(PAPER_PCC.get(key))} |"
        )
        paper = PAPER_PCC.get(key)
        rows.append({"aspect": key, "reference": r[key], "model": m[key], "paper_test_pcc": paper})
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"args": vars(args), "seconds": seconds, "not_scored": batch.errors, "rows": rows}
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
