"""Backbones: one `AudioLMM` code path for the default CPU backbone and Qwen2-Audio-7B-Instruct.

- `parts`: find the installed model parts (Whisper-base CTranslate2, SmolLM2 GGUF), offline.
- `ct2_file`: the one reader of CTranslate2's model.bin (tensors, or the header alone).
- `whisper_ct2`: fast unpadded Whisper encoder on CPU; `whisper_check`: is a folder Whisper-base?
- `assemble`: build the default backbone (`lmm-apa model build`).
- `features`: the torch audio-tower path (Qwen2-Audio's own feature extraction).
- `lora`: LoRA on the language model only.
- `backbone`: `AudioLMM`, `load_backbone` and `backbone_info`.
- `precision`: `--precision`'s choice; `provenance`: where every weights file came from.
- `testing`: tiny random backbones for tests (the library never imports it).
"""
