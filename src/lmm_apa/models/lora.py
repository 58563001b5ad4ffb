"""LoRA on the language model only, via peft.

Why a regex: `q_proj`, `k_proj`, `v_proj` (and `out_proj`, `fc1`, `fc2`) also name layers of the
Whisper audio tower, so plain module-name targets would put adapters on the frozen encoder (whose
features we cache and, for the default backbone, compute with CTranslate2, where an adapter would
silently do nothing). The regex matches only `...language_model.layers.N.(self_attn|mlp).X`.

Which layers: attention (q, k, v, o) and MLP (gate, up, down) by default: QLoRA (Dettmers et al.
2023) found adapting every linear layer of the LM matters more than the rank, and on the 135M
default backbone it costs ~2.4M trainable parameters. `targets="attention"` keeps q, k, v, o only.
"""

from dataclasses import dataclass

ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 8  # the paper's setting
    alpha: int = 16  # 2 x rank: scale 2, the common PEFT choice
    dropout: float = 0.05
    targets: str = "all"  # "all" (attention + MLP) or "attention"

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {self.rank}")
        if self.targets not in ("all", "attention"):
            raise ValueError(f"LoRA targets must be 'all' or 'attention', got {self.targets!r}")


def target_regex(targets: str = "all") -> str:
    """peft `target_modules` regex (full match on module paths) for the language model's linear layers."""
    names = ATTENTION + (MLP if targets == "all" else ())
    return r".*language_model\.layers\.\d+\.(self_attn|mlp)\.(" + "|".join(names) + ")"


def add_lora(model, settings: LoraSettings = LoraSettings()):
    """Wrap a Qwen2AudioForConditionalGeneration with fresh LoRA adapters (peft freezes all base weights)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=target_regex(settings.targets),
        bias="none",
    )
    return get_peft_model(model, config)
