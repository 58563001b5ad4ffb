"""Does `phones-heard` flag the phones annotators marked wrong? Mispronunciation detection on dev25.

    .venv/bin/python bench/heard_phones.py --data ../shared/speechocean762 \\
        --out bench/results/heard_phones

The scorer reports, for a said phone it finds wrong, the phone the recogniser heard most in its
place (`phones-heard`, `EvidenceScorer.heard_phone`). This copy of Speechocean762 has no annotated
pronounced phones, so what can be checked is detection: is a phone flagged where the annotators
scored it low? Every said phone of the 500 dev25 recordings (25
speakers; the recogniser and the readout never saw them) is aligned with the shipped aligner, and
two detectors are measured against two targets (phone accuracy, the mean of five annotators on 0-2):
"wrong" (< 1: most said wrong or missing) and "not clean" (< 2: any annotator heard an error).

- ``readout``: flag where the evidence readout's phone accuracy < t (t = `HEARD_BELOW` ships);
- ``gop``: flag where GOP (log share of the canonical phone minus its best rival's) < t; t = 0, "a
  rival took more of the segment than the canonical phone", was the rule before.

For each: precision / recall / F1 at the shipped cut, the threshold-free AUC, and F1 at a cut chosen
by speaker-fold cross-validation (5 folds of dev25 speakers: the cut that maximises F1 on four folds
is applied to the fifth), all with 95% speaker-bootstrap intervals; and how often a flagged phone's
rival is the recogniser's own first choice (GOP < 0) rather than a runner-up. Phones of words the
aligner found unsaid are counted apart (the scorer marks those words omitted, not their phones).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

TARGETS = {"wrong": 1.0, "not_clean": 2.0}  # a phone is positive when its accuracy is below this
N_FOLDS = 5
DETECTORS = ("readout", "gop")


def collect(listener, utts) -> dict[str, np.ndarray]:
    """Per said phone: label, GOP, the readout's accuracy, speaker; the omitted phones' labels; per
    said word (``word_*``): label, the readout's accuracy, speaker."""
    from lmm_apa.data.audio import load_audio

    def heard(u):
        h = listener.hear(load_audio(u.audio_path), u.unlabelled())
        return u, h.evidence, h.alignment

    return detection_arrays(map(heard, utts))


def detection_arrays(scored, flags: bool = False) -> dict[str, np.ndarray]:
    """`collect`'s arrays from (labelled utterance, its scored utterance, its alignment) triples; with
    ``flags`` also per phone ``heard`` (a phones-heard entry) and per word ``flag`` (error_type
    mispronunciation), which scored utterances carry once the alignment was merged into them."""
    rows: dict[str, list] = {"label": [], "gop": [], "readout": [], "speaker": []}
    words: dict[str, list] = {"label": [], "readout": [], "speaker": []}
    if flags:
        rows["heard"], words["flag"] = [], []
    omitted: list[float] = []
    for u, pred, al in scored:
        speaker = u.speaker or u.utt_id
        for w, wp, wa in zip(u.words, pred.words, al.words, strict=True):
            if not wa.omitted and w.accuracy is not None:
                words["label"].append(w.accuracy)
                words["readout"].append(wp.accuracy)
                words["speaker"].append(speaker)
                if flags:
                    words["flag"].append(wp.error_type == "mispronunciation")
            heard = wp.phones_heard or [None] * len(w.phones)
            for p, pp, pa, h in zip(w.phones, wp.phones, wa.phones, heard, strict=True):
                if p.accuracy is None:
                    continue
                if wa.omitted:
                    omitted.append(p.accuracy)
                    continue
                rows["label"].append(p.accuracy)
                rows["gop"].append(pa.stats["gop"])
                rows["readout"].append(pp.accuracy)
                rows["speaker"].append(speaker)
                if flags:
                    rows["heard"].append(h is not None)
    out = {k: np.asarray(v) for k, v in rows.items()}
    out["omitted"] = np.asarray(omitted)
    out |= {f"word_{k}": np.asarray(v) for k, v in words.items()}
    return out


