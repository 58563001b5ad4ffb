"""Training configuration: one dataclass per stage (model, data, train), loaded from YAML.

Every field has a default, a help text and the reason for the default. ``load_config(path,
overrides)`` reads a YAML file and applies ``section.field=value`` overrides from the command line;
``RunConfig.to_dict()`` is the fully resolved config that is saved next to every checkpoint.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lmm_apa.errors import ConfigError
from lmm_apa.models.precision import PRECISIONS
from lmm_apa.tasks.answer import TASKS
from lmm_apa.tasks.pairs import REJECTED_KINDS
from lmm_apa.tasks.slot_evidence import EVIDENCE_KINDS

# The choices this module owns; the others are imported from the code that acts on them.
ANSWER_INPUTS: tuple[str, ...] = ("teacher", "filler")
DTYPES: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16")
LR_SCHEDULES: tuple[str, ...] = ("cosine", "linear", "constant")
# Kept here rather than in `losses` (which uses it) so that reading a config does not load torch.
LOSS_TYPES: tuple[str, ...] = ("simpo", "ce")


__all__ = ["ConfigError", "RunConfig", "load_config"]  # ConfigError: lmm_apa.errors', raised here


def _either(choices: typing.Sequence[str]) -> str:
    """ "a, b or c": the choices as an error message lists them."""
    return f"{', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else choices[0]


def _f(default: Any, help: str, why: str = "") -> Any:
    """A dataclass field carrying its help text and the reason for its default."""
    kw = {"default_factory": lambda: list(default)} if isinstance(default, list) else {"default": default}
    return field(metadata={"help": help, "why": why}, **kw)


@dataclass
class ModelConfig:
    backbone: str = _f(
        "default",
        "backbone name or path for load_backbone ('default', or a Qwen2-Audio checkpoint folder)",
        "'default' is the small CPU backbone; the paper's is Qwen/Qwen2-Audio-7B-Instruct",
    )
    adapter_init: str | None = _f(
        None, "adapter folder to start from instead of a fresh LoRA", "fresh LoRA, as the paper"
    )
    lora_rank: int = _f(8, "LoRA rank", "the paper's setting")
    lora_alpha: int = _f(16, "LoRA alpha (scale = alpha / rank)", "2 x rank, the common PEFT choice")
    lora_dropout: float = _f(0.05, "dropout on the LoRA input", "the usual PEFT value for small data")
    dtype: str = _f(
        "auto",
        "weights dtype: auto | float32 | bfloat16 | float16",
        "auto: bfloat16 on CUDA, float32 on CPU (bf16 matmuls are slow on most CPUs)",
    )

    def __post_init__(self) -> None:
        if self.lora_rank < 1:
            raise ConfigError(f"model.lora_rank must be >= 1, got {self.lora_rank}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(f"model.lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"model.dtype must be {_either(DTYPES)}, got {self.dtype!r}")


@dataclass
class DataConfig:
    corpus_dir: str | None = _f(
        None,
        "Speechocean762 folder (Kaldi layout); None: $LMM_APA_CORPUS or ../shared/speechocean762",
        "the one corpus this project trains on",
    )
    train_jsonl: str | None = _f(
        None, "JSONL written by `lmm-apa data build` (overrides corpus_dir for training)", ""
    )
    dev_jsonl: str | None = _f(None, "JSONL of dev examples (with train_jsonl)", "")
    task: str = _f("multi", "multi | sentence | word | phone", "the paper's best model is multi-task")
    n_rejected: int = _f(
        1, "rejected answers per utterance (each gives one SimPO pair)", "the paper's setting"
    )
    rejected_seed: int = _f(
        0, "seed of the simulated rejected answers (as `data build --seed`)", "reproducible negatives"
    )
    rejected_kind: str = _f(
        "perturb",
        "how the corpus' rejected answers are made (lmm_apa.tasks.pairs): perturb (scores moved) | "
        "swap (two words' or phones' scores in the wrong order); unsaid copies keep theirs",
        "perturb: the paper's simulated errors",
    )
    dev_fraction: float = _f(0.1, "speaker-disjoint dev share of train", "model selection off the test split")
    split_seed: int = _f(0, "seed of the train/dev speaker split", "one fixed split across runs")
    limit: int | None = _f(None, "use only the first N train utterances (smoke runs)", "all of them")
    dev_limit: int | None = _f(None, "evaluate on at most N dev utterances", "all of them")
    max_length: int = _f(
        2048,
        "longest prompt+audio+answer sequence; longer answers are cut at the end, too-long audio skipped",
        "fits Speechocean762's longest utterance (about 20 s) with the multi answer",
    )
    answer_inputs: str = _f(
        "teacher",
        "what the model is fed at the score slots while training: teacher (the true scores, as in "
        "the paper; the model can then write its answer) | filler (a fixed symbol at every slot; loss "
        "on the slots only)",
        "teacher: the paper's setting. filler matches one-pass scoring exactly (every slot is read "
        "with fillers before it) and lets chosen and rejected answers share one forward pass",
    )
    max_answer_tokens: int | None = _f(None, "cut answers to this many tokens", "never cut by default")
    feature_cache: str | None = _f(
        None,
        "folder of cached frozen-encoder features; None: <cache_dir>/features/<backbone>",
        "the encoder is frozen, so its output is computed once per utterance",
    )
    evidence: bool | str = _f(
        "none",
        "what each score slot reads from the aligner through an evidence projector "
        "(lmm_apa.tasks.slot_evidence): none | gop (the recogniser's per-phone/word evidence; true "
        "means gop) | segments (the slot's aligned audio frames pooled, its duration) | gop+segments; "
        "needs answer_inputs: filler and the corpus (not a JSONL)",
        "none: the paper's inputs (audio tokens and text only)",
    )
    unsaid_rate: float = _f(
        0.0,
        "share of train utterances that also get a copy whose text was not (all) spoken "
        "(lmm_apa.tasks.unsaid: another sentence's text, a word swapped, cut short)",
        "off: the corpus as it is (its readers almost never skip a word)",
    )
    room_rate: float = _f(
        0.0,
        "share of train utterances that also get a copy recorded in a simulated room, with the clean "
        "recording's answer (lmm_apa.data.augment: noise, babble, reverb, telephone band, MP3/Opus, "
        "gain, silence; needs the augment extra)",
        "off: the corpus's clean, close-miked recordings only",
    )

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"data.task must be one of {TASKS}, got {self.task!r}")
        if isinstance(self.evidence, bool):  # `evidence: true` predates the kinds
            self.evidence = "gop" if self.evidence else "none"
        if self.evidence not in ("none", *EVIDENCE_KINDS):
            raise ConfigError(f"data.evidence must be none or one of {EVIDENCE_KINDS}, got {self.evidence!r}")
        if self.evidence != "none" and self.answer_inputs != "filler":
            raise ConfigError("data.evidence needs data.answer_inputs: filler (it is read at the slots)")
        for name in ("unsaid_rate", "room_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"data.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.answer_inputs not in ANSWER_INPUTS:
            raise ConfigError(
                f"data.answer_inputs must be one of {ANSWER_INPUTS}, got {self.answer_inputs!r}"
            )
        if self.rejected_kind not in REJECTED_KINDS:
            raise ConfigError(
                f"data.rejected_kind must be {_either(REJECTED_KINDS)}, got {self.rejected_kind!r}"
            )
        if self.n_rejected < 1:
            raise ConfigError(f"data.n_rejected must be >= 1, got {self.n_rejected}")
        if not 0.0 <= self.dev_fraction < 1.0:
            raise ConfigError(f"data.dev_fraction must be in [0, 1), got {self.dev_fraction}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"data.limit must be >= 1, got {self.limit}")
        if self.max_length < 16:
            raise ConfigError(f"data.max_length must be >= 16, got {self.max_length}")


@dataclass
class TrainConfig:
    loss_type: str = _f("simpo", "simpo (SimPO + ce_weight * CE) | ce (CE only)", "the paper's method")
    beta: float = _f(2.0, "SimPO reward scale", "the SimPO authors' advice (2.0-2.5)")
    gamma: float = _f(0.5, "SimPO target margin", "the paper's setting")
    ce_weight: float = _f(
        1.0, "lambda: weight of the CE (NLL of the chosen answer) term", "the paper's setting"
    )
    label_smoothing: float = _f(0.0, "conservative SimPO label smoothing", "off, as SimPO and TRL")
    rank_weight: float = _f(
        0.0,
        "weight of a pairwise ranking term over the slots' expected scores (lmm_apa.train.rank: "
        "same-kind slots of a micro-batch whose gold differs); needs data.answer_inputs: filler",
        "off: the paper's objective. SCC, which it targets, was the paper's second open question",
    )
    rank_scale: float = _f(
        1.0,
        "RankNet's sigma: a pair's ranking loss is softplus(-rank_scale * (s_hi - s_lo)), s in slot units",
        "1 per unit: a pair in the right order by 3 units costs 0.05, in the wrong order by 3, 3.05",
    )
    lr: float = _f(1e-4, "peak learning rate", "the paper's setting")
    lr_schedule: str = _f("cosine", "decay after warm-up: cosine | linear | constant", "cosine to 0, as TRL")
    warmup_ratio: float = _f(0.1, "share of steps spent warming up linearly", "the paper's setting")
    weight_decay: float = _f(0.0, "AdamW weight decay", "none on LoRA weights, as PEFT examples")
    epochs: float = _f(3, "passes over the train set", "the paper's setting")
    max_steps: int | None = _f(
        None, "stop after this many optimizer steps (overrides epochs)", "run all epochs"
    )
    batch_size: int = _f(1, "utterances per micro-batch", "the paper's setting")
    grad_accum: int = _f(8, "micro-batches per optimizer step", "the paper's setting (effective batch 8)")
    stack_micro_batches: int = _f(
        1,
        "micro-batches of a step that go through the model in one forward pass (padded to the longest, "
        "the shortest together; each keeps its own loss, so a step's loss and gradient are unchanged): "
        "1 one at a time, grad_accum all at once. Not under DeepSpeed",
        "1: one forward per micro-batch, as TRL. On 2 CPU cores one pass of all 8 is several times "
        "faster (docs/training.md, bench/train_throughput.py --compare-stacked)",
    )
    max_grad_norm: float = _f(1.0, "gradient clipping norm (0: off)", "TRL's default")
    log_every: int = _f(1, "log every N optimizer steps", "cheap")
    eval_every: int = _f(100, "evaluate on dev every N optimizer steps (0: only at the end)", "")
    save_every: int = _f(100, "checkpoint every N optimizer steps", "bounds the work lost to an interruption")
    keep_last: int = _f(2, "checkpoints kept (older ones are deleted)", "enough to survive a bad last save")
    seed: int = _f(0, "seed of data order, LoRA init and dropout", "reproducible runs")
    output_dir: str = _f("runs/default", "where checkpoints, logs and the final adapter go", "")
    tensorboard: bool = _f(True, "also log to TensorBoard when it is installed", "")
    precision: str = _f(
        "auto",
        "auto | fp32 | bf16: bf16 autocast of the forward and backward (fp32 master weights, loss in fp32)",
        "auto: bf16 where the hardware multiplies bf16 natively (CUDA; a CPU with AMX or AVX512-BF16)",
    )

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"train.precision must be {_either(PRECISIONS)}, got {self.precision!r}")
        if self.loss_type not in LOSS_TYPES:
            choices = _either([repr(t) for t in LOSS_TYPES])
            raise ConfigError(f"train.loss_type must be {choices}, got {self.loss_type!r}")
        if self.beta <= 0:
            raise ConfigError(f"train.beta must be > 0, got {self.beta}")
        if self.lr <= 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        if self.lr_schedule not in LR_SCHEDULES:
            choices = "|".join(LR_SCHEDULES)
            raise ConfigError(f"train.lr_schedule must be {choices}, got {self.lr_schedule!r}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"train.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.rank_weight < 0:
            raise ConfigError(f"train.rank_weight must be >= 0, got {self.rank_weight}")
        if self.rank_scale <= 0:
            raise ConfigError(f"train.rank_scale must be > 0, got {self.rank_scale}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"train.label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        names = ("batch_size", "grad_accum", "stack_micro_batches", "log_every", "save_every", "keep_last")
        for name in names:
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.epochs <= 0 and self.max_steps is None:
            raise ConfigError("train.epochs must be > 0 (or set train.max_steps)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"train.max_steps must be >= 1, got {self.max_steps}")


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.train.rank_weight > 0 and self.data.answer_inputs != "filler":
            raise ConfigError("train.rank_weight needs data.answer_inputs: filler (it reads the slot logits)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> Path:
        """Write the resolved config as YAML (next to a checkpoint or a results file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path


SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "train": TrainConfig}


