"""Is B better than A on the same recordings? Two predictions files, paired over speakers.

    python bench/compare_predictions.py --split dev --a old.jsonl --b new.jsonl \\
        --out bench/results/default_new_vs_old_dev

Both files score the same recordings of ``--split`` (e.g. written by ``bench/scorers_dev.py
--predictions-out``). For each aspect: A's and B's PCC and B minus A with the paired speaker-bootstrap
95% interval (`lmm_apa.eval.compare`: the same resampled speakers for both systems), and the same
for SCC. An interval that holds 0 says the split cannot tell the two apart.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

KEYS = [("sentence", a) for a in ("accuracy", "fluency", "prosodic", "total")]
KEYS += [("word", a) for a in ("accuracy", "stress", "total")] + [("phone", "accuracy")]


def paired_table(dev: list, a: dict, b: dict, n_boot: int, names: str, split: str) -> tuple[list[str], dict]:
    """Markdown lines of A's and B's PCC and SCC and B minus A with paired speaker-bootstrap
    intervals, per aspect; and the differences themselves."""
    from lmm_apa.eval.compare import paired_differences
    from lmm_apa.eval.report import evaluate_predictions

    ma, mb = (evaluate_predictions(dev, x, n_boot=0) for x in (a, b))
    diff = paired_differences(dev, a, b, n_boot=n_boot)
    lines = [
        f"{split}: {len(dev)} recordings, {len({u.speaker for u in dev})} speakers; "
        f"{names}; B minus A [paired 95% speaker-bootstrap CI]",
        "",
        "| aspect | PCC A | PCC B | PCC B-A | SCC A | SCC B | SCC B-A |",
        "|---|---|---|---|---|---|---|",
    ]
    for g, k in KEYS:
        d = diff.get(g, {}).get(k)
        if d is None or d["pcc"] is None:
            continue
        cells = [f"{ma[g][k]['pcc']:.3f}", f"{mb[g][k]['pcc']:.3f}"]
        cells.append(f"{d['pcc']:+.3f} [{d['pcc_ci'][0]:+.3f},{d['pcc_ci'][1]:+.3f}]")
        cells += [f"{ma[g][k]['scc']:.3f}", f"{mb[g][k]['scc']:.3f}"]
        cells.append(f"{d['scc']:+.3f} [{d['scc_ci'][0]:+.3f},{d['scc_ci'][1]:+.3f}]")
        lines.append(f"| {g} {k} | " + " | ".join(cells) + " |")
    return lines, diff


def main() -> None:
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.predictions import read_predictions

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--split", default="dev")
    p.add_argument("--a", required=True, help="predictions of system A (the baseline)")
    p.add_argument("--b", required=True, help="predictions of system B")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    a, b = read_predictions(args.a), read_predictions(args.b)
    dev = [u for u in load_split(args.data, args.split) if u.utt_id in a and u.utt_id in b]
    if not dev:
        raise SystemExit(f"no recording of {args.split} is in both {args.a} and {args.b}")
    lines, diff = paired_table(dev, a, b, args.n_boot, f"A = {args.a}, B = {args.b}", args.split)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "paired": diff}, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
