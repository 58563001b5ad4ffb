"""scripts/import_graph.py: the package has no import circle and no import up the pipeline, and the
checker does catch both (on a small made-up package)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "import_graph.py"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def test_the_package_imports_point_down_only():
    result = run()
    assert result.returncode == 0, result.stderr
    assert "lmm_apa.tasks.build -> lmm_apa.tasks.answer" in result.stdout  # the edges are printed


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "lmm_apa" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "lmm_apa"


def test_a_circle_and_an_upward_import_are_failures(tmp_path):
    src = _write(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "",
            "data/a.py": "from lmm_apa.data import b\n",
            "data/b.py": "import lmm_apa.data.a\n",
            "tasks/__init__.py": "",
            "tasks/t.py": "",
            "align/__init__.py": "",
            "align/x.py": "def f():\n    from lmm_apa.tasks.t import thing\n",
        },
    )
    result = run("--src", str(src), "--quiet")
    assert result.returncode == 1
    assert "circle: lmm_apa.data.a <-> lmm_apa.data.b" in result.stderr
    assert "lmm_apa.align.x (align) -> lmm_apa.tasks.t (tasks): lazy import up the pipeline" in result.stderr
