"""`AudioLMM`: one code path for the default CPU backbone and Qwen2-Audio-7B-Instruct.

Both are a `Qwen2AudioForConditionalGeneration` (audio tower -> projector -> causal LM). Audio is
encoded once by the frozen tower (`encode_audio`, cacheable); training and scoring then only run the
projector and the language model (`forward`), so the features of a whole corpus can be cached.

Typical use (the trainer):

    lmm = load_backbone("default")             # or a Qwen2-Audio folder; adapter=... to resume
    lmm.add_lora(LoraSettings(rank=8))         # trainable: projector + LoRA
    feats = lmm.encode_audio(wave)             # (T, d_audio), float32 on CPU
    ids = lmm.prompt_ids(prompt, len(feats)) + lmm.answer_ids(answer)
    logits = lmm.forward(input_ids, attention_mask, [feats, ...])
    lmm.save_adapter(out_dir)
"""

import json
from pathlib import Path
from typing import Any

import numpy as np

from lmm_apa.errors import ModelError
from lmm_apa.models.assemble import BACKBONE_JSON, CT2_ENCODER, build_default_backbone, parameter_counts
from lmm_apa.models.lora import LoraSettings, add_lora
from lmm_apa.models.parts import AUDIO_TOKEN

ADAPTER_JSON = "lmm_apa_adapter.json"
PROJECTOR_FILE = "projector.safetensors"
EVIDENCE_PROJECTOR_FILE = "evidence_projector.safetensors"
_CHATML_SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"


