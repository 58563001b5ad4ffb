"""The README's "## Python API" section runs: its ```python blocks, in order, in one namespace (so the
examples cannot go stale). Run from a folder beside ``shared/`` so that the README's
``../shared/speechocean762`` paths resolve as they do from a checkout next to the corpus."""

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Python API"


def python_blocks(markdown: str, heading: str) -> list[str]:
    """The ```python blocks between ``heading`` and the next level-2 heading."""
    start = markdown.index(f"\n{heading}\n")
    following = re.search(r"^## ", markdown[start + len(heading) + 2 :], re.MULTILINE)
    end = start + len(heading) + 2 + following.start() if following else len(markdown)
    return re.findall(r"^```python\n(.*?)^```$", markdown[start:end], re.MULTILINE | re.DOTALL)


def test_the_section_has_examples():
    blocks = python_blocks(README.read_text(), SECTION)
    assert len(blocks) >= 4
    assert any("score_many" in b for b in blocks) and any("except AudioError" in b for b in blocks)


def test_python_api_examples_run(corpus_dir, tmp_path, monkeypatch):
    from lmm_apa.infer.scorer import ADAPTER_JSON, DEFAULT_ADAPTER

    if not (DEFAULT_ADAPTER / ADAPTER_JSON).is_file():
        pytest.skip("no shipped default model")
    (tmp_path / "shared").symlink_to(corpus_dir.resolve().parent)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    namespace: dict = {"__name__": "readme"}
    printed = io.StringIO()
    for n, block in enumerate(python_blocks(README.read_text(), SECTION), 1):
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"README.md {SECTION!r} block {n}", "exec"), namespace)  # noqa: S102
    out = printed.getvalue()
    assert out.startswith('"WE CALL IT BEAR": total ')
    assert "audio: no-such-file.wav does not exist" in out and "has no words to score" in out
    assert len(namespace["saved"]) == 3 and os.path.getsize("results.jsonl") > 0
