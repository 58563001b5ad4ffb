"""Backbones: one `AudioLMM` code path for the default CPU backbone and Qwen2-Audio-7B-Instruct.

- `parts`: find the installed model parts (Whisper-base CTranslate2, SmolLM2 GGUF), offline.
- `whisper_ct2`: read CTranslate2's model.bin; fast unpadded Whisper encoder on CPU.
- `assemble`: build the default backbone (`lmm-apa model build`).
- `features`: the torch audio-tower path (Qwen2-Audio's own feature extraction).
- `lora`: LoRA on the language model only.
- `backbone`: `AudioLMM` and `load_backbone`.
- `tiny`: tiny random backbones for tests.
"""
