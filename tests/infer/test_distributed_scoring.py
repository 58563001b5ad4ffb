"""`lmm-apa evaluate --model` and `lmm-apa score --manifest` under two CPU processes (torchrun, gloo).

Each process scores its own chunks of the recordings, and the main process alone writes one file,
the same (scores and order) as a single process writes. Chunks are cut to 2 recordings here (the
CLI's are 32), so that 6 recordings make 3 chunks: 4 for process 0, 2 for process 1.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from lmm_apa.eval.report import spread_sample
from lmm_apa.interfaces.cli.app import app

pytestmark = pytest.mark.multiprocess  # in the default run: ~1-1.5 min each on 2 idle cores

N = 6
# Runs CLI commands (a JSON list of argument lists) in one process, with the test's chunk size.
SHIM = """
import json, sys
import lmm_apa.infer.batch as batch
import lmm_apa.infer.request as request
from lmm_apa.interfaces.cli import main
batch.CHUNK = request.CHUNK = 2
for args in json.loads(sys.argv[1]):
    sys.argv = ["lmm-apa", *args]
    try:
        main()
    except SystemExit as e:
        if e.code:
            raise
"""


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _assert_same(a, b, where: str = "") -> None:
    """The same records: every key, text, time and list alike; scores to float rounding (a CPU
    without AVX-512 rounds the in-process and the launched runs' kernels apart by ~1e-6)."""
    if isinstance(a, float) or isinstance(b, float):
        assert b == pytest.approx(a, abs=1e-5), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_two_processes_share_the_recordings_and_write_what_one_writes(
    tiny_adapter, corpus_dir, tmp_path, monkeypatch
):
    from lmm_apa.data.splits import load_split

    utts = spread_sample(load_split(corpus_dir, "train"), N, seed=0)
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(
        "".join(json.dumps({"audio": u.audio_path, "text": u.text, "utt_id": u.utt_id}) + "\n" for u in utts)
    )

    def commands(tag: str) -> list[list[str]]:
        evaluate = ["evaluate", "--data", str(corpus_dir), "--split", "train", "--limit", str(N)]
        evaluate += ["--model", str(tiny_adapter), "--n-boot", "0", "--precision", "fp32"]
        evaluate += ["--predictions-out", str(tmp_path / f"eval-{tag}.jsonl")]
        score = ["score", "--manifest", str(manifest), "--model", str(tiny_adapter), "--precision", "fp32"]
        score += ["--out", str(tmp_path / f"score-{tag}.jsonl")]
        return [evaluate, score]

    shim = tmp_path / "shim.py"
    shim.write_text(SHIM)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    torchrun = str(Path(sys.executable).parent / "torchrun")
    two = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", str(shim), json.dumps(commands("two"))],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    # each recording scored once, by one process: 4 + 2 of 6, for both commands
    shares = re.findall(r"process (\d) of 2: scor\w+ (\d+) (?:utterances|recordings)", two.stderr)
    assert sorted(shares) == [("0", "4"), ("0", "4"), ("1", "2"), ("1", "2")], two.stderr[-2000:]

    # the single-process reference, in this process, with the same chunks
    import lmm_apa.infer.batch as batch
    import lmm_apa.infer.request as request

    monkeypatch.setattr(batch, "CHUNK", 2)
    monkeypatch.setattr(request, "CHUNK", 2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the launched processes (OMP_NUM_THREADS=1): the same kernels
    try:
        for args in commands("one"):
            done = CliRunner().invoke(app, args)
            assert done.exit_code == 0, done.output
    finally:
        torch.set_num_threads(threads)

    for kind in ("eval", "score"):
        one, two_rows = _jsonl(tmp_path / f"{kind}-one.jsonl"), _jsonl(tmp_path / f"{kind}-two.jsonl")
        assert [r["utt_id"] for r in two_rows] == [r["utt_id"] for r in one] and len(one) == N
        _assert_same(one, two_rows, kind)
    assert [r["utt_id"] for r in _jsonl(tmp_path / "score-two.jsonl")] == [u.utt_id for u in utts]
