"""What the multi-process training tests share: the launchers' paths, one launch, an adapter's weights."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LMM_APA = shutil.which("lmm-apa", path=str(BIN)) or str(BIN / "lmm-apa")


def launch(*cmd: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def adapter_weights(folder: Path) -> dict[str, torch.Tensor]:
    return {**load_file(folder / "adapter_model.safetensors"), **load_file(folder / "projector.safetensors")}
