"""Passages: time, memory and agreement of scoring a long read-aloud recording in pieces.

    git archive ec9b6e1 src | tar -x -C /tmp/before   # "before": the code to compare with
    LMM_APA_CORPUS=/path/to/speechocean762 OMP_NUM_THREADS=2 PYTHONPATH=src \
        .venv/bin/python bench/passages.py --seconds 180 30 60 --model default evidence \
        --code before reencode sliced --before-src /tmp/before/src --out bench/results/passages

A passage is built from consecutive `train` recordings of one speaker (the first speaker whose
recordings add up to the longest length asked), joined with 0.3-1 s of digital silence between
them (seeded), their texts joined as sentences ("WE CALL IT BEAR. ZERO THREE FIVE ONE. ...";
`--plain`: without punctuation, so that the pieces are cut at pauses).
Each length, model (`--model`) and code (`--code`: ``reencode``, the default path; ``sliced``,
`Scorer.reencode_pieces` off; ``before``, the package at ``--before-src``) runs in its own process
(its peak RSS is its own, none competes for the cores): load the model (`load_scorer`), score the
passage with `Scorer.assess_text` (the path the CLI, the API and `Assessor.score` take) with timers
around its stages (`stage_timers`), then score each of its recordings alone.

Reported per length: wall time of the passage's scoring (model loaded), the process's peak RSS
(`resource.getrusage`: model included) and the growth over the RSS before scoring; pieces; whether
word times are in order and every said word lies within its own recording's stretch of the
passage; the last word's end against the passage's end; and the PCC / mean |difference| of word
accuracy, passage vs alone, and vs the first code's row of the same passage and model; the 1-minute
load average (the machine may be shared). Rows go to ``OUT.rows.jsonl``; the tables (scores, then
seconds per stage) to ``OUT.md``.
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


def stage_timers(times: dict[str, float]) -> None:
    """Wrap the passage's stages in timers adding up into ``times`` (seconds per stage; "whole":
    the boundary pass over the whole recording, "pieces": inside the pieces' scoring)."""
    from lmm_apa.align import aligner, head
    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.data import quality
    from lmm_apa.infer import scorer
    from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder
    from lmm_apa.models.whisper_torch import TorchWhisperEncoder

    where = {"pieces": False}

    def timed(owner: object, name: str, stage: str, phase: bool = True, marks: bool = False) -> None:
        inner = getattr(owner, name)

        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            where["pieces"] |= marks
            try:
                return inner(*args, **kwargs)
            finally:
                where["pieces"] &= not marks
                key = f"{stage} ({'pieces' if where['pieces'] else 'whole'})" if phase else stage
                times[key] = times.get(key, 0.0) + time.perf_counter() - t0

        setattr(owner, name, wrapper)

    timed(quality, "find_speech", "VAD")
    timed(quality, "measure", "quality")
    timed(CT2WhisperEncoder, "frames", "encoder")
    timed(TorchWhisperEncoder, "frames", "encoder")  # the aligner's, when it carries a room adapter
    timed(head.PhoneHead, "posteriors", "phone head")
    timed(aligner, "align_posteriors", "alignment")
    timed(EvidenceScorer, "predict", "evidence readout")
    timed(scorer.Scorer, "readouts", "LMM one-pass forwards", phase=False)
    for name in ("assess_recordings", "assess_heard"):
        if hasattr(scorer.Scorer, name):
            timed(scorer.Scorer, name, "pieces scored", phase=False, marks=True)


def measure(seconds: float, plain: bool = False, model: str = "default", reencode: bool = True) -> dict:
    """One length, in this process: the row."""
    import soundfile as sf

    from lmm_apa.data.audio import PASSAGE_MAX_SECONDS, load_audio
    from lmm_apa.infer.scorer import load_scorer

    wave, text, parts = build_passage(seconds, plain=plain)
    scorer = load_scorer(model, precision="auto")
    scorer.reencode_pieces = reencode
    scorer.assess_text(wave[: 3 * SAMPLE_RATE], parts[0]["text"])  # warm-up: first-call costs
    wav = Path(os.environ.get("TMPDIR", "/tmp")) / f"passage_{os.getpid()}.wav"
    sf.write(wav, wave, SAMPLE_RATE)
    t0 = time.perf_counter()
    load_audio(wav, max_seconds=PASSAGE_MAX_SECONDS)
    stages = {"decode (the file)": time.perf_counter() - t0}
    wav.unlink()
    stage_timers(stages)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    result = scorer.assess_text(wave, text, "passage")
    wall = time.perf_counter() - t0
    load = (load + os.getloadavg()[0]) / 2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    words = result.utterance.words
    stages = {k: round(v, 2) for k, v in stages.items()}

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
        "model": model,
        "code": os.environ.get("PASSAGE_CODE", "reencode"),
        "text": "no punctuation" if plain else "sentences",
        "recordings": len(parts),
        "words": len(words),
        "wall_s": round(wall, 2),
        # the same recordings scored alone (batched) on the same cores just after: the reference
        # for the passage's overhead when other work shares the machine (`load_avg`)
        "alone_wall_s": round(alone_wall, 2),
        # the 1-minute load average (`os.getloadavg`) at the start and end of the passage's
        # scoring, averaged: the machine is shared
        "load_avg": round(load, 1),
        "stages_s": stages,
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
        # for comparing the rows of the same passage scored by other code (`agreement`)
        "word_accuracy": [round(float(w.accuracy), 4) for w in words],
        "word_start": [w.start for w in words],
    }


