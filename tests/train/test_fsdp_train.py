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

from lmm_apa.train.loop import train
from tests.train.launching import adapter_weights, assert_trained_as_one, launch, two_process_train

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
    run, _ = two_process_train(cfg, tmp_path, "gpu_fsdp.yaml")
    first = launch(*run, "--stop-after", "1", timeout=300)
    assert "2 process(es), MULTI_CPU" in first.stdout
    second = launch(*run, "--resume", timeout=300)
    assert "resumed from" in second.stdout and "step-0000001" in second.stdout

    out = Path(cfg.train.output_dir)
    ref = assert_trained_as_one(out, one, [1, 2])
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
