"""One table of what each part adds on the folds: `bench/crossval.py --compare` results side by side.

    python bench/crossval_ablation.py --row "+ prosody=bench/results/crossval/r2_prosody_vs_baseline" \\
        --row "+ decoder=bench/results/crossval/r2_decoder_vs_baseline" > table.md

Each --row is NAME=FOLDER holding a compare.json (B minus A, paired speaker bootstrap) against the
same A; the table gives A's PCC once (from A's metrics.json, found where the compare ran) and each
row's B - A PCC [95% CI] per aspect, in bold where the interval excludes 0.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ASPECTS = [("phone", "accuracy"), ("word", "accuracy"), ("word", "stress"), ("word", "total")]
ASPECTS += [("sentence", a) for a in ("accuracy", "fluency", "prosodic", "total")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--row", action="append", required=True, help="NAME=FOLDER with a compare.json")
    args = p.parse_args()
    rows = [r.split("=", 1) for r in args.row]
    runs = [(name, json.loads((Path(folder) / "compare.json").read_text())) for name, folder in rows]
    head = "| | " + " | ".join(f"{lvl} {asp}" for lvl, asp in ASPECTS) + " |"
    lines = [head, "|---" * (len(ASPECTS) + 1) + "|"]
    a_metrics = Path(runs[0][1]["a"]) / "metrics.json"
    if a_metrics.is_file():
        base = json.loads(a_metrics.read_text())
        lines.append("| A (PCC) | " + " | ".join(f"{base[lv][asp]['pcc']:.3f}" for lv, asp in ASPECTS) + " |")
    for name, run in runs:
        cells = []
        for lv, asp in ASPECTS:
            d = run["diff"][lv][asp]
            lo, hi = d["pcc_ci"]
            mark = "**" if lo > 0 or hi < 0 else ""
            cells.append(f"{mark}{d['pcc']:+.3f} [{lo:+.3f}, {hi:+.3f}]{mark}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
