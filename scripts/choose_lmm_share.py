"""Choose a model's LMM share per level on held-out speakers and write its scoring policy.

Score the same held-out split twice, the LMM's own scores and the evidence readout's (both after
listening), on speakers neither the LMM nor the aligner trained on (dev25 for the shipped default
and for any adapter trained on train-minus-dev25; dev for one trained on train-minus-dev):

    lmm-apa evaluate --data ../shared/speechocean762 --split dev25 --model ADAPTER --lmm-share 1 \\
        --predictions-out runs/share/lmm.jsonl
    lmm-apa evaluate --data ../shared/speechocean762 --split dev25 --model evidence \\
        --predictions-out runs/share/evidence.jsonl

then (seconds; `lmm_apa.eval.share`: chosen on half the speakers, reported on the other half)

    .venv/bin/python scripts/choose_lmm_share.py --data ../shared/speechocean762 --split dev25 \\
        --lmm runs/share/lmm.jsonl --evidence runs/share/evidence.jsonl --base ADAPTER \\
        --out ADAPTER/scoring_policy.json

The policy written keeps the thresholds of ``--base`` (an adapter folder or a policy file; default:
the built-in ones) and records how the shares were chosen in its ``note``. The report also goes to
``--report`` (JSON) when given.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from lmm_apa.data.splits import load_split
from lmm_apa.eval.predictions import read_predictions
from lmm_apa.eval.share import choose_shares
from lmm_apa.infer.policy import DEFAULT_POLICY, POLICY_JSON, ScoringPolicy, load_policy


def _base(path: str | None) -> ScoringPolicy:
    if path is None:
        return DEFAULT_POLICY
    p = Path(path)
    return load_policy(p) if p.is_dir() else ScoringPolicy.load(p)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--split", default="dev25", help="held-out speakers neither model trained on")
    p.add_argument("--lmm", required=True, help="the LMM's own predictions (evaluate --lmm-share 1)")
    p.add_argument("--evidence", required=True, help="the readout's predictions (evaluate --model evidence)")
    p.add_argument("--base", default=None, help="adapter folder or policy file whose thresholds to keep")
    p.add_argument("--seed", type=int, default=0, help="seed of the split of speakers into halves")
    p.add_argument("--out", default=None, help=f"write the policy here (e.g. ADAPTER/{POLICY_JSON})")
    p.add_argument("--report", default=None, help="write the report (JSON) here")
    args = p.parse_args()

    labels = load_split(args.data, args.split)
    lmm, evidence = read_predictions(args.lmm), read_predictions(args.evidence)
    ids = {u.utt_id for u in labels} & set(lmm) & set(evidence)
    labels = [u for u in labels if u.utt_id in ids]
    report = choose_shares(labels, lmm, evidence, seed=args.seed)
    print(f"{args.split}: {len(labels)} utterances scored in both files; speakers {report['speakers']}")
    print("level     share  PCC chosen-on  | reported on the other half: chosen  LMM alone  readout alone")
    for level, r in report["levels"].items():
        if not r["aspects"]:
            print(f"{level:9} {r['share']:5.2f}  ({r['note']})")
            continue
        rep = r["report_pcc"]
        print(
            f"{level:9} {r['share']:5.2f}  {r['choose_pcc']:.4f}         | "
            f"{rep['chosen']:.4f}  {rep['lmm']:.4f}     {rep['readout']:.4f}"
        )
    shares = {level: r["share"] for level, r in report["levels"].items()}
    note = (
        f"lmm_share chosen by scripts/choose_lmm_share.py on {args.split} (seed {args.seed}): mean PCC of "
        "each level's aspects, chosen on half the speakers; on the other half, chosen / LMM alone / "
        "readout alone: "
        + "; ".join(
            f"{g} {r['report_pcc']['chosen']}/{r['report_pcc']['lmm']}/{r['report_pcc']['readout']}"
            for g, r in report["levels"].items()
            if r["aspects"]
        )
    )
    policy = dataclasses.replace(_base(args.base), lmm_share=shares, note=note)
    if args.out:
        out = Path(args.out)
        folder = out if out.is_dir() else out.parent
        folder.mkdir(parents=True, exist_ok=True)
        path = policy.save(folder)
        if not out.is_dir() and out.name != POLICY_JSON:
            path = path.rename(out)
        print(f"wrote {path}")
    if args.report:
        Path(args.report).write_text(json.dumps({"args": vars(args), **report}, indent=2) + "\n")


if __name__ == "__main__":
    main()
