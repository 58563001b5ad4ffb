"""Two runs of bench/robustness.py side by side: the README's before/after table.

    python bench/robustness_table.py bench/results/robustness/default_before.json \\
        bench/results/robustness/default_after.json > bench/results/robustness/default_before_after.md

For each perturbation both runs measured: the PCC of the perturbed scores against the same
recordings' clean scores at sentence (total), word (accuracy) and phone (accuracy) level, and the
sentence total's mean change, before -> after.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

LEVELS = ("sentence total", "word accuracy", "phone accuracy")


def load(path: Path) -> dict:
    return json.loads(path.read_text())["results"]


def cell(result: dict, key: str) -> str:
    return " / ".join(f"{result[level][key]:.2f}" for level in LEVELS)


def table(before: dict, after: dict) -> str:
    rows = [
        "| perturbation | PCC vs clean: sentence / word / phone, before | after "
        "| sentence mean change, before | after |",
        "|---|---|---|---|---|",
    ]
    for kind in before:
        if kind == "clean" or kind not in after:
            continue
        b, a = before[kind], after[kind]
        shift = f"{b['sentence total']['mean_change']:+.2f} | {a['sentence total']['mean_change']:+.2f}"
        rows.append(f"| {kind} | {cell(b, 'pcc_vs_clean')} | {cell(a, 'pcc_vs_clean')} | {shift} |")
    clean_b, clean_a = before["clean"]["vs_labels"], after["clean"]["vs_labels"]
    rows.append(
        f"| (clean, PCC against the raters) | {cell(clean_b, 'pcc_labels_clean')} | "
        f"{cell(clean_a, 'pcc_labels_clean')} | | |"
    )
    return "\n".join(rows) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    args = p.parse_args()
    print(table(load(args.before), load(args.after)), end="")


if __name__ == "__main__":
    main()
