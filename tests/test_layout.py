"""tests/ mirrors src/lmm_apa/: every module that defines a function or a class has a test file at the
mirrored path (`src/lmm_apa/align/aligner.py` -> `tests/align/test_aligner.py`; a package's
`__init__.py` -> `tests/<package>/test_<package>.py`). Topic files next to it
(`test_score_cmd_views.py`) are welcome but do not replace it. See tests/README.md."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lmm_apa"
TESTS = Path(__file__).resolve().parent

# Modules with logic that have no mirrored test file on purpose, each with its reason.
EXEMPT: dict[str, str] = {}


def has_logic(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) for n in ast.walk(tree))


def mirrored_test(module: Path) -> Path:
    rel = module.relative_to(SRC)
    if rel.name in ("__init__.py", "__main__.py"):
        package = rel.parent
        name = package.name if package.parts else "lmm_apa"
        stem = name if rel.name == "__init__.py" else f"{name}_main"
        return TESTS / package / f"test_{stem}.py"
    return TESTS / rel.parent / f"test_{rel.stem}.py"


def modules_with_logic() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if has_logic(p))


def test_every_module_with_logic_has_its_mirrored_test_file():
    missing = [
        f"{m.relative_to(SRC.parent)} -> {mirrored_test(m).relative_to(TESTS.parent)}"
        for m in modules_with_logic()
        if str(m.relative_to(SRC)) not in EXEMPT and not mirrored_test(m).exists()
    ]
    assert not missing, "modules with logic but no mirrored test file:\n" + "\n".join(missing)


def test_exemptions_name_modules_that_exist_and_still_lack_a_test():
    for rel in EXEMPT:
        module = SRC / rel
        assert module.exists(), f"exempt module {rel} is gone: drop it from EXEMPT"
        assert not mirrored_test(module).exists(), f"{rel} has its test now: drop it from EXEMPT"


def test_every_test_folder_is_a_package():
    """tests/ is a package tree so equal basenames (tests/interfaces/cli/test_app.py and
    tests/interfaces/web/test_app.py) coexist and helpers import as `tests.<pkg>.<helper>`."""
    folders = {p.parent for p in TESTS.rglob("test_*.py")}
    missing = sorted(str(f.relative_to(TESTS.parent)) for f in folders if not (f / "__init__.py").exists())
    assert not missing, f"test folders without __init__.py: {missing}"


def test_the_mirror_rule_sees_logic_and_maps_paths():
    assert has_logic(SRC / "align" / "aligner.py")
    assert (
        mirrored_test(SRC / "interfaces" / "cli" / "score_cmd.py")
        == TESTS / "interfaces" / "cli" / "test_score_cmd.py"
    )
    assert (
        mirrored_test(SRC / "interfaces" / "cli" / "__init__.py")
        == TESTS / "interfaces" / "cli" / "test_cli.py"
    )