def counts_by_speaker(flag: np.ndarray, pos: np.ndarray, spk: np.ndarray) -> np.ndarray:
    """(n_speakers, 3): true positives, flagged, positives per speaker."""
    codes, inv = np.unique(spk, return_inverse=True)
    tp = np.bincount(inv, weights=flag & pos, minlength=len(codes))
    fl = np.bincount(inv, weights=flag, minlength=len(codes))
    po = np.bincount(inv, weights=pos, minlength=len(codes))
    return np.stack([tp, fl, po], axis=1)


def prf(c: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 from summed (tp, flagged, positives); last axis."""
    tp, fl, po = c[..., 0], c[..., 1], c[..., 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(fl > 0, tp / fl, 0.0)
        r = np.where(po > 0, tp / po, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f


def bootstrap(per_spk: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Speaker-resampled sums of the per-speaker counts: (n_boot, 3)."""
    k = len(per_spk)
    w = np.random.default_rng(seed).multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    return w @ per_spk


def auc(score: np.ndarray, pos: np.ndarray) -> float:
    """P(a positive's score is below a negative's): low scores flag (GOP, readout accuracy)."""
    from scipy.stats import rankdata

    r = rankdata(-score)  # high rank = low score
    n1, n0 = pos.sum(), (~pos).sum()
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def best_cut(score: np.ndarray, pos: np.ndarray, grid: np.ndarray) -> float:
    f1 = [prf(np.array([(s & pos).sum(), s.sum(), pos.sum()], float))[2] for s in (score[:, None] < grid).T]
    return float(grid[int(np.argmax(f1))])


def cv_flags(
    score: np.ndarray, pos: np.ndarray, spk: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, list[float]]:
    """Flags where each speaker fold's cut was chosen on the other folds."""
    speakers = np.unique(spk)
    fold_of = {s: i % N_FOLDS for i, s in enumerate(speakers)}
    fold = np.array([fold_of[s] for s in spk])
    flag, cuts = np.zeros_like(pos), []
    for k in range(N_FOLDS):
        t = best_cut(score[fold != k], pos[fold != k], grid)
        flag[fold == k] = score[fold == k] < t
        cuts.append(t)
    return flag, cuts


def summarise(flag, pos, spk, n_boot, seed) -> dict:
    per = counts_by_speaker(flag, pos, spk)
    p, r, f = prf(per.sum(0))
    bp, br, bf = prf(bootstrap(per, n_boot, seed))
    ci = lambda v: [round(float(x), 3) for x in np.percentile(v, [2.5, 97.5])]  # noqa: E731
    return {
        "precision": round(float(p), 3), "precision_ci": ci(bp),
        "recall": round(float(r), 3), "recall_ci": ci(br),
        "f1": round(float(f), 3), "f1_ci": ci(bf),
        "flagged_share": round(float(flag.mean()), 4),
    }  # fmt: skip


def measure(d: dict[str, np.ndarray], n_boot: int = 1000) -> dict:
    """Detection figures from `collect`'s arrays (or any with the same keys): the shipped cuts, AUC,
    speaker-fold CV cuts, for phones (both targets, both detectors) and words."""
    from lmm_apa.align.evidence_scorer import HEARD_BELOW, MISPRONUNCIATION_BELOW

    shipped = {"readout": HEARD_BELOW, "gop": 0.0}
    grids = {"gop": np.linspace(-6, 4, 101), "readout": np.linspace(0.2, 1.9, 86)}
    result: dict = {
        "said_phones": int(len(d["label"])), "omitted_phones": int(len(d["omitted"])),
        "omitted_label_mean": round(float(d["omitted"].mean()), 3) if len(d["omitted"]) else None,
        "flagged_rival_is_top": round(float((d["gop"][d["readout"] < HEARD_BELOW] < 0).mean()), 3),
        "shipped_cuts": shipped, "targets": {},
    }  # fmt: skip
    for target, below in TARGETS.items():
        pos = d["label"] < below
        res: dict = {"positives": int(pos.sum()), "positive_share": round(float(pos.mean()), 4)}
        for name in DETECTORS:
            score = d[name]
            cv, cuts = cv_flags(score, pos, d["speaker"], grids[name])
            res[name] = {
                "auc": round(auc(score, pos), 3),
                "shipped": summarise(score < shipped[name], pos, d["speaker"], n_boot, 0),
                "cv": summarise(cv, pos, d["speaker"], n_boot, 0),
                "fold_cuts": [round(c, 2) for c in cuts],
                "best_cut_all_dev": round(best_cut(score, pos, grids[name]), 2),
            }
        result["targets"][target] = res
    # Words: `error_type` "mispronunciation" where the readout's word accuracy is below its cut.
    pos = d["word_label"] < MISPRONUNCIATION_BELOW
    score, spk = d["word_readout"], d["word_speaker"]
    cv, cuts = cv_flags(score, pos, spk, np.linspace(1, 9.5, 86))
    result["words"] = {
        "said_words": int(len(pos)), "positives": int(pos.sum()),
        "positive_share": round(float(pos.mean()), 4),
        "cut": MISPRONUNCIATION_BELOW, "auc": round(auc(score, pos), 3),
        "shipped": summarise(score < MISPRONUNCIATION_BELOW, pos, spk, n_boot, 0),
        "cv": summarise(cv, pos, spk, n_boot, 0), "fold_cuts": [round(c, 2) for c in cuts],
    }  # fmt: skip
    return result


def main() -> None:
    from lmm_apa.align.frontend import Listener
    from lmm_apa.data.splits import load_split

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/speechocean762")
    ap.add_argument("--split", default="dev25")
    ap.add_argument("--limit", type=int, default=None, help="first N recordings only (a quick look)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default="bench/results/heard_phones")
    args = ap.parse_args()

    utts = load_split(args.data, args.split)[: args.limit]
    t0 = time.time()
    d = collect(Listener(), utts)
    seconds = time.time() - t0
    where = {"split": args.split, "recordings": len(utts), "seconds": round(seconds, 1)}
    result = where | measure(d, args.n_boot)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    out.with_suffix(".md").write_text(table(result))
    print(table(result))


def table(r: dict) -> str:
    lines = [
        f"Mispronunciation detection on {r['split']}: {r['recordings']} recordings, {r['said_phones']} said "
        f"phones ({r['omitted_phones']} more in words found unsaid, mean label {r['omitted_label_mean']}); "
        f"aligned in {r['seconds']:.0f} s. `python bench/heard_phones.py`. 95% speaker-bootstrap intervals. "
        f"Of the phones the readout flags, {100 * r['flagged_rival_is_top']:.0f}% have a rival the "
        "recogniser prefers to the canonical phone (GOP < 0).",
        "",
        "| target | positives | detector | AUC | cut | precision | recall | F1 | flagged "
        "| CV F1 (fold cuts) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for target, t in r["targets"].items():
        for name in DETECTORS:
            m, s, cv = t[name], t[name]["shipped"], t[name]["cv"]
            positives = f"{t['positives']} ({100 * t['positive_share']:.1f}%)"
            lines.append(
                f"| {target} (< {TARGETS[target]:g}) | {positives} | {name} "
                f"| {m['auc']:.3f} | < {r['shipped_cuts'][name]:g} "
                f"| {s['precision']:.2f} {s['precision_ci']} | {s['recall']:.2f} {s['recall_ci']} "
                f"| {s['f1']:.2f} {s['f1_ci']} | {100 * s['flagged_share']:.1f}% "
                f"| {cv['f1']:.2f} {cv['f1_ci']} ({', '.join(f'{c:g}' for c in m['fold_cuts'])}) |"
            )
    w, s = r["words"], r["words"]["shipped"]
    cv = w["cv"]
    lines += [
        "",
        f"Words (`error_type` mispronunciation: the readout's word accuracy < {w['cut']:g}) against the "
        f"raters' word accuracy < {w['cut']:g}: {w['positives']} of {w['said_words']} said words "
        f"({100 * w['positive_share']:.1f}%); AUC {w['auc']:.3f}, precision {s['precision']:.2f} "
        f"{s['precision_ci']}, recall {s['recall']:.2f} {s['recall_ci']}, F1 {s['f1']:.2f} {s['f1_ci']}, "
        f"{100 * s['flagged_share']:.1f}% flagged; CV F1 {cv['f1']:.2f} {cv['f1_ci']} "
        f"(fold cuts {', '.join(f'{c:g}' for c in w['fold_cuts'])}).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
