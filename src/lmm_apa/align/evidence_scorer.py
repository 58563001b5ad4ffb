"""Scores from the acoustic evidence alone: the honest check that the aligner hears what was said.

Three small models, fit on a training split's labels and the `Alignment`s of its recordings:
- phone accuracy: an MLP on each phone's evidence (GOP statistics, phone-mass shares, the pooled
  recogniser state), its identity and position in the word, and its neighbours' GOP statistics;
- word accuracy / stress / total: an MLP on the word's statistics, its phones' pooled state and the
  phone model's predictions for its phones;
- sentence accuracy / fluency / prosodic / total: ridge regression on the word and phone
  predictions, timing (speech rate, pauses) and the utterance's pooled recogniser state.
Completeness is the corpus' own definition, the share of words said (0-10), from the omissions.
Unsaid words score 0 (accuracy, total; their phones 0) and stress 5, the bottom of its scale: what a
rater gives a word that was not read.

The features are standardised with the training split's statistics; weights and statistics are
saved together (`save` / `load`) so the scorer can flag mispronounced words with the same models.

An optional feature hook appends columns to each level's rows, as `HierScorer`'s does:
``extra_features(al, utt) -> (phone_x (n_phones, a), word_x (n_words, b), utt_x (c,))`` with ``utt``
the reference (its ``audio_path`` gives the recording; `lmm_apa.align.prosody.prosody_features`).
It is for experiments on the folds (`eval.crossval`, scorer ``evidence+prosody``); the shipped
readout has none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lmm_apa.align.aligner import FRAME_RATE, Alignment, PhoneAlignment, WordAlignment
from lmm_apa.align.evidence import PHONE_SCALARS
from lmm_apa.align.phoneset import PHONES, phone_id
from lmm_apa.align.thresholds import HEARD_BELOW, MISPRONUNCIATION_BELOW
from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.ridge import ridge

# The shipped weights keep the files' first name (the class was once called a readout).
SCORER_FILE = "readout.safetensors"
SCORER_JSON = "readout.json"
OMITTED_STRESS = 5.0
_GAP = ("gop", "log_share", "lp_path")  # neighbour statistics a phone sees
_SENTENCE = ("accuracy", "fluency", "prosodic", "total")

Extra = tuple[np.ndarray, np.ndarray, np.ndarray]  # (phone_x, word_x, utt_x)
ExtraFeatures = Callable[[Alignment, Utterance], Extra]


def concat_features(*hooks: ExtraFeatures) -> ExtraFeatures:
    """One hook giving each of ``hooks``' columns side by side, level by level."""

    def both(al: Alignment, utt: Utterance) -> Extra:
        parts = [h(al, utt) for h in hooks]
        return tuple(
            np.concatenate([np.asarray(p[level], dtype=np.float32) for p in parts], axis=-1)
            for level in range(3)
        )

    both.__name__ = "+".join(getattr(h, "__name__", "hook") for h in hooks)
    return both


def phone_rows(al: Alignment) -> np.ndarray:
    rows = []
    flat = [(w, j) for w in al.words for j in range(len(w.phones))]
    idx = {PHONE_SCALARS.index(k) for k in _GAP}
    for i, (w, j) in enumerate(flat):
        p = w.phones[j]
        ident = np.zeros(len(PHONES))
        ident[phone_id(p.symbol) - 1] = 1.0
        n = len(w.phones)
        pos = np.eye(4)[0 if n == 1 else 1 if j == 0 else 3 if j == n - 1 else 2]
        ctx = []
        for k in (i - 1, i + 1):
            if 0 <= k < len(flat):
                q = flat[k][0].phones[flat[k][1]]
                ctx.append(q.scalars()[sorted(idx)])
            else:
                ctx.append(np.zeros(len(idx)))
        rows.append(np.concatenate([p.scalars(), p.share, p.state, ident, pos, *ctx, w.scalars()]))
    return np.asarray(rows, dtype=np.float32)


def _with(rows: np.ndarray, extra: Extra | None, level: int) -> np.ndarray:
    """``rows`` with the hook's columns of ``level`` (0 phone, 1 word, 2 utterance) appended."""
    if extra is None:
        return rows
    return np.concatenate([rows, np.asarray(extra[level], dtype=rows.dtype)], axis=-1)


def word_rows(al: Alignment, phone_pred: np.ndarray) -> np.ndarray:
    rows, k = [], 0
    for w in al.words:
        pred = phone_pred[k : k + len(w.phones)]
        k += len(w.phones)
        state = np.mean([p.state for p in w.phones], axis=0)
        rows.append(np.concatenate([w.scalars(), [pred.mean(), pred.min(), pred.max()], state]))
    return np.asarray(rows, dtype=np.float32)


