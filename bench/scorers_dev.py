"""The LMM, the evidence readout and their blend on the same held-out recordings, and how each listens.

    OMP_NUM_THREADS=2 .venv/bin/python bench/scorers_dev.py --data ../shared/speechocean762 \\
        --out bench/results/scorers_dev

On `dev` (13 speakers: the only split neither the shipped LMM, trained on train-minus-dev, nor the
aligner, trained on train-minus-dev25, has seen): the shipped LMM alone (its one-pass scores), the
same merged with what the aligner heard (`infer.heard.with_alignment`), the evidence readout alone,
blends of the two at --weights (the LMM's share), and the model's own blend (its scoring policy's
shares, `lmm_apa.infer.policy`). Then the listening checks on --n-listen of
them: scored against another recording's text, and cut after half their length.
For an LMM trained on train-minus-dev25 (configs/cpu_listen.yaml), score it on the larger split:
`--model runs/listen1/final --split dev25 --out bench/results/scorers_dev25_listen`. `--limit 250`
picks a speaker-spread half of dev25 (to choose on), `--limit 250 --complement` the other half (to
report on).

Two models on the same recordings, paired: write each one's shipped-blend predictions with
``--predictions-out`` (``--share`` for a model shipped with another blend, e.g. the previous default:
``--share sentence=0.25,word=0,phone=0``), then ``bench/compare_predictions.py``. To choose a
model's shares, see ``scripts/choose_lmm_share.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np


def blend(lmm, evidence, weight):
    from lmm_apa.infer.heard import blend_scores

    return blend_scores(lmm, evidence, weight)


def main() -> None:
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.listening import cut_word_scores, other_text_scores
    from lmm_apa.eval.report import evaluate_predictions
    from lmm_apa.infer.heard import with_alignment
    from lmm_apa.infer.scorer import load_scorer

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--weights", default="0.25,0.5")
    p.add_argument("--model", default="default", help="the LMM: default, or an adapter folder")
    p.add_argument("--split", default="dev", help="dev, or dev25 for a model trained on train-minus-dev25")
    p.add_argument("--n-listen", type=int, default=60)
    p.add_argument("--limit", type=int, default=None, help="a speaker-spread sample of N utterances")
    p.add_argument(
        "--complement",
        action="store_true",
        help="the utterances --limit leaves out: report on them what was chosen on the sample",
    )
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument(
        "--share",
        default=None,
        help="the default row's LMM share by level, over the model's policy: sentence=0.25,word=0,phone=0",
    )
    p.add_argument("--predictions-out", default=None, help="write the default row's predictions (JSONL) here")
    p.add_argument("--out", default="bench/results/scorers_dev")
    args = p.parse_args()
    weights = [float(w) for w in args.weights.split(",")]

    dev = load_split(args.data, args.split)
    if args.limit:
        from lmm_apa.eval.report import spread_sample

        sample = spread_sample(dev, args.limit)
        if args.complement:
            chosen = {u.utt_id for u in sample}
            sample = [u for u in dev if u.utt_id not in chosen]
        dev = sample
    # --share: the blend a model was shipped with, when it is not its policy's
    scorer = load_scorer(args.model, lmm_share=args.share)
    shipped_share = scorer.policy.lmm_share
    scorer.read_all_slots = True  # the LMM's own row needs every slot, also those the blend leaves out
    listener = scorer.listener
    preds: dict[str, dict] = {"lmm": {}, "lmm + heard": {}, "evidence": {}}
    preds |= {f"blend {w:g} + heard": {} for w in weights} | {"default (shipped blend) + heard": {}}
    t0 = time.perf_counter()
    for u in dev:
        ref, wave = u.unlabelled(), load_audio(u.audio_path)
        heard = listener.hear(wave, ref)
        raw = scorer.lmm_scores(ref, wave, heard).utterance
        preds["lmm"][u.utt_id] = raw
        preds["lmm + heard"][u.utt_id] = with_alignment(raw, heard.alignment, heard.evidence)
        preds["evidence"][u.utt_id] = with_alignment(heard.evidence, heard.alignment, heard.evidence)
        for w in weights:
            mixed = blend(raw, heard.evidence, w)
            preds[f"blend {w:g} + heard"][u.utt_id] = with_alignment(mixed, heard.alignment, heard.evidence)
        mixed = blend(raw, heard.evidence, shipped_share)
        preds["default (shipped blend) + heard"][u.utt_id] = with_alignment(
            mixed, heard.alignment, heard.evidence
        )
    seconds = time.perf_counter() - t0
    metrics = {name: evaluate_predictions(dev, p, n_boot=args.n_boot) for name, p in preds.items()}
    if args.predictions_out:
        from lmm_apa.eval.predictions import write_predictions

        shipped = preds["default (shipped blend) + heard"]
        meta = {"model": args.model, "lmm_share": shipped_share}
        write_predictions([shipped[u.utt_id] for u in dev], args.predictions_out, meta=meta)

    # listening: the full default path (LMM + heard, and each blend) on wrong texts and cut recordings
    rng = random.Random(0)
    sample = rng.sample(dev, min(args.n_listen, len(dev)))
    listen: dict[str, dict[str, list]] = {}
    for i, u in enumerate(sample):
        other = next(v for v in sample[i + 1 :] + sample[:i] if v.text != u.text).unlabelled()
        wave = load_audio(u.audio_path)
        half = len(wave) / 2 / 16000
        full = listener.hear(wave, u.unlabelled()).alignment
        for case, ref, audio in (
            ("wrong_text", other, wave),
            ("cut_half", u.unlabelled(), wave[: len(wave) // 2]),
        ):
            heard = listener.hear(audio, ref)
            raw = scorer.lmm_scores(ref, audio, heard).utterance
            variants = {"lmm": raw, "lmm + heard": with_alignment(raw, heard.alignment, heard.evidence)}
            variants["evidence"] = with_alignment(heard.evidence, heard.alignment, heard.evidence)
            for w in weights:
                mixed = blend(raw, heard.evidence, w)
                variants[f"blend {w:g} + heard"] = with_alignment(mixed, heard.alignment, heard.evidence)
            mixed = blend(raw, heard.evidence, shipped_share)
            variants["default (shipped blend) + heard"] = with_alignment(
                mixed, heard.alignment, heard.evidence
            )
            for name, pred in variants.items():
                d = listen.setdefault(name, {})
                got = other_text_scores(pred) if case == "wrong_text" else cut_word_scores(pred, full, half)
                for key, values in got.items():
                    d.setdefault(key, []).extend(values)
    # a model whose blend leaves a granularity to the readout does not read those slots (None)
    listen_mean = {
        n: {
            k: round(float(np.mean([x for x in v if x is not None])), 3)
            for k, v in d.items()
            if any(x is not None for x in v)
        }
        for n, d in listen.items()
    }

    keys = [("sentence", a) for a in ("accuracy", "fluency", "prosodic", "total")]
    keys += [("word", a) for a in ("accuracy", "stress", "total")] + [("phone", "accuracy")]
    lines = [
        f"{args.split}: {len(dev)} utterances, {len({u.speaker for u in dev})} speakers; LMM {args.model}; "
        "PCC [95% speaker-bootstrap CI]",
        "",
        "| scorer | " + " | ".join(f"{g} {a}" for g, a in keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for name, m in metrics.items():
        cells = []
        for g, a in keys:
            x = m[g][a]
            ci = x.get("pcc_ci")
            if x.get("pcc") is None:  # slots this scorer does not read
                cells.append("—")
                continue
            cells.append(f"{x['pcc']:.3f} [{ci[0]:.2f},{ci[1]:.2f}]" if ci else f"{x['pcc']:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Listening checks (means):", "```", json.dumps(listen_mean, indent=2), "```"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"args": vars(args), "seconds": seconds, "metrics": metrics, "listening": listen_mean}
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
