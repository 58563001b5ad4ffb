"""The relative links of README.md and docs/*.md resolve (scripts/check_doc_links.py), so they cannot rot."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "check_doc_links.py"


def run(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, timeout=60
    )


def test_readme_and_docs_links_resolve():
    result = run(REPO)
    assert result.returncode == 0, result.stderr + result.stdout


def test_a_broken_link_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("[back](../README.md) [gone](../bench/results/nothing.md)\n")
    (tmp_path / "README.md").write_text(
        "[page](docs/here.md#a-heading) [web](https://example.org/x.md) `[code](not/checked.md)`\n"
        "```\n[fenced](not/checked/either.md)\n```\n"
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert "docs/here.md:1: ../bench/results/nothing.md does not exist" in result.stderr
    assert "checked" not in result.stderr
