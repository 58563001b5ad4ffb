"""The package stays readable: ruff clean with the complexity rule (C901, at most 15, set in
pyproject.toml), and no function over 80 lines unless a comment in it says why (`# long: ...`)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lmm_apa"
MAX_LINES = 80


def long_functions(folder: Path, max_lines: int = MAX_LINES) -> list[str]:
    """`path:line name (n lines)` for each function longer than max_lines without a `# long:` reason."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            n = node.end_lineno - node.lineno + 1
            body = lines[node.lineno - 1 : node.end_lineno]
            if n > max_lines and not any(line.strip().startswith("# long:") for line in body):
                out.append(f"{path.relative_to(folder)}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_ruff_is_clean_with_the_complexity_rule():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "C901", "src"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_long_function_without_a_reason():
    assert long_functions(PACKAGE) == []


def test_the_length_check_catches_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (tmp_path / "m.py").write_text(f"def f():\n{body}\n")
    assert long_functions(tmp_path) == [f"m.py:1 f ({MAX_LINES + 1} lines)"]
    (tmp_path / "m.py").write_text(f"def f():\n    # long: one table, read top to bottom\n{body}\n")
    assert long_functions(tmp_path) == []
