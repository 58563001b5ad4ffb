"""The phone recogniser's classes: CTC blank, the 39 ARPAbet phones of the corpus (stress dropped)."""

from __future__ import annotations

import re

BLANK = 0
PHONES: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH",
    "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V",
    "W", "Y", "Z", "ZH",
)  # fmt: skip
N_CLASSES = 1 + len(PHONES)
_INDEX = {p: i + 1 for i, p in enumerate(PHONES)}


def base_phone(symbol: str) -> str:
    """ "IY0" -> "IY": the recogniser does not tell stress apart (the word's stress score does)."""
    return re.sub(r"[012]$", "", symbol.upper())


def phone_id(symbol: str) -> int:
    """Class index (1..39) of a corpus phone symbol, stress digit or not."""
    try:
        return _INDEX[base_phone(symbol)]
    except KeyError:
        raise ValueError(f"{symbol!r} is not a CMU ARPAbet phone") from None