def sentence_row(al: Alignment, word_pred: np.ndarray, phone_pred: np.ndarray) -> np.ndarray:
    said = [w for w in al.words if not w.omitted]
    if said:
        span = max(w.end for w in said) - min(w.start for w in said)
        pauses = [b.start - a.end for a, b in zip(said, said[1:], strict=False)]
        state = np.mean([p.state for w in said for p in w.phones], axis=0)
    else:
        span, pauses, state = 0.0, [], np.zeros_like(al.words[0].phones[0].state)
    n_phones = sum(len(w.phones) for w in said)
    timing = [
        np.log1p(span),
        n_phones / max(span, 0.1),
        np.sum(np.maximum(pauses, 0)) if pauses else 0.0,
        float(np.sum(np.array(pauses) > 0.25)) if pauses else 0.0,
        al.said / len(al.words),
        len(al.insertions),
        np.log1p(al.duration),
    ]
    return np.concatenate(
        [word_pred.mean(0), word_pred.min(0), [phone_pred.mean(), phone_pred.min()], timing, state]
    ).astype(np.float32)


class _MLP(nn.Module):
    def __init__(self, d_in: int, d_out: int, d_hidden: int = 128, dropout: float = 0.3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_in, d_hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_hidden, d_out)
        )

    def forward(self, x):
        return self.net(x)


def _fit_mlp(x: np.ndarray, y: np.ndarray, epochs: int = 40, seed: int = 0) -> _MLP:
    torch.manual_seed(seed)
    model = _MLP(x.shape[1], y.shape[1])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(xt), generator=gen).split(256):
            loss = nn.functional.mse_loss(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


class Scaler:
    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean, self.std = mean.astype(np.float32), std.astype(np.float32)

    @classmethod
    def fit(cls, x: np.ndarray) -> Scaler:
        return cls(x.mean(0), x.std(0) + 1e-4)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)


def scored_utterance(
    reference: Utterance, al: Alignment, pp: np.ndarray, wp: np.ndarray, sent: np.ndarray
) -> Utterance:
    """``reference`` with phone (``pp``), word (``wp``: accuracy, stress, total) and sentence
    (``sent``: the four aspects) predictions, completeness from the alignment (the share of words
    said) and the sentence scores capped by it; every evidence scorer's last step."""
    completeness = 10.0 * al.said / len(al.words)
    # An utterance is no better than the share of it that was read.
    sent = np.minimum(sent, completeness) if al.said < len(al.words) else sent
    words, k = [], 0
    for w, (acc, stress, total) in zip(reference.words, wp, strict=True):
        phones = [Phone(symbol=p.symbol, accuracy=float(pp[k + j])) for j, p in enumerate(w.phones)]
        k += len(w.phones)
        words.append(
            Word(text=w.text, accuracy=float(acc), stress=float(stress), total=float(total), phones=phones)
        )
    return reference.model_copy(
        update={
            "words": words,
            "completeness": completeness,
            **dict(zip(_SENTENCE, map(float, sent), strict=True)),
        }
    )


