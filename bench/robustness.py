"""Do the scores hold on real recordings? Each dev recording scored as it is and perturbed.

    OMP_NUM_THREADS=2 .venv/bin/python bench/robustness.py --data ../shared/speechocean762 \\
        --n 40 --trim off --out bench/results/robustness/before
    OMP_NUM_THREADS=2 .venv/bin/python bench/robustness.py --data ../shared/speechocean762 \\
        --n 40 --trim on --out bench/results/robustness/after

On --n recordings of `dev` (spread over its 13 speakers; neither the shipped LMM nor the aligner has
seen them), each perturbation below is compared with the same recording as it is:
- pad: silence (the recording's own noise floor, as Gaussian noise at the RMS of its quietest tenth
  of 20 ms frames) of 0.5-3 s, drawn per side and recording; pad0: the same lengths of digital
  silence (zeros: an app that pads, a noise gate);
- noise20, noise10: white noise at 20 and 10 dB below the speech (the RMS of its speech frames);
- babble20, babble10: four other bench recordings summed (a classroom) at 20 and 10 dB below;
- tel: telephone band (down to 8 kHz and back up);
- reverb: a simulated room (RT60 0.3-0.6 s; audiomentations' RoomSimulator), at the same level;
- mp3, opus: a round trip through MP3 at 32 kb/s, Opus at 16 kb/s (phones, browsers);
- quiet: 20 dB quieter;
- combo: a phone in a room: pad, then white noise at 20 dB, telephone band and Opus at 16 kb/s.
The augmentation the aligner was trained with (`lmm_apa.data.augment`) draws its rooms from the same
kinds with other generators, levels and seeds; babble there is built from training recordings only.
For each, at sentence (total), word (accuracy) and phone (accuracy) level: the PCC of the perturbed
scores against the clean ones, the mean change (perturbed minus clean) and mean |change|, and the
PCC against the raters' labels (clean and perturbed). A recording the scorer refuses counts in
`refused`.

``--trim off`` scores whole recordings (the scorer before silence trimming:
`Scorer.trim_silence = False`); ``--trim on`` the shipped behaviour (Silero VAD, `MARGIN_S`);
``--trim aligner`` the alternative measured against it: the aligner's first and last said word on
the whole recording, plus ``--margin``, then scored again on that cut. ``--margin`` also sets the
VAD's margin (`lmm_apa.data.speech.MARGIN_S`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

PERTURBATIONS = (
    "pad", "pad0", "noise20", "noise10", "babble20", "babble10", "tel", "reverb", "mp3", "opus",
    "quiet", "combo",
)  # fmt: skip
SR = 16000


def noise_floor_rms(wave: np.ndarray) -> float:
    n = int(0.02 * SR)
    frames = wave[: len(wave) // n * n].reshape(-1, n)
    power = np.sort(np.mean(frames.astype(np.float64) ** 2, axis=1))
    return float(np.sqrt(power[: max(1, len(power) // 10)].mean()))


def _speech_rms(wave: np.ndarray) -> float:
    from lmm_apa.data.quality import measure
    from lmm_apa.data.speech import find_speech

    return 10 ** (measure(wave, find_speech(wave)).level_dbfs / 20)


def _babble(n: int, pool: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    mix = np.zeros(n)
    for j in rng.choice(len(pool), size=min(4, len(pool)), replace=False):
        w = np.tile(pool[j], n // len(pool[j]) + 1)[:n].astype(np.float64)
        mix += np.roll(w, rng.integers(n)) / (np.sqrt(np.mean(w**2)) + 1e-9)
    return mix / np.sqrt(np.mean(mix**2))


def perturb(wave: np.ndarray, kind: str, rng: np.random.Generator, pool: list | None = None) -> np.ndarray:
    """``wave`` as ``kind`` (the module docstring) makes it; ``pool``: other recordings, for babble."""
    import soxr

    if kind in ("pad", "pad0"):
        floor = noise_floor_rms(wave) if kind == "pad" else 0.0
        before, after = rng.uniform(0.5, 3.0, size=2)
        pads = [(floor * rng.standard_normal(int(s * SR))).astype(np.float32) for s in (before, after)]
        return np.concatenate([pads[0], wave, pads[1]])
    if kind.startswith(("noise", "babble")):
        babble = kind.startswith("babble")
        snr = float(kind[len("babble" if babble else "noise") :])
        noise = _babble(len(wave), pool, rng) if babble else rng.standard_normal(len(wave))
        return (wave + _speech_rms(wave) * 10 ** (-snr / 20) * noise).astype(np.float32)
    if kind == "tel":
        narrow = soxr.resample(wave, SR, 8000, quality="HQ")
        return soxr.resample(narrow, 8000, SR, quality="HQ")[: len(wave)].astype(np.float32)
    if kind == "reverb":
        import random

        from audiomentations import RoomSimulator

        random.seed(int(rng.integers(2**31)))
        np.random.seed(int(rng.integers(2**31)))
        room = RoomSimulator(
            min_target_rt60=0.3, max_target_rt60=0.6, calculation_mode="rt60", use_ray_tracing=False,
            max_order=3, leave_length_unchanged=True, p=1.0,
        )  # fmt: skip
        wet = room(wave, sample_rate=SR)
        # the simulated room also amplifies: keep the level (measured apart, by `quiet`)
        return (wet * np.sqrt(np.mean(wave**2) / (np.mean(wet**2) + 1e-12))).astype(np.float32)
    if kind == "mp3":
        from audiomentations import Mp3Compression

        return Mp3Compression(32, 32, p=1.0)(wave, sample_rate=SR).astype(np.float32)
    if kind == "opus":
        from lmm_apa.data.augment import opus_round_trip

        return opus_round_trip(wave, 16000)
    if kind == "quiet":
        return (wave * 0.1).astype(np.float32)
    if kind == "combo":
        for step in ("pad", "noise20", "tel", "opus"):
            wave = perturb(wave, step, rng, pool)
        return wave
    raise ValueError(kind)


def score_all(scorer, refs, waves, trim: str, margin: float) -> list:
    """Results (or errors) as the scorer gives them, for ``trim`` on / off / aligner."""
    scorer.trim_silence = trim == "on"
    if trim != "aligner":
        return scorer.assess_batch(refs, waves)
    cut = []
    for ref, wave in zip(refs, waves, strict=True):
        words = [w for w in scorer.listener.hear(wave, ref).alignment.words if not w.omitted]
        if not words:
            cut.append(wave)
            continue
        lo = max(0, int((words[0].start - margin) * SR))
        hi = min(len(wave), int((words[-1].end + margin) * SR))
        cut.append(wave[lo:hi])
    return scorer.assess_batch(refs, cut)


def levels(utt) -> dict[str, list[float]]:
    return {
        "sentence total": [utt.total],
        "word accuracy": [w.accuracy for w in utt.words],
        "phone accuracy": [p.accuracy for w in utt.words for p in w.phones],
    }


def pcc(a: list[float], b: list[float]) -> float | None:
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    if len(a_) < 3 or a_.std() == 0 or b_.std() == 0:
        return None
    return round(float(np.corrcoef(a_, b_)[0, 1]), 3)


def compare(labels, clean, perturbed) -> dict:
    """Per level: PCCs and shifts over the recordings scored both ways."""
    out = {}
    for level in ("sentence total", "word accuracy", "phone accuracy"):
        lab, c, p = [], [], []
        for uid, res in perturbed.items():
            if uid in clean:
                lab += levels(labels[uid])[level]
                c += levels(clean[uid])[level]
                p += levels(res)[level]
        d = np.asarray(p, float) - np.asarray(c, float)
        out[level] = {
            "n": len(c),
            "pcc_vs_clean": pcc(p, c),
            "mean_change": round(float(d.mean()), 3) if len(d) else None,
            "mean_abs_change": round(float(np.abs(d).mean()), 3) if len(d) else None,
            "pcc_labels_clean": pcc(c, lab),
            "pcc_labels_perturbed": pcc(p, lab),
        }
    return out


def main() -> None:
    from lmm_apa.data import speech
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import spread_sample
    from lmm_apa.infer.scorer import load_scorer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--split", default="dev")
    p.add_argument("--n", type=int, default=40, help="recordings, spread over the split's speakers")
    p.add_argument("--model", default="default")
    p.add_argument("--trim", choices=("on", "off", "aligner"), default="on")
    p.add_argument(
        "--margin", type=float, default=speech.MARGIN_S, help="seconds kept each side of the speech"
    )
    p.add_argument("--perturb", default=",".join(PERTURBATIONS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="bench/results/robustness/after")
    args = p.parse_args()
    speech.MARGIN_S = args.margin

    utts = spread_sample(load_split(args.data, args.split), args.n)
    labels = {u.utt_id: u for u in utts}
    refs = [u.unlabelled() for u in utts]
    waves = [load_audio(u.audio_path) for u in utts]
    scorer = load_scorer(args.model)
    t0 = time.perf_counter()

    def scored(ws) -> tuple[dict, list[str]]:
        done, refused = {}, []
        for u, r in zip(utts, score_all(scorer, refs, ws, args.trim, args.margin), strict=True):
            if isinstance(r, Exception):
                refused.append(f"{u.utt_id}: {r}")
            else:
                done[u.utt_id] = r.utterance
        return done, refused

    clean, refused_clean = scored(waves)
    report = {"clean": {"refused": refused_clean, "vs_labels": compare(labels, clean, clean)}}
    for kind in args.perturb.split(","):
        rng = np.random.default_rng(args.seed)
        got, refused = scored(
            [perturb(w, kind, rng, waves[:i] + waves[i + 1 :]) for i, w in enumerate(waves)]
        )
        report[kind] = {"refused": refused, **compare(labels, clean, got)}
        print(kind, json.dumps(report[kind]["sentence total"]), flush=True)
    meta = {
        "n": len(utts),
        "split": args.split,
        "model": args.model,
        "trim": args.trim,
        "margin_s": args.margin,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # out's name may hold a dot (a margin): add the suffix rather than replace one
    (out.parent / f"{out.name}.json").write_text(
        json.dumps({"meta": meta, "results": report}, indent=1) + "\n"
    )
    (out.parent / f"{out.name}.md").write_text(table(meta, report))
    print(table(meta, report))


def table(meta: dict, report: dict) -> str:
    lines = [
        f"# Robustness: {meta['n']} {meta['split']} recordings, --model {meta['model']}, "
        f"--trim {meta['trim']} (margin {meta['margin_s']:g} s), {meta['seconds']:.0f} s",
        "",
        "| perturbation | level | n | PCC vs clean | mean change | mean abs change | PCC labels (clean) "
        "| PCC labels (perturbed) | refused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in report.items():
        if kind == "clean":
            continue
        for level in ("sentence total", "word accuracy", "phone accuracy"):
            m = r[level]
            lines.append(
                f"| {kind} | {level} | {m['n']} | {m['pcc_vs_clean']} | {m['mean_change']} | "
                f"{m['mean_abs_change']} | {m['pcc_labels_clean']} | {m['pcc_labels_perturbed']} | "
                f"{len(r['refused'])} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
