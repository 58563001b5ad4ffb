"""Fit the non-LMM reference predictor on train-minus-dev, predict dev, and evaluate it.

    python scripts/reference_baseline.py --data /work/shared/speechocean762 --out runs/reference

Writes OUT/dev_predictions.jsonl and OUT/metrics.json (the same evaluation as
`lmm-apa evaluate --split dev --predictions OUT/dev_predictions.jsonl`), and prints the table.
About 15 s on 2 CPU cores (feature extraction reads the 2500 recordings once).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from lmm_apa.data.splits import load_split
from lmm_apa.eval.baseline import FEATURE_NAMES, BaselinePredictor, extract_features
from lmm_apa.eval.predictions import write_predictions
from lmm_apa.eval.report import evaluate_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="Speechocean762 folder")
    ap.add_argument("--out", type=Path, default=Path("runs/reference"))
    ap.add_argument("--dev-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0, help="seed of the speaker-disjoint dev split")
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args()

    t0 = time.time()
    train = load_split(args.data, "train-minus-dev", args.dev_fraction, args.seed)
    dev = load_split(args.data, "dev", args.dev_fraction, args.seed)
    # The dev utterances go in without their labels: the predictor cannot peek at them.
    dev_inputs = [u.unlabelled() for u in dev]
    train_x = extract_features(train)
    dev_x = extract_features(dev_inputs)
    print(f"features of {len(train)} + {len(dev)} recordings in {time.time() - t0:.1f} s")

    model = BaselinePredictor().fit(train, train_x)
    preds_path = write_predictions(model.predict(dev_inputs, dev_x), args.out / "dev_predictions.jsonl")
    config = {
        "data": str(args.data),
        "split": "dev",
        "limit": None,
        "dev_fraction": args.dev_fraction,
        "seed": args.seed,
        "predictor": {
            "name": "reference (ridge on acoustic statistics + shrunk item priors)",
            "features": list(FEATURE_NAMES),
            "alphas_chosen": model.alpha_,
            "slopes": {f"{g}.{a}": v for (g, a), v in model.slope_.items()},
            "shrink": model.shrink,
            "alpha_grid": list(asdict(model)["alphas"]),
            "n_train_utterances": len(train),
        },
    }
    evaluate_file(dev, preds_path, args.out / "metrics.json", config=config, n_boot=args.n_boot)
    print(f"wrote {preds_path} and {args.out / 'metrics.json'} ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
