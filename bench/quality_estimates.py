"""What `lmm_apa.data.quality` says about the robustness bench's perturbations (no model: VAD and
signal measures only), so that its warnings can be read against known conditions.

    .venv/bin/python bench/quality_estimates.py --data ../shared/speechocean762 --n 40 \\
        --out bench/results/robustness/quality_estimates
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from robustness import PERTURBATIONS, perturb


def main() -> None:
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.quality import check_recording
    from lmm_apa.data.splits import load_split
    from lmm_apa.errors import AudioError
    from lmm_apa.eval.report import spread_sample

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--split", default="dev")
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--out", default="bench/results/robustness/quality_estimates")
    args = p.parse_args()
    utts = spread_sample(load_split(args.data, args.split), args.n)
    waves = [load_audio(u.audio_path) for u in utts]
    rows = {}
    for kind in ("clean", *PERTURBATIONS):
        rng = np.random.default_rng(0)
        got, refused, warned = [], 0, {}
        for w in waves:
            x = w if kind == "clean" else perturb(w, kind, rng)
            try:
                got.append(check_recording(x)[1])
            except AudioError:
                refused += 1
                continue
            for text in got[-1].warnings:
                key = text.split(" (")[0]
                warned[key] = warned.get(key, 0) + 1
        snr = np.array([q.snr_db for q in got])
        share = round(float(np.median([q.speech_seconds / q.duration_seconds for q in got])), 2)
        rows[kind] = {
            "snr_db_median": round(float(np.median(snr)), 1),
            "snr_db_p10_p90": [round(float(v), 1) for v in np.percentile(snr, [10, 90])],
            "level_dbfs_median": round(float(np.median([q.level_dbfs for q in got])), 1),
            "speech_share_median": share,
            "warned": warned,
            "refused": refused,
        }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / f"{out.name}.json").write_text(json.dumps({"n": len(utts), "rows": rows}, indent=1) + "\n")
    lines = [
        f"# Quality estimates on {len(utts)} {args.split} recordings, as perturbed by bench/robustness.py",
        "",
        "| condition | SNR dB median (p10-p90) | level dBFS median | speech share | warnings (recordings) "
        "| refused |",
        "|---|---|---|---|---|---|",
    ]
    for kind, r in rows.items():
        warned = ", ".join(f"{k}: {v}" for k, v in r["warned"].items()) or "-"
        lines.append(
            f"| {kind} | {r['snr_db_median']} ({r['snr_db_p10_p90'][0]}-{r['snr_db_p10_p90'][1]}) | "
            f"{r['level_dbfs_median']} | {r['speech_share_median']} | {warned} | {r['refused']} |"
        )
    (out.parent / f"{out.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
