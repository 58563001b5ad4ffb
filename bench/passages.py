"""Passages: time, memory and agreement of scoring a long read-aloud recording in pieces.

    LMM_APA_CORPUS=/path/to/speechocean762 OMP_NUM_THREADS=2 PYTHONPATH=src \
        .venv/bin/python bench/passages.py --seconds 30 60 180 --out bench/results/passages

A passage is built from consecutive `train` recordings of one speaker (the first speaker whose
recordings add up to the longest length asked), joined with 0.3-1 s of digital silence between
them (seeded), their texts joined as sentences ("WE CALL IT BEAR. ZERO THREE FIVE ONE. ...";
`--plain`: without punctuation, so that the pieces are cut at pauses).
Each length runs in its own process (its peak RSS is its own, none competes for the cores): load
the shipped default model (`load_scorer`), score the passage with `Scorer.assess_text` (the path
the CLI, the API and `Assessor.score` take), then score each of its recordings alone.

Reported per length: wall time of the passage's scoring (model loaded), the process's peak RSS
(`resource.getrusage`: model included) and the growth over the RSS before scoring; pieces; whether
word times are in order and every said word lies within its own recording's stretch of the
passage; the last word's end against the passage's end; and the PCC / mean |difference| of word
accuracy, passage vs alone. Rows go to ``OUT.rows.jsonl``; the table to ``OUT.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


def corpus_dir() -> Path:
    return Path(os.environ.get("LMM_APA_CORPUS", "../shared/speechocean762"))


def build_passage(seconds: float, seed: int = 0, plain: bool = False) -> tuple[np.ndarray, str, list[dict]]:
    """(wave, text, parts): consecutive train recordings of one speaker, ``seconds`` long or just
    over, with 0.3-1 s of silence between them; each part's utt_id, text, and span in the passage."""
    import soundfile as sf

    root = corpus_dir()
    texts = dict(line.rstrip("\n").split("\t", 1) for line in open(root / "train" / "text"))
    paths = dict(line.rstrip("\n").split("\t", 1) for line in open(root / "train" / "wav.scp"))
    by_speaker: dict[str, list[str]] = {}
    for utt in sorted(paths):
        by_speaker.setdefault(Path(paths[utt]).parent.name, []).append(utt)
    rng = np.random.default_rng(seed)
    for speaker in sorted(by_speaker):
        pieces, parts, at = [], [], 0
        for utt in by_speaker[speaker]:
            wave, rate = sf.read(root / paths[utt], dtype="float32")
            assert rate == SAMPLE_RATE
            if pieces:
                gap = np.zeros(int(rng.uniform(0.3, 1.0) * SAMPLE_RATE), dtype=np.float32)
                pieces.append(gap)
                at += len(gap)
            pieces.append(wave)
            parts.append(
                {
                    "utt_id": utt,
                    "text": texts[utt],
                    "start": at / SAMPLE_RATE,
                    "end": (at + len(wave)) / SAMPLE_RATE,
                    "path": str(root / paths[utt]),
                }
            )
            at += len(wave)
            if at >= seconds * SAMPLE_RATE:
                text = (
                    " ".join(p["text"] for p in parts) if plain else ". ".join(p["text"] for p in parts) + "."
                )
                return np.concatenate(pieces), text, parts
    raise SystemExit(f"no speaker in train has {seconds} s of recordings")


def measure(seconds: float, plain: bool = False) -> dict:
    """One length, in this process: the row."""
    from lmm_apa.infer.scorer import load_scorer

    wave, text, parts = build_passage(seconds, plain=plain)
    scorer = load_scorer("default", precision="auto")
    scorer.assess_text(wave[: 3 * SAMPLE_RATE], parts[0]["text"])  # warm-up: first-call costs
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    t0 = time.perf_counter()
    result = scorer.assess_text(wave, text, "passage")
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    words = result.utterance.words

    t0 = time.perf_counter()
    alone = scorer.assess_texts([(p["path"], p["text"], p["utt_id"]) for p in parts])
    alone_wall = time.perf_counter() - t0
    passage_acc, alone_acc, inside, n_said = [], [], 0, 0
    k = 0
    for part, single in zip(parts, alone, strict=True):
        n = len(single.utterance.words)
        for w, a in zip(words[k : k + n], single.utterance.words, strict=True):
            passage_acc.append(w.accuracy)
            alone_acc.append(a.accuracy)
            if w.start is not None:
                n_said += 1
                inside += part["start"] - 0.05 <= w.start and w.end <= part["end"] + 0.05
        k += n
    starts = [w.start for w in words if w.start is not None]
    ends = [w.end for w in words if w.end is not None]
    in_order = all(a <= b for a, b in zip(starts, starts[1:], strict=False)) and all(
        s <= e for s, e in zip(starts, ends, strict=True)
    )
    pa, aa = np.array(passage_acc), np.array(alone_acc)
    return {
        "seconds": round(len(wave) / SAMPLE_RATE, 1),
        "text": "no punctuation" if plain else "sentences",
        "recordings": len(parts),
        "words": len(words),
        "wall_s": round(wall, 2),
        # the same recordings scored alone (batched) on the same cores just after: the reference
        # for the passage's overhead when other work shares the machine (`load_avg`)
        "alone_wall_s": round(alone_wall, 2),
        "load_avg": round(os.getloadavg()[0], 1),
        "peak_rss_gb": round(peak, 2),
        "rss_growth_gb": round(peak - rss_before, 2),
        "times_in_order": bool(in_order),
        "words_inside_own_recording": f"{inside}/{n_said}",
        "last_end_s": max(ends) if ends else None,
        "passage_end_s": round(len(wave) / SAMPLE_RATE, 2),
        "word_acc_pcc": round(float(np.corrcoef(pa, aa)[0, 1]), 3),
        "word_acc_mean_abs_diff": round(float(np.abs(pa - aa).mean()), 3),
        "total_passage": result.utterance.total,
        "total_alone_mean": round(float(np.mean([r.utterance.total for r in alone])), 2),
        "completeness": result.utterance.completeness,
    }


def table(rows: list[dict]) -> str:
    head = (
        "| passage | recordings / words | wall time (alone; load) | peak RSS (growth) | times in order "
        "| words inside "
        "their recording | last word ends / passage ends | word accuracy vs alone: PCC, mean abs diff | "
        "total: passage / alone mean |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    return head + "".join(
        f"| {r['seconds']} s | {r['recordings']} / {r['words']} | {r['wall_s']} s ({r['alone_wall_s']} s; "
        f"{r['load_avg']}) | {r['peak_rss_gb']} GB "
        f"(+{r['rss_growth_gb']}) | {r['times_in_order']} | {r['words_inside_own_recording']} | "
        f"{r['last_end_s']} / {r['passage_end_s']} s | {r['word_acc_pcc']}, {r['word_acc_mean_abs_diff']} | "
        f"{r['total_passage']:.2f} / {r['total_alone_mean']} |\n"
        for r in rows
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[30, 60, 180])
    ap.add_argument("--out", default="bench/results/passages")
    ap.add_argument(
        "--plain", action="store_true", help="texts joined without punctuation: pieces cut at pauses"
    )
    ap.add_argument("--one", type=float, help=argparse.SUPPRESS)  # a child process: one length
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, plain=args.plain)))
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for s in args.seconds:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(s), *(["--plain"] if args.plain else [])],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
        with open(f"{out}.rows.jsonl", "a") as f:
            f.write(json.dumps(rows[-1]) + "\n")
    Path(f"{out}.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
