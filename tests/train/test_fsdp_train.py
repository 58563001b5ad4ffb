"""FSDP training with two CPU processes (gloo), launched with the committed GPU FSDP settings.

`configs/accelerate/gpu_fsdp.yaml` with ``num_processes: 2`` is launched on CPU processes, so the
sharding, wrapping policy and state-dict settings that run on GPUs are the ones checked here. One
process with grad-accum 2 and two FSDP processes with grad-accum 1 take the same two utterances a
step; with dropout off and fp32 the logged losses, the gradient norm (FSDP's, over both shards) and
the gathered adapter must agree to float rounding. The FSDP run stops after step 1 and resumes from
its checkpoint (full weights and optimizer state, scattered back into the shards).
"""

from pathlib import Path

import pytest
import torch
import yaml
from launching import BIN, LMM_APA, REPO, adapter_weights, launch

from lmm_apa.train.log import read_log
from lmm_apa.train.loop import train

pytestmark = pytest.mark.multiprocess  # in the default run: ~1-1.5 min each on 2 idle cores


def test_fsdp_two_processes_train_as_one_resume_and_save_the_wholeadapter_weights(
    tiny_cfg, tiny_backbone, tiny_jsonl, tmp_path
):
    common = (
        "model.lora_dropout=0", f"data.dev_jsonl={tiny_jsonl}", "train.save_every=1", "train.max_steps=2",
        "train.precision=fp32",
    )  # fmt: skip
    one = train(tiny_cfg(*common, f"train.output_dir={tmp_path / 'one'}"), progress=False)

    cfg = tiny_cfg(*common, "train.grad_accum=1", f"train.output_dir={tmp_path / 'two'}")
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump(cfg.to_dict()))
    accel = yaml.safe_load((REPO / "configs/accelerate/gpu_fsdp.yaml").read_text())
    accel |= {"num_processes": 2, "main_process_port": 0}
    accel_file = tmp_path / "cpu_fsdp.yaml"
    accel_file.write_text(yaml.safe_dump(accel))
    run = (str(BIN / "accelerate"), "launch", "--config_file", str(accel_file), LMM_APA, "train")
    args = ("--config", str(config), "--no-progress")
    first = launch(*run, *args, "--stop-after", "1", timeout=300)
    assert "2 process(es), MULTI_CPU" in first.stdout
    second = launch(*run, *args, "--resume", timeout=300)
    assert "resumed from" in second.stdout and "step-0000001" in second.stdout

    out = Path(cfg.train.output_dir)
    log = read_log(out / "log.jsonl")
    rows = [r for r in log if "loss" in r]
    assert [r["step"] for r in rows] == [1, 2]
    want = {r["step"]: r for r in read_log(one.output_dir / "log.jsonl") if "loss" in r}
    for r in rows:
        for name in ("loss", "nll_loss", "rewards/margins", "logps/chosen", "grad_norm"):
            assert r[name] == pytest.approx(want[r["step"]][name], rel=1e-4, abs=1e-5), (r["step"], name)
    evals = [r for r in log if "eval_loss" in r]
    want_eval = [r for r in read_log(one.output_dir / "log.jsonl") if "eval_loss" in r]
    assert evals[-1]["eval_loss"] == pytest.approx(want_eval[-1]["eval_loss"], rel=1e-4)

    got, ref = adapter_weights(out / "final"), adapter_weights(one.final_adapter)
    assert got.keys() == ref.keys()
    for name in ref:  # whole tensors, not one process's shard
        torch.testing.assert_close(got[name], ref[name], atol=1e-5, rtol=1e-4)
    for ckpt in (out / "checkpoints").iterdir():  # a checkpoint's adapter is whole too
        assert {k: v.shape for k, v in adapter_weights(ckpt / "adapter").items()}.keys() == ref.keys()

    # the saved adapter loads as any other and scores as the one-process adapter does
    from lmm_apa.models.backbone import load_backbone

    feats = [torch.randn(3, 512, generator=torch.Generator().manual_seed(0))]
    logits = []
    for adapter in (out / "final", one.final_adapter):
        lmm = load_backbone(tiny_backbone, adapter=adapter, dtype=torch.float32)
        ids = torch.tensor([[1, *[lmm.audio_token_id] * 3, 2, 3]])
        logits.append(lmm.forward(ids, torch.ones_like(ids), feats))
    torch.testing.assert_close(logits[0], logits[1], atol=1e-5, rtol=1e-4)
