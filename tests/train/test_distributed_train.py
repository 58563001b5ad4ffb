"""Training with two CPU processes (gloo), launched as a user or a cluster scheduler launches it.

One process with grad-accum 2 and two with grad-accum 1 take the same two utterances a step, so
with dropout off the logged losses and the adapter must agree to float rounding (DDP averages the
two processes' gradients; one process sums its two halves). The two-process run is started with
`accelerate launch` and the committed config, stopped after step 2, and resumed under `torchrun`.
"""

from pathlib import Path

import pytest
import yaml

from lmm_apa.train.log import read_log
from lmm_apa.train.loop import train
from tests.train.launching import BIN, LMM_APA, REPO, assert_trained_as_one, launch

pytestmark = pytest.mark.multiprocess  # in the default run: ~1-1.5 min each on 2 idle cores


def test_two_processes_train_as_one_with_twice_the_accumulation_and_resume(tiny_cfg, tiny_jsonl, tmp_path):
    common = ("model.lora_dropout=0", f"data.dev_jsonl={tiny_jsonl}", "train.save_every=1")
    one = train(tiny_cfg(*common, f"train.output_dir={tmp_path / 'one'}"), progress=False)

    cfg = tiny_cfg(*common, "train.grad_accum=1", f"train.output_dir={tmp_path / 'two'}")
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump(cfg.to_dict()))
    args = ("train", "--config", str(config), "--no-progress")
    first = launch(
        str(BIN / "accelerate"), "launch", "--config_file", str(REPO / "configs/accelerate/cpu_2proc.yaml"),
        LMM_APA, *args, "--stop-after", "2",
    )  # fmt: skip
    assert "2 process(es), MULTI_CPU" in first.stdout
    assert first.stdout.count("stopped at step 2") == 1  # the main process reports, once
    second = launch(
        str(BIN / "torchrun"), "--standalone", "--nproc_per_node", "2", LMM_APA, *args, "--resume"
    )
    assert "resumed from" in second.stdout and "step-0000002" in second.stdout

    out = Path(cfg.train.output_dir)
    # one record per step: only the main process logs, and the resumed run went on from step 3
    assert_trained_as_one(out, one, [1, 2, 3, 4])
    assert len([r for r in read_log(out / "log.jsonl") if "eval_loss" in r]) == 1
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-0000003", "step-0000004"]
    assert not list(out.glob("**/*.tmp"))