def _coerce(cls: type, key: str, value: Any, where: str) -> Any:
    from pydantic import TypeAdapter, ValidationError

    hint = typing.get_type_hints(cls)[key]
    try:
        # Lax mode turns CLI strings such as "5e-5" (a str to YAML 1.1) into the field's type.
        return TypeAdapter(hint).validate_python(value)
    except ValidationError as e:
        raise ConfigError(f"{where}: {value!r} is not a valid {hint}: {e.errors()[0]['msg']}") from None


def from_dict(d: dict[str, Any]) -> RunConfig:
    """Build a RunConfig from nested dicts, rejecting unknown sections and keys by name."""
    d = d or {}
    unknown = set(d) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"unknown config section(s) {sorted(unknown)}; expected {sorted(SECTIONS)}")
    parts = {}
    for name, cls in SECTIONS.items():
        section = d.get(name) or {}
        names = {f.name for f in dataclasses.fields(cls)}
        bad = set(section) - names
        if bad:
            raise ConfigError(f"unknown key(s) {sorted(bad)} in section '{name}'; known: {sorted(names)}")
        parts[name] = cls(**{k: _coerce(cls, k, v, f"{name}.{k}") for k, v in section.items()})
    return RunConfig(**parts)


def apply_overrides(d: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings (values parsed as YAML) onto nested dicts."""
    for item in overrides:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise ConfigError(f"override {item!r} must look like section.key=value (e.g. train.lr=5e-5)")
        dotted, raw = item.split("=", 1)
        section, key = dotted.strip().split(".", 1)
        d.setdefault(section, {})
        if not isinstance(d[section], dict):
            raise ConfigError(f"override {item!r}: '{section}' is not a section")
        d[section][key] = yaml.safe_load(raw) if raw.strip() else None
    return d


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML config (or start from the defaults) and apply CLI overrides."""
    d: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found")
        try:
            d = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {path} is not valid YAML: {e}") from None
        if not isinstance(d, dict):
            raise ConfigError(f"config file {path} must hold a mapping of sections")
    return from_dict(apply_overrides(d, list(overrides or [])))


def describe() -> str:
    """Every field with its default, help and reason (for `lmm-apa train --help-config`)."""
    lines = []
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            why = f" ({f.metadata['why']})" if f.metadata.get("why") else ""
            lines.append(f"{name}.{f.name} = {default!r}: {f.metadata.get('help', '')}{why}")
    return "\n".join(lines)
