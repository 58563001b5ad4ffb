"""`ScoringPolicy`: how final scores are made from the LMM's and the aligner's, in one object.

The LMM's share of each level in the blend with the aligner's evidence readout, the completeness
cap, and the thresholds that decide omissions, mispronunciations and heard phones. It is data kept
beside the weights it was tuned with: ``scoring_policy.json`` in an adapter folder (`load_policy`),
chosen on held-out speakers by ``scripts/choose_lmm_share.py``. The scorer applies it the same way
for any adapter (`lmm_apa.infer.scorer.Scorer`), records it in every result's ``meta``, and the CLI's
and the API's ``--lmm-share`` / ``lmm_share=`` override its shares (`with_share`).

A file of its own rather than a key of ``lmm_apa_adapter.json``: that file is the trainer's record of
how to load the weights (and what Whisper-base they were trained on); the policy is chosen after
training, from predictions, and may be chosen again without rewriting the training record.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmm_apa.align.thresholds import HEARD_BELOW, MISPRONUNCIATION_BELOW, SKIP_BASE, SKIP_PER_PHONE
from lmm_apa.errors import ConfigError

POLICY_JSON = "scoring_policy.json"
LEVELS: tuple[str, ...] = ("sentence", "word", "phone")
# The scales each threshold is on (the corpus': word accuracy 0-10, phone accuracy 0-2).
_RANGES: dict[str, tuple[float, float]] = {"mispronunciation_below": (0.0, 10.0), "heard_below": (0.0, 2.0)}


def _all(share: float) -> dict[str, float]:
    return dict.fromkeys(LEVELS, share)


@dataclass(frozen=True)
class ScoringPolicy:
    """How the scorer turns the LMM's and the aligner's scores into the reported ones.

    Defaults: an adapter without a policy file. Its scores are the LMM's own (share 1 at every
    level), merged with what the aligner heard under the shipped thresholds, as before the policy
    existed; the shipped default model carries its own file (a quarter of the LMM).
    """

    # The LMM's share per level: share * LMM + (1 - share) * evidence readout (`heard.blend_scores`).
    # 1: the LMM's own; 0: the readout's alone (the LMM's slots of that level are not even read).
    lmm_share: dict[str, float] = field(default_factory=lambda: _all(1.0))
    # No sentence score above completeness (the share of words said, 0-10) when words are missing:
    # reading half a sentence well is not a 9 (`heard.with_alignment`; the unsaid training copies,
    # `tasks.unsaid`, are labelled under the same rule).
    completeness_cap: bool = True
    # The cost (log-probability) of leaving a word unsaid: base + per_phone * its phones (higher:
    # fewer omissions). `align.thresholds.SKIP_BASE` / `SKIP_PER_PHONE`, chosen on dev.
    omission_skip_base: float = SKIP_BASE
    omission_skip_per_phone: float = SKIP_PER_PHONE
    # A said word whose readout accuracy (0-10) is below this is a "mispronunciation".
    mispronunciation_below: float = MISPRONUNCIATION_BELOW
    # A said phone whose readout accuracy (0-2) is below this is reported as heard as its rival.
    heard_below: float = HEARD_BELOW
    # How it was chosen (free text, kept in the file; not part of the scoring).
    note: str = field(default="", compare=False)
    # Where it came from, for `lmm-apa model info` and every result's meta (never saved).
    source: str = field(default="built-in default", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lmm_share", _check_shares(self.lmm_share, complete=True))
        if not isinstance(self.completeness_cap, bool):
            raise ConfigError(f"completeness_cap: expected true or false, not {self.completeness_cap!r}")
        for name in (
            "omission_skip_base",
            "omission_skip_per_phone",
            "mispronunciation_below",
            "heard_below",
        ):
            value = _number(name, getattr(self, name))
            lo, hi = _RANGES.get(name, (0.0, math.inf))
            # the aligner needs a positive cost: at 0 leaving a word unsaid would cost nothing
            ok = lo < value <= hi if name.startswith("omission") else lo <= value <= hi
            if not ok:
                scale = "above 0" if name.startswith("omission") else f"within {lo:g}-{hi:g}"
                raise ConfigError(f"{name}: {value:g} is not {scale}")
            object.__setattr__(self, name, value)

    @property
    def blends(self) -> bool:
        """Whether any level takes part of its scores from the evidence readout."""
        return any(v != 1.0 for v in self.lmm_share.values())

    def with_share(self, share: float | str | dict[str, float], source: str = "--lmm-share") -> ScoringPolicy:
        """This policy with its shares overridden: one number for every level, a dict or a string
        ``"0.3"`` / ``"sentence=0.3,word=0"``; levels left out keep this policy's share."""
        shares = parse_share(share)
        return dataclasses.replace(
            self, lmm_share={**self.lmm_share, **shares}, source=f"{self.source} + {source}"
        )

    def to_json(self) -> dict[str, Any]:
        """The file's content (`save`), also what a result's ``meta.policy`` holds (plus ``source``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "source"}
        out["lmm_share"] = dict(self.lmm_share)
        if not self.note:
            del out["note"]
        return out

    def to_meta(self) -> dict[str, Any]:
        """What every result's ``meta.policy`` records: the values applied and where they came from."""
        out = self.to_json()
        out.pop("note", None)
        return {**out, "source": self.source}

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / POLICY_JSON
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def from_json(cls, data: Any, source: str = "") -> ScoringPolicy:
        if not isinstance(data, dict):
            raise ConfigError(
                f"{source or 'a scoring policy'}: expected a JSON object, not {type(data).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)} - {"source"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{source}: unknown key(s) {unknown}; expected some of {sorted(names)}")
        try:
            return cls(**data, source=source or "given")
        except ConfigError as e:
            raise ConfigError(f"{source}: {e}" if source else str(e)) from None

    @classmethod
    def load(cls, path: str | Path) -> ScoringPolicy:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}: not JSON ({e.msg}, line {e.lineno})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None
        return cls.from_json(data, source=str(path))