class AudioLMM:
    """A Qwen2-Audio-style model with its tokenizer and frozen audio encoder. See the module docstring."""

    precision = None  # the `lmm_apa.models.precision.Precision` it was loaded with, if any

    def __init__(self, model, tokenizer, audio_encoder, base: str):
        self.model = model  # Qwen2AudioForConditionalGeneration; a peft PeftModel once adapted
        self._hf = model  # the unwrapped model: peft injects LoRA in place, so this object stays valid
        self._peft = None  # the PeftModel once adapted; kept apart from .model, which a trainer may wrap
        self.merged = False  # LoRA folded into the base weights (merge_lora): inference only from then on
        self.tokenizer = tokenizer
        self.audio_token_id: int = model.config.audio_token_id
        self.base = base  # how load_backbone found it ("default" or a folder); written into adapters
        self._encoder = audio_encoder
        self.evidence_kind: str | None = None  # what the evidence projector reads, once there is one
        if tokenizer.convert_tokens_to_ids(AUDIO_TOKEN) != self.audio_token_id:
            raise ModelError(
                f"{base}: the tokenizer's {AUDIO_TOKEN} id differs from the config's audio_token_id"
            )
        end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.end_of_turn_id: int = (
            end if end is not None and end != tokenizer.unk_token_id else tokenizer.eos_token_id
        )
        vocab = tokenizer.get_vocab()
        # Qwen2-Audio marks the audio span with <|audio_bos|> ... <|audio_eos|>; SmolLM2 has no such tokens.
        marks = ("<|audio_bos|>", "<|audio_eos|>")
        self._audio_marks = (
            ([vocab[marks[0]]], [vocab[marks[1]]]) if all(m in vocab for m in marks) else ([], [])
        )
        self.pad_token_id: int = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.end_of_turn_id
        )

    # ---- properties -------------------------------------------------------------------------------
    @property
    def device(self):
        return self._hf.device

    @property
    def dtype(self):
        return self._hf.dtype

    @property
    def projector(self):
        return self._hf.model.multi_modal_projector

    @property
    def language_model(self):
        """The decoder-only LM (its LoRA injected, when it has one): what quantising or profiling
        the text side works on."""
        return self._hf.model.language_model

    @property
    def d_audio(self) -> int:
        return self._hf.config.audio_config.d_model

    @property
    def evidence_projector(self):
        """Maps the aligner's per-slot evidence into the LM's embeddings (None: the model reads none)."""
        return getattr(self._hf.model, "evidence_projector", None)

    @property
    def evidence_width(self) -> int | None:
        proj = self.evidence_projector
        return None if proj is None else int(proj[0].in_features)

    def add_evidence_projector(self, width: int, kind: str = "gop") -> None:
        """A fresh evidence projector (trainable) for slot inputs of ``kind``
        (`lmm_apa.tasks.slot_evidence.EVIDENCE_KINDS`). Its last layer starts at zero, so a model
        that gets one starts out exactly as without it and learns how much of the evidence to use."""
        import torch
        from torch import nn

        if self.evidence_projector is not None:
            raise ModelError("this model already has an evidence projector")
        d = self._hf.get_input_embeddings().embedding_dim
        proj = nn.Sequential(nn.Linear(width, d), nn.GELU(), nn.Linear(d, d))
        with torch.no_grad():
            proj[2].weight.zero_()
            proj[2].bias.zero_()
        # A submodule of the HF model: it moves with .to(), and trainers see it among the parameters.
        self._hf.model.evidence_projector = proj.to(self.device, self.dtype)
        self.evidence_kind = kind
        proj.requires_grad_(True)

    # ---- audio ------------------------------------------------------------------------------------
    @property
    def shares_whisper_base(self) -> bool:
        """True when the audio encoder is the Whisper-base the phone aligner reads too (CTranslate2's,
        or the torch one with the aligner's room adapter: `use_whisper_encoder`)."""
        from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder
        from lmm_apa.models.whisper_torch import TorchWhisperEncoder

        return isinstance(self._encoder, CT2WhisperEncoder | TorchWhisperEncoder)

    def use_whisper_encoder(self, encoder: Any) -> None:
        """Encode with ``encoder``, the aligner's Whisper-base, so that the LMM hears what the aligner
        hears also where no frames are passed (training features, scoring without listening)."""
        if not self.shares_whisper_base:
            raise ModelError("this backbone's audio tower is not Whisper-base: it keeps its own encoder")
        self._encoder = encoder

    def encode_audio(self, wave: np.ndarray, frames: np.ndarray | None = None):
        """Frozen encoder features (T_audio, d_audio) of 16 kHz mono audio, float32 on CPU, no grad.

        ``frames``: the recording's Whisper-base frames at 50 Hz when the aligner has computed them
        already; a backbone that `shares_whisper_base` pools them instead of encoding again.
        """
        import torch

        if frames is not None and self.shares_whisper_base:
            from lmm_apa.models.whisper_ct2 import pool_frames

            return torch.as_tensor(pool_frames(frames)).to("cpu", torch.float32)
        with torch.no_grad():
            feats = self._encoder(wave)
        return torch.as_tensor(feats).detach().to("cpu", torch.float32)

    # ---- tokens -----------------------------------------------------------------------------------
    def prompt_ids(self, prompt: str, n_audio: int) -> list[int]:
        """Chat-templated user turn with `<|AUDIO|>` expanded to `n_audio` audio tokens + assistant header."""
        if prompt.count(AUDIO_TOKEN) != 1:
            raise ValueError(
                f"the prompt must hold {AUDIO_TOKEN} exactly once, found {prompt.count(AUDIO_TOKEN)}"
            )
        if n_audio < 1:
            raise ValueError(f"n_audio must be >= 1, got {n_audio}")
        if self.tokenizer.chat_template is not None:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        else:  # a base (non-instruct) checkpoint: ChatML, the format Qwen2-Audio was trained with
            text = f"{_CHATML_SYSTEM}<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
        before, after = text.split(AUDIO_TOKEN)
        bos, eos = self._audio_marks
        audio = bos + [self.audio_token_id] * n_audio + eos
        # The text is split at a special token, so encoding the halves apart gives the same ids.
        encode = lambda s: self.tokenizer(s, add_special_tokens=False)["input_ids"]  # noqa: E731
        return encode(before) + audio + encode(after)

    def answer_ids(self, answer: str) -> list[int]:
        """Answer tokens followed by the end-of-turn token (`<|im_end|>`)."""
        return self.tokenizer(answer, add_special_tokens=False)["input_ids"] + [self.end_of_turn_id]

    # ---- model ------------------------------------------------------------------------------------
    def embed(self, input_ids, audio_feats: list, evidence=None):
        """Token embeddings with each row's audio-token positions replaced by its projected audio features.

        ``evidence``: (positions (B, K), vectors (B, K, W), mask (B, K)) from the aligner: each vector,
        through the evidence projector, is added to the embedding at its position where mask is set.
        """
        import torch

        input_ids = input_ids.to(self.device)
        if len(audio_feats) != input_ids.shape[0]:
            raise ValueError(
                f"got {len(audio_feats)} audio feature tensors for a batch of {input_ids.shape[0]}"
            )
        is_audio = input_ids == self.audio_token_id
        counts = is_audio.sum(dim=1).tolist()
        lengths = [int(f.shape[0]) for f in audio_feats]
        if counts != lengths:
            raise ValueError(
                f"audio tokens per row {counts} do not match audio feature lengths {lengths}: "
                "build prompt_ids with n_audio = len(encode_audio(wave))"
            )
        embeds = self._hf.get_input_embeddings()(input_ids)
        feats = torch.cat([f.to(self.device, self.dtype) for f in audio_feats])
        projected = self.projector(feats).to(embeds.dtype)
        # masked_scatter fills positions in row-major order, the order the features were concatenated in.
        embeds = embeds.masked_scatter(is_audio.unsqueeze(-1), projected)
        if evidence is not None:
            embeds = self._add_evidence(embeds, *evidence)
        return embeds

    def _add_evidence(self, embeds, positions, vectors, mask):
        import torch

        if self.evidence_projector is None:
            raise ModelError("evidence given to a model without an evidence projector")
        added = self.evidence_projector(vectors.to(self.device, self.dtype)).to(embeds.dtype)
        added = added * mask.to(self.device).unsqueeze(-1).to(embeds.dtype)
        index = positions.to(self.device).unsqueeze(-1).expand(-1, -1, embeds.shape[-1])
        return embeds + torch.zeros_like(embeds).scatter_add(1, index, added)

    def forward(self, input_ids, attention_mask, audio_feats: list):
        """Logits (B, L, V) for token ids (B, L) whose audio tokens take the given features, one per row."""
        embeds = self.embed(input_ids, audio_feats)
        out = self.model(inputs_embeds=embeds, attention_mask=attention_mask.to(self.device), use_cache=False)
        return out.logits

    __call__ = forward

    def logits_at(self, input_ids, attention_mask, audio_feats: list, positions, evidence=None):
        """Logits (B, K, V) at the given positions (B, K) only.

        The LM head over a 49k vocabulary is a sixth of this backbone's forward cost; one-pass
        scoring needs it at the score slots alone. LoRA is injected into the language model's own
        modules, so calling them directly keeps the adapter.
        """
        import torch

        embeds = self.embed(input_ids, audio_feats, evidence)
        hidden = self._hf.model.language_model(
            inputs_embeds=embeds, attention_mask=attention_mask.to(self.device), use_cache=False
        ).last_hidden_state
        positions = positions.to(self.device)
        picked = torch.gather(hidden, 1, positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
        return self._hf.lm_head(picked)

    def generate(self, prompt_ids: list[int], audio_feats, max_new_tokens: int = 256) -> str:
        """Greedy answer text for one utterance (prompt from `prompt_ids`, features from `encode_audio`)."""
        import torch

        ids = torch.tensor([prompt_ids], device=self.device)
        with torch.no_grad():
            embeds = self.embed(ids, [audio_feats])
            # generate on the peft/HF model itself: a trainer may have wrapped .model (DDP has no generate)
            out = (self._peft or self._hf).generate(
                inputs_embeds=embeds,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                eos_token_id=self.end_of_turn_id,
                pad_token_id=self.pad_token_id,
            )
        # With inputs_embeds only, generate returns just the new tokens.
        return self.tokenizer.decode(out[0], skip_special_tokens=True)

    # ---- adapters ---------------------------------------------------------------------------------
    def add_lora(self, settings: LoraSettings = LoraSettings()) -> None:
        """Fresh LoRA on the language model; trainable afterwards: projector + LoRA only."""
        self._refuse_if_merged("add a LoRA adapter")
        if self._peft is not None:
            raise ModelError("this model already has a LoRA adapter")
        self.model = self._peft = add_lora(self._hf, settings)
        self.projector.requires_grad_(True)
        if self.evidence_projector is not None:
            self.evidence_projector.requires_grad_(True)

    def merge_lora(self) -> None:
        """Fold the LoRA weights into the base weights (W + scale * B @ A), once, for inference.

        The language model then runs its plain linear layers: no adapter branch, no dropout, no
        extra matmuls per layer (a third of the one-pass forward on the default backbone). peft
        replaced its LoRA layers in place, so ``_hf`` is still the model and `logits_at` still
        reaches its language model; the adapter can no longer be saved or trained.
        """
        if self._peft is None:
            return
        self._hf = self._peft.merge_and_unload()
        self.model, self._peft, self.merged = self._hf, None, True
        self._hf.eval().requires_grad_(False)

    def _refuse_if_merged(self, what: str) -> None:
        if self.merged:
            raise ModelError(f"cannot {what}: this model's LoRA was merged into its weights (merge_lora)")

    def named_trainable_parameters(self) -> dict:
        return {n: p for n, p in self.model.named_parameters() if p.requires_grad}

    def trainable_parameters(self) -> list:
        """The parameters to optimise (projector + LoRA), ready for torch.optim."""
        return list(self.named_trainable_parameters().values())

    def save_adapter(
        self,
        out_dir: str | Path,
        task: str | None = None,
        answer_inputs: str | None = None,
        trainable: dict | None = None,
    ) -> Path:
        """Write the LoRA adapter (peft), the projector (safetensors) and a JSON naming the base backbone.

        ``task`` (the answer format it was trained on) tells a scorer which prompt and answer to use;
        ``answer_inputs`` ("filler": trained on the score slots only) which decoding modes make sense.
        ``trainable``: the trainable weights by ``self.model``'s parameter names, for a model whose
        modules hold shards of them (an FSDP trainer gathered them); else read from the modules.
        """
        from safetensors.torch import save_file

        self._refuse_if_merged("save the adapter")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if self._peft is not None and trainable is None:
            self._peft.save_pretrained(out)
        elif self._peft is not None:
            _save_lora_from(self._peft, trainable, out)
        state = _part(trainable, "multi_modal_projector") if trainable else self.projector.state_dict()
        save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, out / PROJECTOR_FILE)
        info = {"base": self.base, "lora": self._peft is not None, "projector": PROJECTOR_FILE}
        if self.evidence_projector is not None:
            ev = _part(trainable, "evidence_projector") if trainable else self.evidence_projector.state_dict()
            ev = {k: v.detach().cpu().contiguous() for k, v in ev.items()}
            save_file(ev, out / EVIDENCE_PROJECTOR_FILE)
            info["evidence_width"] = self.evidence_width
            info["evidence_kind"] = self.evidence_kind
        if task is not None:
            info["task"] = task
        if answer_inputs is not None:
            info["answer_inputs"] = answer_inputs
        (out / ADAPTER_JSON).write_text(json.dumps(info, indent=2))
        return out

    def load_adapter(self, adapter_dir: str | Path, trainable: bool = False) -> None:
        """Load an adapter written by `save_adapter` (trainable=True to keep training it)."""
        from safetensors.torch import load_file

        self._refuse_if_merged("load an adapter")
        adapter_dir = Path(adapter_dir)
        if not (adapter_dir / ADAPTER_JSON).is_file():
            raise ModelError(f"{adapter_dir} is not an lmm-apa adapter (no {ADAPTER_JSON})")
        if self._peft is not None:
            raise ModelError("this model already has a LoRA adapter")
        info = json.loads((adapter_dir / ADAPTER_JSON).read_text())
        if info.get("lora"):
            from peft import PeftModel

            self.model = self._peft = PeftModel.from_pretrained(self._hf, adapter_dir, is_trainable=trainable)
        state = load_file(adapter_dir / info.get("projector", PROJECTOR_FILE))
        self.projector.load_state_dict({k: v.to(self.device, self.dtype) for k, v in state.items()})
        self.projector.requires_grad_(trainable)
        if info.get("evidence_width"):
            # adapters from before the kinds read the recogniser's evidence (gop)
            self.add_evidence_projector(int(info["evidence_width"]), info.get("evidence_kind", "gop"))
            ev = load_file(adapter_dir / EVIDENCE_PROJECTOR_FILE)
            self.evidence_projector.load_state_dict({k: v.to(self.device, self.dtype) for k, v in ev.items()})
            self.evidence_projector.requires_grad_(trainable)