def table(rows: list[dict]) -> str:
    head = (
        "| passage | model | code | recordings / words | wall time (alone; load) | peak RSS (growth) "
        "| times in order | words inside their recording | last word ends / passage ends "
        "| word accuracy vs alone: PCC, mean abs diff | vs the first code's row: mean, max abs diff "
        "| total: passage / alone mean |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        first = next(f for f in rows if f["seconds"] == r["seconds"] and f["model"] == r["model"])
        d = np.abs(np.array(r["word_accuracy"]) - np.array(first["word_accuracy"]))
        lines.append(
            f"| {r['seconds']} s | {r['model']} | {r['code']} | {r['recordings']} / {r['words']} "
            f"| {r['wall_s']} s ({r['alone_wall_s']} s; {r['load_avg']}) "
            f"| {r['peak_rss_gb']} GB (+{r['rss_growth_gb']}) | {r['times_in_order']} "
            f"| {r['words_inside_own_recording']} | {r['last_end_s']} / {r['passage_end_s']} s "
            f"| {r['word_acc_pcc']}, {r['word_acc_mean_abs_diff']} | {d.mean():.3f}, {d.max():.2f} "
            f"| {r['total_passage']:.2f} / {r['total_alone_mean']} |\n"
        )
    return head + "".join(lines)


def stages_table(rows: list[dict]) -> str:
    """Seconds per stage (`stage_timers`), one column per row."""
    names = sorted({k for r in rows for k in r["stages_s"]})
    head = "| stage | " + " | ".join(f"{r['seconds']} s {r['model']} {r['code']}" for r in rows) + " |\n"
    head += "|---|" + "---|" * len(rows) + "\n"
    body = "".join(
        f"| {n} | " + " | ".join(str(r["stages_s"].get(n, "")) for r in rows) + " |\n" for n in names
    )
    return head + body + "| wall | " + " | ".join(str(r["wall_s"]) for r in rows) + " |\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[30, 60, 180])
    ap.add_argument("--out", default="bench/results/passages")
    ap.add_argument(
        "--plain", action="store_true", help="texts joined without punctuation: pieces cut at pauses"
    )
    ap.add_argument("--model", nargs="+", default=["default"], help="models to score with (load_scorer)")
    ap.add_argument(
        "--code",
        nargs="+",
        default=["reencode"],
        help="reencode: each piece encoded again alone (the default, Scorer.reencode_pieces); sliced: "
        "the pieces' frames sliced from the whole recording's; before: the package at --before-src",
    )
    ap.add_argument("--before-src", help="the src/ folder of the code to compare with (a commit's)")
    ap.add_argument("--one", type=float, help=argparse.SUPPRESS)  # a child process: one length
    ap.add_argument("--one-model", default="default", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        code = os.environ.get("PASSAGE_CODE", "reencode")
        print(json.dumps(measure(args.one, args.plain, args.one_model, reencode=code == "reencode")))
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for s in args.seconds:
        for model in args.model:
            for code in args.code:
                env = {**os.environ, "PASSAGE_CODE": code}
                if code == "before":
                    env["PYTHONPATH"] = args.before_src
                done = subprocess.run(
                    [sys.executable, __file__, "--one", str(s), "--one-model", model]
                    + (["--plain"] if args.plain else []),
                    check=True,
                    capture_output=True,
                    text=True,
                    env=env,
                )
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(json.dumps({k: v for k, v in rows[-1].items() if not isinstance(v, list)}), flush=True)
                with open(f"{out}.rows.jsonl", "a") as f:
                    f.write(json.dumps(rows[-1]) + "\n")
    Path(f"{out}.md").write_text(table(rows) + "\n" + stages_table(rows))
    print(table(rows) + "\n" + stages_table(rows))


if __name__ == "__main__":
    main()
