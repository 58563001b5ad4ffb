"""How well the Whisper decoder hears the reference text (issue "Past the best specialist scorers",
item 2): each word's tokens teacher-forced through Whisper-base's decoder given the recording
(`models.whisper_ct2.CT2WhisperReader`), as features beside the aligner's evidence.

The phone recogniser hears phones one by one; the decoder hears words in context, as a listener who
knows English does, and it was trained on 680k hours where our head saw 2000 recordings. A word it
finds improbable where the text says it is one the speaker did not make heard.

Columns (natural-log token probabilities; a word's tokens are those of " word" in sentence case):
- word: its tokens' mean, its lowest, its first;
- phone: its word's mean and lowest (the decoder does not hear phones);
- utterance: the mean over all tokens, the mean of the words' means, the lowest word mean, and
  the share of words whose mean is under log(0.1).

Used through the scorers' ``extra_features`` hook (`decoder_features`), as `align.prosody` is. A
recording's probabilities are kept in memory for the process and, where the environment variable
``LMM_APA_HEARD_TEXT_CACHE`` names a folder, on disk (one .npz per recording and text), so that
several cross-validation runs pay the decoder once.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from lmm_apa.align.aligner import Alignment
from lmm_apa.data.records import Utterance

UNHEARD = float(np.log(0.1))


@functools.lru_cache(maxsize=1)
def _reader():
    from lmm_apa.models.parts import whisper_ct2_dir
    from lmm_apa.models.whisper_ct2 import CT2WhisperReader

    return CT2WhisperReader(whisper_ct2_dir())


@functools.lru_cache(maxsize=8192)
def _logprobs_of(audio_path: str, words: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    # depends on the recording and the text only: computed once for all five folds' scorers
    from lmm_apa.data.audio import load_audio

    folder = os.environ.get("LMM_APA_HEARD_TEXT_CACHE")
    key = hashlib.sha1(repr((audio_path, words)).encode()).hexdigest()[:20]
    path = Path(folder) / f"{key}.npz" if folder else None
    if path is not None and path.is_file():
        stored = np.load(path)
        return tuple(np.split(stored["logp"], np.cumsum(stored["lengths"])[:-1]))
    out = tuple(_reader().token_logprobs(load_audio(audio_path), list(words)))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, logp=np.concatenate(out), lengths=np.array([len(x) for x in out]))
    return out


def text_features(
    logprobs: list[np.ndarray], phones_per_word: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phone (n_phones, 2), word (n_words, 3), utterance (4,)) features from each word's token
    log-probabilities (module docstring)."""
    word = np.array([[lp.mean(), lp.min(), lp[0]] for lp in logprobs], dtype=np.float32).reshape(-1, 3)
    phone = np.repeat(word[:, :2], phones_per_word, axis=0)
    tokens = np.concatenate(logprobs) if logprobs else np.zeros(1)
    means = word[:, 0] if len(word) else np.zeros(1)
    utt = np.array([tokens.mean(), means.mean(), means.min(), (means < UNHEARD).mean()], dtype=np.float32)
    return phone, word, utt


def decoder_features(al: Alignment, utt: Utterance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `EvidenceScorer` / `HierScorer` ``extra_features`` hook: the features above for ``utt``'s
    recording (its ``audio_path``) and text."""
    if utt.audio_path is None:
        raise ValueError(f"{utt.utt_id}: the decoder's features need the recording (audio_path)")
    words = tuple(w.text for w in al.words)
    logprobs = list(_logprobs_of(str(utt.audio_path), words))
    return text_features(logprobs, [len(w.phones) for w in al.words])