_FSDP_WRAPPER = "_fsdp_wrapped_module."  # what torch FSDP's wrappers add to the names below them


def _save_lora_from(peft_model, trainable: dict, out: Path) -> None:
    """peft's adapter files, with the LoRA weights taken from ``trainable`` (by plain names).

    peft picks a state dict's LoRA entries by the names of its LoRA layers, and how it names a layer
    under FSDP's wrappers changed: peft 0.22 strips the wrappers' names (its
    ``remove_torch_wrapper_names``), so it takes the plain names that torch's FSDP state dicts have;
    peft 0.21 keeps the wrapped names of the layers (it strips the wrapper's prefix for its auxiliary
    modules only), so it takes each entry under its layer's wrapped name followed by the plain tail.
    A state dict under names peft does not expect is not an error to peft: it writes an adapter file
    without the LoRA weights. So each naming is tried in turn, the file is rewritten under the plain
    names, and one that holds fewer than every LoRA weight is refused.
    """
    from peft.utils import SAFETENSORS_WEIGHTS_NAME
    from safetensors.torch import load_file, save_file

    def as_peft_021_sees_it(wrapped: str) -> str:
        head, lora, tail = wrapped.rpartition(".lora_")
        return head + lora + tail.replace(_FSDP_WRAPPER, "")

    wrapped = {n.replace(_FSDP_WRAPPER, ""): as_peft_021_sees_it(n) for n, _ in peft_model.named_parameters()}
    n_lora = sum(".lora_" in k for k in trainable)
    f = out / SAFETENSORS_WEIGHTS_NAME
    for naming in (lambda k: k, wrapped.__getitem__):
        peft_model.save_pretrained(out, state_dict={naming(k): v for k, v in trainable.items()})
        saved = load_file(f)
        if len(saved) == n_lora:
            plain = {k.replace(_FSDP_WRAPPER, ""): v for k, v in saved.items()}
            save_file(plain, f, metadata={"format": "pt"})
            return
    raise ModelError(f"peft saved {len(saved)} of the adapter's {n_lora} LoRA weights (gathered from shards)")


