"""The scoring driver: one recording or many, of a given text or transcribed, as the user asked.

temporary: replaced by the driver move (the functions still live in the CLI's `score_cmd`; this module
re-exports them so that the Python API imports them from where they are going).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def as_asked(result: dict[str, Any], ipa: bool = False, scale: int = 10) -> dict[str, Any]:
    """A result with IPA added and on 0-100 when asked."""
    from lmm_apa.interfaces.cli.score_cmd import as_asked as _as_asked

    return _as_asked(result, ipa=ipa, scale=scale)


def score_one(
    scorer: Any, audio: Any, text: str | None, utt_id: str, ipa: bool = False, scale: int = 10
) -> dict[str, Any]:
    """One recording's result, of ``text`` or (None) of its transcript; IPA and 0-100 when asked."""
    from lmm_apa.interfaces.cli.score_cmd import score_one as _score_one

    return _score_one(scorer, audio, text, utt_id, ipa=ipa, scale=scale)


def score_many(
    scorer: Any,
    items: list[tuple[str, Any, str | None]],
    ipa: bool = False,
    scale: int = 10,
    workers: Any = None,
) -> Iterator[tuple[str, Any, Any]]:
    """(utt_id, audio, result or its LmmApaError) for each (utt_id, audio, text) item, in order."""
    from lmm_apa.interfaces.cli.score_cmd import score_many as _score_many

    return _score_many(scorer, items, ipa=ipa, scale=scale, workers=workers)
