"""Do the prosody features (`lmm_apa.align.prosody`) carry the raters' stress, fluency and prosody?

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 .venv/bin/python bench/prosody_signal.py \\
        --data ../shared/speechocean762 --cache /work/cache/prosody --out bench/results/prosody_signal.json

Hears dev25 (500 recordings, 25 speakers) and a train-minus-dev25 subset (every ``--every``-th
speaker, plus every recording with a word rated stress 5) with the shipped `Listener`, caching per
recording the alignment, the prosody track, the evidence scorer's `word_rows` / `sentence_row` and
its predictions. dev25 is held out from the shipped recogniser and evidence scorer (both fit on
train-minus-dev25), so their rows and predictions there are out of sample. Then:
1. ``dev25``: the PCC of each `WORD_COLUMNS` feature with word stress (said words) and of each
   `UTTERANCE_COLUMNS` feature with fluency and prosodic; a speaker-grouped 5-fold ridge (training
   folds' standardisation, intercept unpenalised, a grid of alphas, all reported) of stress on
   [word_rows + word features] against [word_rows] and of fluency / prosodic on [sentence_row +
   utterance features] against [sentence_row], with the gain's speaker-bootstrap 95% interval.
2. ``train_to_dev25``: the shipped recipe (word MLP, sentence ridge alpha 30) refit on the train
   subset with and without the prosody features, scored on dev25.
3. ``stress_auc_all``: each word feature's AUC for stress 5 against 10 over every said word heard.
Findings: docs/prosody.md.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np

ALPHAS = (10.0, 100.0, 1000.0, 10000.0)
WORD = ("accuracy", "stress", "total")
SENTENCE = ("accuracy", "fluency", "prosodic", "total")


def hear_all(utts, cache: Path) -> list[dict]:
    """Per recording: alignment, prosody track, evidence rows and predictions (cached)."""
    from lmm_apa.align.evidence_scorer import sentence_row, word_rows
    from lmm_apa.align.frontend import Listener
    from lmm_apa.align.prosody import prosody_track
    from lmm_apa.data.audio import load_audio

    cache.mkdir(parents=True, exist_ok=True)
    listener, out = None, []
    for n, u in enumerate(utts):
        path = cache / f"{u.utt_id}.pkl"
        if path.is_file():
            out.append(pickle.loads(path.read_bytes()))
            continue
        listener = listener or Listener()
        wave = load_audio(u.audio_path)
        t0 = time.perf_counter()
        heard = listener.hear(wave, u.unlabelled())
        t1 = time.perf_counter()
        track = prosody_track(wave)
        t2 = time.perf_counter()
        al, sc = heard.alignment, listener.evidence_scorer
        pp = sc.predict_phones(al)
        wp = sc.predict_words(al, pp)
        item = {
            "utt_id": u.utt_id,
            "alignment": al,
            "track": track,
            "word_rows": word_rows(al, pp),
            "sentence_row": sentence_row(al, wp, pp),
            "word_pred": wp,
            "sentence_pred": [heard.evidence.fluency, heard.evidence.prosodic],
            "seconds": {"audio": len(wave) / 16000, "hear": t1 - t0, "track": t2 - t1},
        }
        path.write_bytes(pickle.dumps(item))
        out.append(item)
        if n % 50 == 0:
            print(f"{n}/{len(utts)} heard", flush=True)
    return out


def pcc(x: np.ndarray, y: np.ndarray) -> float:
    if x.std() < 1e-9 or y.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _design(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    return np.hstack([(x - mu) / sd, np.ones((len(x), 1))])


def grouped_ridge(x: np.ndarray, y: np.ndarray, groups: np.ndarray, alpha: float, k: int = 5) -> np.ndarray:
    """Out-of-fold ridge predictions, folds by speaker."""
    from lmm_apa.ridge import ridge

    speakers = sorted(set(groups))
    fold = {s: i % k for i, s in enumerate(speakers)}
    f = np.array([fold[g] for g in groups])
    pred = np.zeros(len(y))
    for i in range(k):
        tr, te = f != i, f == i
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-4
        w = ridge(_design(x[tr], mu, sd), y[tr], alpha=alpha, free=-1)
        pred[te] = _design(x[te], mu, sd) @ w
    return pred


def compare(rows: np.ndarray, extra: np.ndarray, y: np.ndarray, groups: np.ndarray, alpha: float) -> dict:
    """Grouped-CV PCC of ridge on the evidence rows, on rows + prosody, on prosody alone, and the
    gain's 95% interval over 1000 speaker-bootstrap resamples (the same out-of-fold predictions)."""
    base = grouped_ridge(rows, y, groups, alpha)
    both = grouped_ridge(np.hstack([rows, extra]), y, groups, alpha)
    alone = grouped_ridge(extra, y, groups, alpha)
    speakers = np.array(sorted(set(groups)))
    where = {s: np.flatnonzero(groups == s) for s in speakers}
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(1000):
        idx = np.concatenate([where[s] for s in rng.choice(speakers, len(speakers))])
        gains.append(pcc(both[idx], y[idx]) - pcc(base[idx], y[idx]))
    lo, hi = np.nanpercentile(gains, [2.5, 97.5])
    return {
        "evidence": round(pcc(base, y), 3),
        "+prosody": round(pcc(both, y), 3),
        "prosody": round(pcc(alone, y), 3),
        "gain_ci95": [round(float(lo), 3), round(float(hi), 3)],
    }