def parse_share(share: Any) -> dict[str, float]:
    """``0.3`` or ``"0.3"`` (every level), ``"sentence=0.3,word=0"`` or ``{"sentence": 0.3}``
    (those levels) -> {level: share}; a `ConfigError` saying what is wrong otherwise."""
    if isinstance(share, dict):
        return _check_shares(share, complete=False)
    if isinstance(share, str):
        text = share.strip()
        if "=" not in text:
            return _all(_share_value("lmm_share", text))
        pairs = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"lmm_share: {part.strip()!r} is not level=share (e.g. sentence=0.3)")
            pairs[key.strip()] = value.strip()
        return _check_shares(pairs, complete=False)
    return _all(_share_value("lmm_share", share))


def _check_shares(shares: Any, complete: bool) -> dict[str, float]:
    if not isinstance(shares, dict):
        raise ConfigError(f"lmm_share: expected one share per level ({', '.join(LEVELS)}), not {shares!r}")
    unknown = sorted(set(shares) - set(LEVELS))
    if unknown:
        raise ConfigError(f"lmm_share: unknown level(s) {unknown}: the levels are {', '.join(LEVELS)}")
    missing = [g for g in LEVELS if g not in shares]
    if complete and missing:
        raise ConfigError(
            f"lmm_share: no share for {', '.join(missing)} (give one for each of {', '.join(LEVELS)})"
        )
    return {g: _share_value(f"lmm_share.{g}", shares[g]) for g in LEVELS if g in shares}


def _share_value(name: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigError(f"{name}: {value!r} is not a number between 0 and 1") from None
    value = _number(name, value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}: {value:g} is not between 0 and 1")
    return value


def _number(name: str, value: Any) -> float:
    # bool is an int to Python, but `true` is no share a user meant
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name}: expected a number, not {value!r}")
    return float(value)


DEFAULT_POLICY = ScoringPolicy()
# No LMM: the evidence readout's scores alone, by definition.
EVIDENCE_POLICY = dataclasses.replace(DEFAULT_POLICY, lmm_share=_all(0.0), source="evidence (no LMM)")


def load_policy(adapter: str | Path | None) -> ScoringPolicy:
    """The policy saved in an adapter folder (`POLICY_JSON`), or `DEFAULT_POLICY` where there is none."""
    if adapter is None or not (Path(adapter) / POLICY_JSON).is_file():
        return DEFAULT_POLICY
    return ScoringPolicy.load(Path(adapter) / POLICY_JSON)


def applied_policy(policy: ScoringPolicy, lmm_share: Any, listen: bool, lmm: bool) -> ScoringPolicy:
    """The policy a scorer applies: the model's, its shares overridden by ``lmm_share``; refused
    where no blend can be made (no LMM, or no listening), which a silent fallback would hide."""
    if lmm_share is not None:
        policy = policy.with_share(lmm_share)
        if not lmm and any(v != 0.0 for v in policy.lmm_share.values()):
            raise ConfigError(
                "--model evidence has no LMM: its share is 0 by definition (leave out --lmm-share)"
            )
        if not listen and any(v != 1.0 for v in policy.lmm_share.values()):
            raise ConfigError(
                "--lmm-share blends the LMM with the aligner's readout: "
                "score with listening on (not --no-listen)"
            )
    if not listen and policy.blends:
        # nothing to blend with: the LMM's own scores (the thresholds go unused too)
        policy = dataclasses.replace(
            policy,
            lmm_share=dict(DEFAULT_POLICY.lmm_share),
            source=f"{policy.source} (no listening: the LMM's own)",
        )
    return policy


def result_meta(scorer: Any, model: str, whisper: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every result's ``meta`` says scored it: the model as named, the scoring policy applied
    (after any ``--lmm-share``), and whose Whisper-base weights (when known)."""
    meta: dict[str, Any] = {"model": model}
    policy = getattr(scorer, "policy", None)  # stand-in scorers of the interface tests have none
    if policy is not None:
        meta["policy"] = policy.to_meta()
    if whisper is not None:
        meta["whisper"] = whisper
    return meta
