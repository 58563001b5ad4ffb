"""Does the aligner hear what was said? Scores from its evidence alone, and the listening checks.

    .venv/bin/python bench/evidence_readout.py --data ../shared/speechocean762 \\
        --out bench/results/evidence_readout [--save src/lmm_apa/weights/aligner]

1. Aligns every recording of train-minus-dev25 and dev25 (speaker-disjoint; dev25 is 25 speakers)
   with the phone recogniser (`--head`, trained on train-minus-dev25 only), fits the evidence
   readout (`lmm_apa.align.evidence_scorer`) on train-minus-dev25 (the same head's posteriors on its own
   training recordings: out-of-fold heads were tried and fail, as each head's pooled state has its
   own basis) and scores dev25 through the evaluation
   code of `lmm-apa evaluate`: PCC / SCC / RMSE with speaker-bootstrap CIs.
2. Listening checks on `--n-listen` dev25 recordings: scored against another dev recording's text
   (a different sentence), and cut after half their length (the words the full alignment puts after
   the cut were never said). Reports mean scores and how many words are flagged.
Encoder frames are cached under --cache (the same cache as `python -m lmm_apa.align.train_head`).
The fitting is the library's (`lmm_apa.align.fit`, also `lmm-apa align fit-readout`); this script
adds the report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    from lmm_apa.align.fit import fit_readout, listening_checks, readout_report
    from lmm_apa.align.head import DEFAULT_HEAD
    from lmm_apa.eval.report import evaluate_predictions

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--head", default=str(DEFAULT_HEAD))
    p.add_argument("--cache", default="runs/align/frames")
    p.add_argument("--save", default=None, help="write the fitted readout into this folder")
    p.add_argument("--n-listen", type=int, default=100)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="bench/results/evidence_readout", help="report: OUT.json and OUT.md")
    args = p.parse_args()

    fit = fit_readout(args.data, args.head, cache=args.cache, seed=args.seed)
    metrics = evaluate_predictions(fit.dev, fit.predictions, n_boot=args.n_boot)
    listen = listening_checks(fit, args.n_listen, args.seed)
    report = readout_report(fit, metrics, listen)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"args": vars(args), "align_seconds": fit.align_seconds, "metrics": metrics, "listening": listen}
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(report)
    print(report, end="")
    if args.save:
        fit.save(args.save, head=args.head)
        print(f"readout saved to {args.save}")


if __name__ == "__main__":
    main()
