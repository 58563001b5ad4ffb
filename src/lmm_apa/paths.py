"""Where lmm-apa keeps what it builds (assembled backbones, feature caches)."""

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$LMM_APA_CACHE`` if set, else ``~/.cache/lmm-apa``; created on first use."""
    root = Path(os.environ.get("LMM_APA_CACHE", Path.home() / ".cache" / "lmm-apa"))
    root.mkdir(parents=True, exist_ok=True)
    return root