def _part(state: dict, module: str) -> dict:
    """The entries of a model-wide state dict under the submodule named ``module``, by its own names."""
    marker = f"{module}."
    return {k.split(marker, 1)[1]: v for k, v in state.items() if k.startswith(marker) or f".{marker}" in k}


def _resolve(name_or_path: str | Path) -> Path:
    if str(name_or_path) == "default":
        return build_default_backbone()
    path = Path(name_or_path).expanduser()
    config = path / "config.json"
    if not config.is_file():
        raise ModelError(
            f"backbone {path}: no config.json (expected 'default' or a Qwen2-Audio model folder)"
        )
    model_type = json.loads(config.read_text()).get("model_type")
    if model_type != "qwen2_audio":
        raise ModelError(f"backbone {path}: model_type is {model_type!r}, not 'qwen2_audio'")
    return path


def load_backbone(
    name_or_path: str | Path = "default",
    adapter: str | Path | None = None,
    dtype=None,
    device=None,
    trainable: bool = False,
    precision: str | None = None,
    merge: bool = False,
) -> AudioLMM:
    """Load a backbone: "default" (assembled in the cache, built if missing) or a Qwen2-Audio folder.

    bf16 on CUDA, fp32 on CPU unless `dtype` says otherwise. All weights come frozen and in eval mode;
    `adapter` loads a saved adapter (trainable=True to continue training it), `AudioLMM.add_lora` adds a
    fresh one.

    ``precision`` ("auto", "fp32", "bf16"; `lmm_apa.models.precision`) sets the dtype instead of
    ``dtype``. ``merge`` (inference) folds the adapter's LoRA into the base weights once
    (`AudioLMM.merge_lora`); on CPU the merge is done in fp32 and the result cast afterwards.
    """
    import torch
    from transformers import AutoTokenizer, Qwen2AudioForConditionalGeneration

    path = _resolve(name_or_path)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    chosen = None
    if precision is not None:
        from lmm_apa.models.precision import resolve_precision

        chosen = resolve_precision(precision, device)
        dtype = chosen.dtype
    if dtype is None:
        dtype = torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32
    target_dtype = dtype
    if merge and adapter is not None and torch.device(device).type == "cpu":
        dtype = torch.float32  # merge B @ A into W at full precision, round once
    try:
        # Straight onto the GPU: a 7B model in bf16 need not pass through CPU memory first.
        placement = {"device_map": {"": str(device)}} if torch.device(device).type == "cuda" else {}
        model = Qwen2AudioForConditionalGeneration.from_pretrained(path, dtype=dtype, **placement)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise ModelError(f"backbone {path} does not load: {e}") from e
    model.to(device).eval().requires_grad_(False)
    info_file = path / BACKBONE_JSON
    info = json.loads(info_file.read_text()) if info_file.is_file() else {}
    if info.get("audio_encoder") == CT2_ENCODER:
        from lmm_apa.models.parts import whisper_ct2_dir
        from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

        encoder = CT2WhisperEncoder(whisper_ct2_dir())
    else:
        from transformers import WhisperFeatureExtractor

        from lmm_apa.models.features import TorchAudioEncoder

        encoder = TorchAudioEncoder(model.model.audio_tower, WhisperFeatureExtractor.from_pretrained(path))
    base = "default" if str(name_or_path) == "default" else str(path.resolve())
    lmm = AudioLMM(model, tokenizer, encoder, base=base)
    lmm.precision = chosen  # what --precision resolved to (None: dtype given directly)
    if adapter is not None:
        lmm.load_adapter(adapter, trainable=trainable)
    if merge:
        lmm.merge_lora()
    if target_dtype != dtype:
        model.to(target_dtype)
    return lmm


def backbone_info(path: Path) -> dict:
    """The lmm_apa_backbone.json of a build, or counts computed from the weights for other folders."""
    path = Path(path)
    info = json.loads((path / BACKBONE_JSON).read_text()) if (path / BACKBONE_JSON).is_file() else {}
    if "parameters" in info:
        return info
    if not (path / "config.json").is_file():
        raise ModelError(f"{path} holds no backbone (no config.json); build one with `lmm-apa model build`")
    lmm = load_backbone(path, device="cpu")
    return {"design": info.get("design", "qwen2_audio"), "parameters": parameter_counts(lmm._hf)}
