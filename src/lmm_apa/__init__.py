"""lmm-apa: fine-tune audio-language models for automatic pronunciation assessment."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lmm-apa")  # the one source: pyproject.toml's version, as installed
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
