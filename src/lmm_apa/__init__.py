"""lmm-apa: fine-tune audio-language models for automatic pronunciation assessment."""

__version__ = "0.1.0"
