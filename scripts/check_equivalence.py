"""Checks that a restructuring left the shipped model's scores unchanged.

Scores 50 train-split recordings (every 50th line of wav.scp: 50 recordings of many speakers) with
`lmm-apa score --precision fp32` through the CLI, a user's way in, and compares every field of every
result with a reference written before the change. fp32 because bf16 matmuls may round differently
on another CPU; even fp32 is only reproducible on the same kind of CPU, so write the reference and
check on one machine.

    python scripts/check_equivalence.py --write bench/results/equivalence/reference.jsonl   # before
    python scripts/check_equivalence.py --against bench/results/equivalence/reference.jsonl # after

`meta` is left out of the comparison: it names the package's own paths and version.
Exit status 0: identical (or within --atol); 1: a difference, each one printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "speechocean762"


def manifest_rows(data: Path, n: int, every: int) -> list[dict[str, str]]:
    texts = dict(line.split("\t", 1) for line in (data / "train" / "text").read_text().splitlines())
    scp = [line.split("\t", 1) for line in (data / "train" / "wav.scp").read_text().splitlines()]
    picked = scp[::every][:n]
    return [{"utt_id": u, "audio": str(data / p), "text": texts[u].strip()} for u, p in picked]


def score(rows: list[dict[str, str]], out: Path, model: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.jsonl"
        manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
        cmd = [
            sys.executable,
            "-m",
            "lmm_apa",
            "score",
            "--manifest",
            str(manifest),
            "--out",
            str(out),
            "--model",
            model,
            "--precision",
            "fp32",
        ]
        subprocess.run(cmd, check=True)
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def differences(a: Any, b: Any, where: str, atol: float) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only in one" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += differences(a[k], b[k], f"{where}.{k}", atol)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{i}]", atol)
        ]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return [] if abs(a - b) <= atol else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--write", type=Path, help="write the reference scores here")
    g.add_argument("--against", type=Path, help="compare with this reference")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--model", default="default")
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--every", type=int, default=50)
    p.add_argument("--atol", type=float, default=0.0, help="allowed absolute difference of a number")
    args = p.parse_args()
    rows = manifest_rows(args.data, args.n, args.every)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        results = score(rows, args.write, args.model)
        print(f"wrote {len(results)} results to {args.write}")
        return 0
    reference = [json.loads(line) for line in args.against.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        now = score(rows, Path(tmp) / "now.jsonl", args.model)
    strip = [{k: v for k, v in r.items() if k != "meta"} for r in reference]
    found = differences(
        strip, [{k: v for k, v in r.items() if k != "meta"} for r in now], "results", args.atol
    )
    for d in found[:50]:
        print(d)
    print(f"{len(now)} results, {len(found)} differences (atol {args.atol})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
