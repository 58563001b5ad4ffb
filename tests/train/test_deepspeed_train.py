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

from lmm_apa.train.loop import train
from tests.train.launching import LOGGED, assert_trained_as_one, launch, two_process_train

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
    run, accel = two_process_train(cfg, tmp_path, config)
    first = launch(*run, "--stop-after", "1", timeout=400)
    stage = accel["deepspeed_config"]["zero_stage"]
    assert "2 process(es), DEEPSPEED" in first.stdout and f"DeepSpeed ZeRO-{stage}" in first.stdout
    out = Path(cfg.train.output_dir)
    assert (out / "checkpoints" / "step-0000001" / "deepspeed").is_dir()
    second = launch(*run, "--resume", timeout=400)
    assert "resumed from" in second.stdout and "step-0000001" in second.stdout
    assert second.stdout.count("trained 2 steps") == 1  # the main process reports, once
    assert_trained_as_one(out, one, [1, 2], (*LOGGED, "lr"))
