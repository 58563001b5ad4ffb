"""What the multi-process training tests share: the launchers' paths, one launch, an adapter's weights,
a committed accelerate config run as two CPU processes, and the check that two processes trained as
one process with twice the accumulation does."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from lmm_apa.train.log import read_log

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LMM_APA = shutil.which("lmm-apa", path=str(BIN)) or str(BIN / "lmm-apa")
# The logged numbers a two-process step must reproduce: means over both processes' micro-batches.
LOGGED = ("loss", "nll_loss", "rewards/margins", "logps/chosen", "grad_norm")


def launch(*cmd: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def adapter_weights(folder: Path) -> dict[str, torch.Tensor]:
    return {**load_file(folder / "adapter_model.safetensors"), **load_file(folder / "projector.safetensors")}


def two_process_train(cfg, tmp_path: Path, accelerate_config: str) -> tuple[tuple[str, ...], dict]:
    """`accelerate launch` of ``lmm-apa train`` on ``cfg`` under the committed
    configs/accelerate/<accelerate_config> with two processes: the command (add --stop-after or
    --resume) and the accelerate settings it runs under."""
    run_config = tmp_path / "two.yaml"
    run_config.write_text(yaml.safe_dump(cfg.to_dict()))
    accel = yaml.safe_load((REPO / "configs/accelerate" / accelerate_config).read_text())
    accel |= {"num_processes": 2, "main_process_port": 0}
    accel_file = tmp_path / f"two_{accelerate_config}"
    accel_file.write_text(yaml.safe_dump(accel))
    cmd = (str(BIN / "accelerate"), "launch", "--config_file", str(accel_file), LMM_APA, "train")
    return (*cmd, "--config", str(run_config), "--no-progress"), accel


def assert_trained_as_one(out: Path, one, steps: list[int], logged: tuple[str, ...] = LOGGED) -> dict:
    """The two-process run in ``out`` logged each step once with ``one``'s numbers, evaluated as it
    did and saved its adapter, whole; ``one``'s adapter weights."""
    log = read_log(out / "log.jsonl")
    rows = [r for r in log if "loss" in r]
    assert [r["step"] for r in rows] == steps  # once each: only the main process logs
    want_log = read_log(one.output_dir / "log.jsonl")
    want = {r["step"]: r for r in want_log if "loss" in r}
    for r in rows:
        for name in logged:
            assert r[name] == pytest.approx(want[r["step"]][name], rel=1e-4, abs=1e-5), (r["step"], name)
    evals = [r for r in log if "eval_loss" in r]
    want_eval = [r for r in want_log if "eval_loss" in r]
    assert evals and evals[-1]["eval_loss"] == pytest.approx(want_eval[-1]["eval_loss"], rel=1e-4)

    got, ref = adapter_weights(out / "final"), adapter_weights(one.final_adapter)
    assert got.keys() == ref.keys()
    lr = yaml.safe_load((one.output_dir / "config.yaml").read_text())["train"]["lr"]
    for name in ref:  # whole tensors (FSDP, ZeRO-3: gathered), trained as one process trains them
        assert got[name].shape == ref[name].shape, name
        assert_same_update(got[name], ref[name], lr, name)
    return ref


def assert_same_update(got: torch.Tensor, ref: torch.Tensor, lr: float, name: str) -> None:
    """Equal to float rounding. Adam divides each gradient by its own running scale, so where a
    gradient is near 0 the rounding of a two-process reduction (summed in another order) can move
    that weight's update by a fraction of lr: a few such weights are allowed 1% of lr. A missing or
    doubled reduction, a wrong shard or a skipped step moves most weights by about lr."""
    close = torch.isclose(got, ref, atol=1e-5, rtol=1e-4)
    far = (got - ref).abs().max().item()
    assert (~close).float().mean().item() <= 1e-3, (name, "weights differ", int((~close).sum()), far)
    assert far <= 0.01 * lr, (name, far, lr)
