"""DeepSpeed ZeRO-2 and ZeRO-3 training with two CPU processes, launched with the committed GPU configs.

`configs/accelerate/gpu_zero2.yaml` / `gpu_zero3.yaml` with ``num_processes: 2`` run on DeepSpeed's
CPU accelerator (gloo), so the settings and the engine-driven loop (`lmm_apa.train.zero`) that run on
GPUs are the ones checked here. One plain process with grad-accum 2 and two DeepSpeed processes with
grad-accum 1 take the same two utterances a step; with dropout off and fp32 the logged losses, the
gradient norm (the engine's, over both processes) and the saved adapter must agree to float
rounding. The DeepSpeed run stops after step 1 and resumes from its checkpoint (the engine's sharded
optimizer state included): a wrong optimizer state on resume shows in step 2's loss and the adapter.
"""

from pathlib import Path

import pytest
import torch
import yaml
from launching import BIN, LMM_APA, REPO, adapter_weights, launch

from lmm_apa.train.log import read_log
from lmm_apa.train.loop import train

pytest.importorskip("deepspeed", reason="deepspeed is not installed (pip install deepspeed)")
pytestmark = pytest.mark.multiprocess  # in the default run: ~1-2 min each on 2 idle cores


@pytest.mark.parametrize("config", ["gpu_zero2.yaml", "gpu_zero3.yaml"])
def test_deepspeed_two_processes_train_as_one_resume_and_save_the_whole_adapter(
    config, tiny_cfg, tiny_jsonl, tmp_path
):
    common = (
        "model.lora_dropout=0", f"data.dev_jsonl={tiny_jsonl}", "train.save_every=1", "train.max_steps=2",
        "train.precision=fp32",
    )  # fmt: skip
    one = train(tiny_cfg(*common, f"train.output_dir={tmp_path / 'one'}"), progress=False)

    cfg = tiny_cfg(*common, "train.grad_accum=1", f"train.output_dir={tmp_path / 'two'}")
    run_config = tmp_path / "two.yaml"
    run_config.write_text(yaml.safe_dump(cfg.to_dict()))
    accel = yaml.safe_load((REPO / "configs/accelerate" / config).read_text())
    accel |= {"num_processes": 2, "main_process_port": 0}
    accel_file = tmp_path / "cpu_ds.yaml"
    accel_file.write_text(yaml.safe_dump(accel))
    run = (str(BIN / "accelerate"), "launch", "--config_file", str(accel_file), LMM_APA, "train")
    args = ("--config", str(run_config), "--no-progress")
    first = launch(*run, *args, "--stop-after", "1", timeout=400)
    stage = accel["deepspeed_config"]["zero_stage"]
    assert "2 process(es), DEEPSPEED" in first.stdout and f"DeepSpeed ZeRO-{stage}" in first.stdout
    out = Path(cfg.train.output_dir)
    assert (out / "checkpoints" / "step-0000001" / "deepspeed").is_dir()
    second = launch(*run, *args, "--resume", timeout=400)
    assert "resumed from" in second.stdout and "step-0000001" in second.stdout
    assert second.stdout.count("trained 2 steps") == 1  # the main process reports, once

    log = read_log(out / "log.jsonl")
    rows = [r for r in log if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2]  # once each: only the main process logs
    want = {r["step"]: r for r in read_log(one.output_dir / "log.jsonl") if "loss" in r}
    for r in rows:
        for name in ("loss", "nll_loss", "rewards/margins", "logps/chosen", "grad_norm", "lr"):
            assert r[name] == pytest.approx(want[r["step"]][name], rel=1e-4, abs=1e-5), (r["step"], name)
    evals = [r for r in log if "eval_loss" in r]
    want_eval = [r for r in read_log(one.output_dir / "log.jsonl") if "eval_loss" in r]
    assert evals[-1]["eval_loss"] == pytest.approx(want_eval[-1]["eval_loss"], rel=1e-4)

    got, ref = adapter_weights(out / "final"), adapter_weights(one.final_adapter)
    assert got.keys() == ref.keys()
    for name in ref:  # whole tensors (ZeRO-3: gathered), trained as one process trains them
        assert got[name].shape == ref[name].shape, name
        torch.testing.assert_close(got[name], ref[name], atol=1e-5, rtol=1e-4)
