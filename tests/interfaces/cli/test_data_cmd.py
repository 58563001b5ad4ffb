"""`lmm-apa data build` on the real corpus (read once per session: the `cached_corpus` fixture)."""

import json

from typer.testing import CliRunner

from lmm_apa.interfaces.cli import app


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_data_build(corpus_dir, cached_corpus, tmp_path):
    out = tmp_path / "dev.jsonl"
    args = ["data", "build", "--data", str(corpus_dir), "--split", "dev", "--task", "phone"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--limit", "3", "--n-rejected", "1"])
    assert result.exit_code == 0, result.output
    assert "examples" in result.output and "phone 3" in result.output
    records = _read(out)
    assert [r["task"] for r in records] == ["phone"] * 3
    assert all(isinstance(r["rejected"], str) for r in records)

    # a choice not offered is a usage error, before the corpus is read
    bad = CliRunner().invoke(app, [*args[:-1], "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "nope" in bad.output


def test_cli_data_build_swapped_rejected_answers(corpus_dir, cached_corpus, tmp_path):
    from collections import Counter

    def values(text):  # the answer's score symbols, in order
        return Counter(ch for k, ch in enumerate(text) if k and text[k - 1] in ":/=" and ch in "0123456789X")

    args = ["data", "build", "--data", str(corpus_dir), "--split", "dev", "--task", "word", "--limit", "8"]
    kept = {}
    for kind in ("perturb", "swap"):
        out = tmp_path / f"{kind}.jsonl"
        result = CliRunner().invoke(app, [*args, "--out", str(out), "--rejected-kind", kind])
        assert result.exit_code == 0, result.output
        rows = _read(out)
        assert len(rows) == 8
        # a swap keeps the chosen answer's scores and trades two of them; a perturbation moves them
        kept[kind] = sum(values(r["rejected"]) == values(r["chosen"]) for r in rows)
    # (an utterance whose words all score alike has nothing to swap and gets a perturbed answer)
    assert kept["perturb"] == 0 and kept["swap"] >= 3

    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "x.jsonl"), "--rejected-kind", "flip"])
    assert bad.exit_code == 2 and "flip" in bad.output