class EvidenceScorer:
    def __init__(self, extra_features: ExtraFeatures | None = None) -> None:
        self.extra_features = extra_features
        self.phone: _MLP | None = None
        self.word: _MLP | None = None
        self.scalers: dict[str, Scaler] = {}
        self.sentence_w: np.ndarray | None = None  # ridge weights (d + 1, 4), bias last

    # ---- fit --------------------------------------------------------------------------------------
    def fit(self, utts: list[Utterance], alignments: list[Alignment], seed: int = 0) -> EvidenceScorer:
        """Fit on labelled utterances and their alignments (same order). Omitted words are left out of
        the phone and word fits: the corpus labels them as read, so they would teach noise."""
        xp, yp, xw, yw, xs, ys = [], [], [], [], [], []
        extras = [self._extra(al, u) for u, al in zip(utts, alignments, strict=True)]
        for u, al, ex in zip(utts, alignments, extras, strict=True):
            rows = _with(phone_rows(al), ex, 0)
            said = np.concatenate([[not w.omitted] * len(w.phones) for w in al.words])
            xp.append(rows[said])
            yp.append(np.array([p.accuracy for p in u.phones])[said])
        self.scalers["phone"] = Scaler.fit(np.concatenate(xp))
        self.phone = _fit_mlp(
            self.scalers["phone"](np.concatenate(xp)), np.concatenate(yp)[:, None], seed=seed
        )
        for u, al, ex in zip(utts, alignments, extras, strict=True):
            pp = self.predict_phones(al, ex)
            rows = _with(word_rows(al, pp), ex, 1)
            said = np.array([not w.omitted for w in al.words])
            xw.append(rows[said])
            yw.append(np.array([[w.accuracy, w.stress, w.total] for w in u.words])[said] / 10.0)
        self.scalers["word"] = Scaler.fit(np.concatenate(xw))
        self.word = _fit_mlp(self.scalers["word"](np.concatenate(xw)), np.concatenate(yw), seed=seed)
        for u, al, ex in zip(utts, alignments, extras, strict=True):
            pp = self.predict_phones(al, ex)
            xs.append(_with(sentence_row(al, self.predict_words(al, pp, ex), pp), ex, 2))
            ys.append([u.score(a) for a in _SENTENCE])
        xs_arr = np.asarray(xs)
        self.scalers["sentence"] = Scaler.fit(xs_arr)
        design = np.hstack([self.scalers["sentence"](xs_arr), np.ones((len(xs_arr), 1))])
        self.sentence_w = ridge(design, np.asarray(ys, dtype=np.float64), alpha=30.0, free=-1)
        return self

    # ---- predict ----------------------------------------------------------------------------------
    def _extra(self, al: Alignment, utt: Utterance) -> Extra | None:
        return self.extra_features(al, utt) if self.extra_features is not None else None

    def _check(self, extra: Extra | None) -> None:
        if (extra is None) != (self.extra_features is None):
            raise ValueError("a scorer with extra_features predicts with its extra columns (predict does)")

    @torch.no_grad()
    def predict_phones(self, al: Alignment, extra: Extra | None = None) -> np.ndarray:
        self._check(extra)
        x = self.scalers["phone"](_with(phone_rows(al), extra, 0))
        pred = self.phone(torch.as_tensor(x))[:, 0].numpy().clip(0.0, 2.0)
        omitted = np.concatenate([[w.omitted] * len(w.phones) for w in al.words])
        return np.where(omitted, 0.0, pred)

    @torch.no_grad()
    def predict_words(self, al: Alignment, phone_pred: np.ndarray, extra: Extra | None = None) -> np.ndarray:
        self._check(extra)
        x = self.scalers["word"](_with(word_rows(al, phone_pred), extra, 1))
        pred = (self.word(torch.as_tensor(x)).numpy() * 10.0).clip(0.0, 10.0)
        for i, w in enumerate(al.words):
            if w.omitted:
                pred[i] = (0.0, OMITTED_STRESS, 0.0)
        return pred

    def predict(self, reference: Utterance, al: Alignment) -> Utterance:
        """``reference`` scored at every granularity from its alignment's evidence."""
        extra = self._extra(al, reference)
        pp = self.predict_phones(al, extra)
        wp = self.predict_words(al, pp, extra)
        row = self.scalers["sentence"](_with(sentence_row(al, wp, pp), extra, 2)[None])
        sent = (np.hstack([row, [[1.0]]]) @ self.sentence_w)[0].clip(0.0, 10.0)
        return scored_utterance(reference, al, pp, wp, sent)

    @staticmethod
    def error_type(word: WordAlignment, accuracy: float, below: float = MISPRONUNCIATION_BELOW) -> str:
        """omission, mispronunciation (said, readout accuracy under ``below``) or none; the scorer
        passes its policy's threshold (`infer.policy.ScoringPolicy.mispronunciation_below`)."""
        if word.omitted:
            return "omission"
        return "mispronunciation" if accuracy < below else "none"

    @staticmethod
    def heard_phone(phone: PhoneAlignment, accuracy: float | None, below: float = HEARD_BELOW) -> str | None:
        """The phone heard instead of a said one this scorer scores wrong (readout accuracy under
        ``below``); None where it sounds right."""
        if phone.rival is None or accuracy is None or accuracy >= below:
            return None
        return phone.rival

    # ---- save / load ------------------------------------------------------------------------------
    def save(self, out_dir: str | Path, **provenance) -> Path:
        from safetensors.numpy import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {f"phone.{k}": v.numpy() for k, v in self.phone.state_dict().items()}
        tensors |= {f"word.{k}": v.numpy() for k, v in self.word.state_dict().items()}
        for name, s in self.scalers.items():
            tensors[f"scaler.{name}.mean"], tensors[f"scaler.{name}.std"] = s.mean, s.std
        tensors["sentence.w"] = self.sentence_w.astype(np.float32)
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, out / SCORER_FILE)
        (out / SCORER_JSON).write_text(json.dumps({"frame_rate": FRAME_RATE, **provenance}, indent=2))
        return out

    @classmethod
    def load(cls, folder: str | Path) -> EvidenceScorer:
        from safetensors.numpy import load_file

        t = load_file(Path(folder) / SCORER_FILE)
        self = cls()
        for name in ("phone", "word"):
            state = {k[len(name) + 1 :]: torch.as_tensor(v) for k, v in t.items() if k.startswith(name + ".")}
            mlp = _MLP(
                state["net.0.weight"].shape[1], state["net.3.weight"].shape[0], state["net.0.weight"].shape[0]
            )
            mlp.load_state_dict(state)
            setattr(self, name, mlp.eval())
        for name in ("phone", "word", "sentence"):
            self.scalers[name] = Scaler(t[f"scaler.{name}.mean"], t[f"scaler.{name}.std"])
        self.sentence_w = t["sentence.w"].astype(np.float64)
        return self
