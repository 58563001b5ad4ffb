"""bench/paper_experiments.py on a tiny backbone: every variant trains a step, is scored on two dev25
recordings, and lands in the table; a rerun skips what is done; an unfinished run shows as such."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pe():
    spec = importlib.util.spec_from_file_location(
        "paper_experiments", ROOT / "bench" / "paper_experiments.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def corpus_read_once(monkeypatch):
    """Every variant reads the corpus (2.8 s each here): read it once for the whole test."""
    import functools

    from lmm_apa.data import speechocean

    cached = functools.lru_cache(maxsize=4)(speechocean.load_speechocean762)
    monkeypatch.setattr(speechocean, "load_speechocean762", lambda *a, **k: list(cached(*a, **k)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from lmm_apa.models.testing import tiny_qwen2_audio

    return tiny_qwen2_audio(tmp_path_factory.mktemp("tiny") / "backbone", design="default")


def _argv(tmp_path, corpus_dir, tiny, *extra):
    return [
        "--data", str(corpus_dir), "--steps", "1", "--dev-utts", "2", "--n-boot", "20", "--precision", "fp32",
        "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
        "--set", f"model.backbone={tiny}", "data.limit=2", "data.dev_limit=0",
        f"data.feature_cache={tmp_path / 'feats'}", "train.save_every=1", "train.tensorboard=false",
        "train.precision=fp32",
        *extra,
    ]  # fmt: skip


def test_every_variant_lands_in_the_table_and_a_rerun_skips_it(pe, tiny, corpus_dir, tmp_path, capsys):
    assert pe.parse_args([]).steps == 150  # the shipped budget: configs/cpu_listen.yaml's max_steps
    pe.main(_argv(tmp_path, corpus_dir, tiny))
    out = tmp_path / "out"
    table = (out / "table.md").read_text()
    for name in pe.VARIANTS:
        assert f"| {name} | {pe.VARIANTS[name][1]} | 1/1 |" in table
        r = json.loads((out / f"{name}.json").read_text())
        assert r["status"] == "done" and r["dev_utts"] == 2 and r["train_s"] > 0
        assert (r["train_precision"], r["score_precision"]) == ("fp32", "fp32")
    assert "minus simpo_ce's" in table and "(SCC / cap)" in table
    rows = (out / "table.csv").read_text().splitlines()
    assert rows[0].startswith("variant,status,steps,train_s") and len(rows) == 1 + 9 * len(pe.VARIANTS)
    # a single-granularity model is judged on its own level only
    sentence = json.loads((out / "sentence.json").read_text())
    assert pe.metric_of(sentence, "word", "accuracy") is None
    assert pe.metric_of(sentence, "sentence", "total") is not None

    # a variant's adapter scored again at another precision: its own record stays as it was
    before = (out / "simpo_ce.predictions.jsonl").read_text()
    adapter = tmp_path / "runs" / "simpo_ce" / "final"
    pe.main(_argv(tmp_path, corpus_dir, tiny, "--rescore", f"simpo_ce={adapter}", "--precision", "bf16"))
    again = json.loads((out / "simpo_ce.bf16.json").read_text())
    assert again["score_precision"] == "bf16" and again["dev_utts"] == 2
    assert (out / "simpo_ce.bf16.predictions.jsonl").read_text().count("\n") == 2
    assert (out / "simpo_ce.predictions.jsonl").read_text() == before

    # rerun: nothing is trained or scored again
    def refuse(*a, **k):
        raise AssertionError("a finished variant was run again")

    pe.run_variant = refuse
    pe.main(_argv(tmp_path, corpus_dir, tiny))
    assert (out / "table.md").read_text() == table

    # an unfinished variant: its row says how far it got instead of blocking the table
    (out / "ce.json").unlink()
    pe.main(_argv(tmp_path, corpus_dir, tiny, "--table-only"))
    assert "| ce | CE only | 1/1 (unfinished) |" in (out / "table.md").read_text()
    capsys.readouterr()
    pe.main(_argv(tmp_path, corpus_dir, tiny, "--dry-run", "--variants", "ce", "k1"))
    plan = capsys.readouterr().out
    assert "ce " in plan and "k1 " in plan and "done" in plan


def test_reuse_names_a_run_and_checks_its_config(pe, tmp_path):
    args = pe.parse_args(["--reuse", "simpo_ce=runs/listen1"])
    assert args.reuse == {"simpo_ce": Path("runs/listen1")}
    with pytest.raises(SystemExit):
        pe.parse_args(["--reuse", "nope=runs/x"])
    cfg = pe.variant_config("k1", tmp_path, args)
    cfg.save(tmp_path / "config.yaml")
    assert pe.config_differences(tmp_path, pe.variant_config("k1", tmp_path / "elsewhere", args)) == []
    assert pe.config_differences(tmp_path, pe.variant_config("simpo_ce", tmp_path, args)) == [
        "data.n_rejected: run 1, variant 3"
    ]


def test_dry_run_estimate_uses_the_steps_measured_so_far(pe, tmp_path):
    assert pe.measured_s_per_step(tmp_path) == 24.0  # nothing done: runs/listen1's measured step
    for name, train_s in (("a", 300.0), ("b", 500.0), ("c", 400.0)):
        done = {"status": "done", "steps": 10, "train_s": train_s}
        (tmp_path / f"{name}.json").write_text(json.dumps(done))
    (tmp_path / "a.vs_simpo_ce.json").write_text(json.dumps({"base_mtime": 1.0, "diff": {}}))
    (tmp_path / "d.json").write_text(json.dumps({"status": "unfinished", "steps": 3, "train_s": 9.0}))
    assert pe.measured_s_per_step(tmp_path) == 40.0