def measure(utts, items) -> dict:
    from lmm_apa.align.prosody import UTTERANCE_COLUMNS, WORD_COLUMNS, utterance_features, word_features

    t0 = time.perf_counter()
    wf = [word_features(it["track"], it["alignment"]) for it in items]
    uf = np.stack([utterance_features(it["track"], it["alignment"]) for it in items])
    feat_s = (time.perf_counter() - t0) / len(items)
    said = np.concatenate([[not w.omitted for w in it["alignment"].words] for it in items])
    stress = np.concatenate([[w.stress for w in u.words] for u in utts])[said]
    w_spk = np.concatenate([[u.speaker] * len(u.words) for u in utts])[said]
    wfeat, wrows = np.concatenate(wf)[said], np.concatenate([it["word_rows"] for it in items])[said]
    wpred = np.concatenate([it["word_pred"][:, 1] for it in items])[said]
    srows = np.stack([it["sentence_row"] for it in items])
    s_spk = np.array([u.speaker for u in utts])
    spred = np.array([it["sentence_pred"] for it in items])
    res: dict = {
        "n_recordings": len(items),
        "n_speakers": len(set(s_spk)),
        "n_words_said": int(said.sum()),
        "n_words_stress_5": int((stress < 10).sum()),
        "word_feature_pcc_stress": {
            c: round(pcc(wfeat[:, i], stress), 3) for i, c in enumerate(WORD_COLUMNS)
        },
        "shipped_scorer_stress_pcc": round(pcc(wpred, stress), 3),
        "ridge_stress": {},
    }
    for a in ALPHAS:
        res["ridge_stress"][a] = compare(wrows, wfeat, stress, w_spk, a)
    for j, aspect in enumerate(("fluency", "prosodic")):
        y = np.array([u.score(aspect) for u in utts], dtype=np.float64)
        res[f"utterance_feature_pcc_{aspect}"] = {
            c: round(pcc(uf[:, i], y), 3) for i, c in enumerate(UTTERANCE_COLUMNS)
        }
        res[f"shipped_scorer_{aspect}_pcc"] = round(pcc(spred[:, j], y), 3)
        res[f"ridge_{aspect}"] = {}
        for a in ALPHAS:
            res[f"ridge_{aspect}"][a] = compare(srows, uf, y, s_spk, a)
    secs = np.array([[it["seconds"][k] for k in ("audio", "hear", "track")] for it in items])
    res["seconds_per_recording"] = {
        "audio": round(float(secs[:, 0].mean()), 2),
        "hear (encoder + aligner + scorer)": round(float(secs[:, 1].mean()), 3),
        "prosody_track (Praat)": round(float(secs[:, 2].mean()), 3),
        "word + utterance features": round(feat_s, 4),
    }
    return res


def choose(data: str, every: int) -> tuple[list, list]:
    """dev25 whole, and every ``every``-th train-minus-dev25 speaker plus each recording with a word
    rated stress 5 (a word in 60 is; without them a fit sees too few to learn from)."""
    from lmm_apa.data.splits import load_split

    dev = load_split(data, "dev25")
    train = load_split(data, "train-minus-dev25")
    keep = set(sorted({u.speaker for u in train})[::every])
    fit = [u for u in train if u.speaker in keep or any(w.stress < 10 for w in u.words)]
    return fit, dev


def _said_words(utts, items) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Said words' evidence rows, prosody features, [accuracy, stress, total] labels and the
    shipped scorer's predictions."""
    from lmm_apa.align.prosody import word_features

    said = np.concatenate([[not w.omitted for w in it["alignment"].words] for it in items])
    rows = np.concatenate([it["word_rows"] for it in items])[said]
    feats = np.concatenate([word_features(it["track"], it["alignment"]) for it in items])[said]
    labels = np.concatenate([[[w.accuracy, w.stress, w.total] for w in u.words] for u in utts])[said]
    shipped = np.concatenate([it["word_pred"] for it in items])[said]
    return rows, feats, labels.astype(np.float64), shipped


def _sentences(utts, items) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from lmm_apa.align.prosody import utterance_features

    rows = np.stack([it["sentence_row"] for it in items])
    feats = np.stack([utterance_features(it["track"], it["alignment"]) for it in items])
    labels = np.array([[u.score(a) for a in SENTENCE] for u in utts], dtype=np.float64)
    return rows, feats, labels


