"""Where lmm-apa keeps what it ships (the weights folder) and what it builds (assembled backbones,
feature caches)."""

import os
from pathlib import Path

# The weights shipped inside the package: `default/` (the LMM's adapter), `aligner/` (the phone
# recogniser and the evidence scorer).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def cache_dir() -> Path:
    """``$LMM_APA_CACHE`` if set, else ``~/.cache/lmm-apa``; created on first use."""
    root = Path(os.environ.get("LMM_APA_CACHE", Path.home() / ".cache" / "lmm-apa"))
    root.mkdir(parents=True, exist_ok=True)
    return root
