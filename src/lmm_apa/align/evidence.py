"""Acoustic evidence per phone and per word, read from the recogniser's posteriors over aligned segments.

What the strong phone-level scorers (GOPT, MuFFIN, HMamba) feed their models, computed from our CTC
head: for each canonical phone, how much of its segment's phone mass the canonical phone takes, the
best competitor and the log posterior ratio (GOP), the posterior on the best path, duration and the
blank share; the segment's recogniser state and encoder frames, mean-pooled. Per word: the same
statistics over its phones, and how the forced path through its phones compares with the
recogniser's free choice over the same frames (near 0: heard as written; very negative: something
else was said).

A CTC recogniser spends most frames on blank, so posteriors are summed over the segment rather than
averaged frame by frame: the "phone mass" is what the segment says, whichever frame it peaks on.
"""

from __future__ import annotations

import numpy as np

from lmm_apa.align.phoneset import BLANK, PHONES

_EPS = 1e-6
# Order of the scalar statistics in `phone_scalars`; the evidence scorer names its inputs with these.
PHONE_SCALARS: tuple[str, ...] = (
    "lp_path",  # mean log posterior of the canonical phone on the frames the best path gave it
    "lp_max",  # its best frame
    "log_mass",  # log of its posterior summed over the segment
    "log_share",  # log of its share of the segment's phone mass
    "gop",  # log share of canonical - log share of the best competitor
    "blank",  # mean blank posterior over the segment
    "log_frames",  # log segment length (frames)
    "path_frames",  # frames on the best path
    "omitted",  # 1 when the word was skipped (the other values are then fixed defaults)
)
WORD_SCALARS: tuple[str, ...] = (
    "path_vs_free",  # mean per frame of (forced path log prob - free best class log prob)
    "gop_mean",
    "gop_min",
    "share_mean",
    "share_min",
    "lp_path_mean",
    "log_frames",
    "n_phones",
    "omitted",
)


def segment_stats(logp: np.ndarray, frames: slice, path: slice, canonical: int) -> dict[str, float]:
    """The `PHONE_SCALARS` (but ``omitted``) of one phone, plus its phone-mass distribution."""
    post = np.exp(logp[frames])
    mass = post[:, 1:].sum(axis=0)  # (39,)
    share = mass / (mass.sum() + _EPS)
    c = canonical - 1
    rival = np.delete(share, c).max()
    return {
        "lp_path": float(logp[path, canonical].mean()),
        "lp_max": float(logp[frames, canonical].max()),
        "log_mass": float(np.log(mass[c] + _EPS)),
        "log_share": float(np.log(share[c] + _EPS)),
        "gop": float(np.log(share[c] + _EPS) - np.log(rival + _EPS)),
        "blank": float(post[:, BLANK].mean()),
        "log_frames": float(np.log(frames.stop - frames.start)),
        "path_frames": float(path.stop - path.start),
        "share": share,
    }


# What an unsaid phone's statistics are set to: as unlike a heard phone as the recogniser gets.
OMITTED_STATS: dict[str, float] = {
    "lp_path": np.log(_EPS),
    "lp_max": np.log(_EPS),
    "log_mass": np.log(_EPS),
    "log_share": np.log(_EPS),
    "gop": np.log(_EPS),
    "blank": 1.0,
    "log_frames": 0.0,
    "path_frames": 0.0,
}


def rival_phone(share: np.ndarray, canonical: int) -> str:
    """The phone other than the canonical one that takes most of the segment's phone mass."""
    rivals = share.copy()
    rivals[canonical - 1] = -1.0
    return PHONES[int(rivals.argmax())]