def transfer(fit, fit_items, dev, dev_items, seeds: int = 3) -> dict:
    """The shipped recipe refit on the train subset, scored on dev25: the word MLP (accuracy, stress,
    total; `evidence_scorer._fit_mlp`, mean over seeds) and the sentence ridge (alpha 30), each with
    and without the prosody features appended."""
    import torch

    from lmm_apa.align.evidence_scorer import Scaler, _fit_mlp
    from lmm_apa.ridge import ridge

    wr, wf, wy, _ = _said_words(fit, fit_items)
    dr, df, dy, dship = _said_words(dev, dev_items)
    out: dict = {"n_fit_recordings": len(fit), "n_fit_stress_5": int((wy[:, 1] < 10).sum())}
    out["word_shipped"] = {a: round(pcc(dship[:, i], dy[:, i]), 3) for i, a in enumerate(WORD)}
    for name, (x, xd) in {
        "word_rows": (wr, dr),
        "+prosody": (np.hstack([wr, wf]), np.hstack([dr, df])),
    }.items():
        scale = Scaler.fit(x)
        preds = []
        for seed in range(seeds):
            mlp = _fit_mlp(scale(x), (wy / 10.0).astype(np.float32), seed=seed)
            with torch.no_grad():
                preds.append(mlp(torch.as_tensor(scale(xd))).numpy())
        out[f"word_mlp_{name}"] = {
            a: [round(pcc(p[:, i], dy[:, i]), 3) for p in preds] for i, a in enumerate(WORD)
        }
    sr, sf, sy = _sentences(fit, fit_items)
    dsr, dsf, dsy = _sentences(dev, dev_items)
    ship = np.array([it["sentence_pred"] for it in dev_items])
    out["sentence_shipped"] = {
        "fluency": round(pcc(ship[:, 0], dsy[:, 1]), 3),
        "prosodic": round(pcc(ship[:, 1], dsy[:, 2]), 3),
    }
    for name, (x, xd) in {
        "sentence_row": (sr, dsr),
        "+prosody": (np.hstack([sr, sf]), np.hstack([dsr, dsf])),
    }.items():
        mu, sd = x.mean(0), x.std(0) + 1e-4
        w = ridge(_design(x, mu, sd), sy, alpha=30.0, free=-1)
        p = _design(xd, mu, sd) @ w
        out[f"sentence_ridge_{name}"] = {a: round(pcc(p[:, i], dsy[:, i]), 3) for i, a in enumerate(SENTENCE)}
    return out


def auc(x: np.ndarray, positive: np.ndarray) -> float:
    """P(a positive's x > a negative's x), ties half: the Mann-Whitney statistic over its maximum."""
    from scipy.stats import rankdata

    r = rankdata(x)
    n1, n0 = positive.sum(), (~positive).sum()
    return float((r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def stress_auc(utts, items) -> dict:
    """How well each word feature alone tells words rated stress 5 from those rated 10 (AUC: 0.5 is
    chance; below 0.5, lower values go with stress 5), over every said word heard."""
    from lmm_apa.align.prosody import WORD_COLUMNS

    _, feats, labels, shipped = _said_words(utts, items)
    low = labels[:, 1] < 10
    nv = feats[:, WORD_COLUMNS.index("n_vowels")]
    res = {
        "n_words": len(low),
        "n_stress_5": int(low.sum()),
        "stress_5_share_by_vowels": {
            int(k): f"{int(low[nv == k].sum())}/{int((nv == k).sum())}" for k in np.unique(nv)
        },
        "shipped_scorer_stress": round(auc(shipped[:, 1], low), 3),
        "shipped_scorer_accuracy": round(auc(shipped[:, 0], low), 3),
    }
    res["features"] = {c: round(auc(feats[:, i], low), 3) for i, c in enumerate(WORD_COLUMNS)}
    multi = nv >= 2
    res["features_multisyllable"] = {
        c: round(auc(feats[multi, i], low[multi]), 3) for i, c in enumerate(WORD_COLUMNS[:10])
    }
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/speechocean762")
    ap.add_argument("--cache", type=Path, default=Path("/work/cache/prosody"))
    ap.add_argument("--every", type=int, default=2, help="train-minus-dev25: every n-th speaker")
    ap.add_argument("--out", type=Path, default=Path("bench/results/prosody_signal.json"))
    args = ap.parse_args()
    fit, dev = choose(args.data, args.every)
    dev_items = hear_all(dev, args.cache)
    fit_items = hear_all(fit, args.cache)
    res = {"dev25": measure(dev, dev_items), "train_to_dev25": transfer(fit, fit_items, dev, dev_items)}
    res["stress_auc_all"] = stress_auc(fit + dev, fit_items + dev_items)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
