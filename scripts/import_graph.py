"""The package's import graph: prints every edge between lmm_apa modules, fails on a circle or on an
import that points up the pipeline.

    python scripts/import_graph.py [--src src/lmm_apa] [--quiet]

Layers, bottom to top (a module may import its own layer and those below, never one above):

    base (errors, paths, ridge, distributed)
    -> data -> models -> align -> tasks -> train -> infer -> eval
    -> api (the package root and any other module directly under it: the public face)
    -> interfaces (and __main__)

`models` sits below `align`: the aligner reads the frozen Whisper-base encoder's frames
(`models.whisper_ct2`, found by `models.parts`), and no model module needs the aligner or the
tasks. Every import counts, at module level or inside a function: a lazy import only delays the
dependency, it does not remove it. Edges inside a function are printed with a ``(lazy)`` mark.
Exit status 1 on a circle or an upward edge, else 0.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGE = "lmm_apa"
LAYERS: tuple[str, ...] = (
    "base", "data", "models", "align", "tasks", "train", "infer", "eval", "api", "interfaces"
)  # fmt: skip
# Modules directly under the package that belong to no stage: small helpers every stage may use.
BASE_MODULES = {"lmm_apa.errors", "lmm_apa.paths", "lmm_apa.ridge", "lmm_apa.distributed"}
# Upward edges accepted anyway, each with the reason. Only lazy (in-function) imports may be listed.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module in BASE_MODULES:
        return "base"
    parts = module.split(".")
    if module == f"{PACKAGE}.__main__":
        return "interfaces"
    if len(parts) == 1 or (len(parts) == 2 and parts[1] not in LAYERS):
        return "api"  # the package root re-exports the public names; so may a module beside it
    if parts[1] not in LAYERS:
        raise SystemExit(f"{module}: no layer for {parts[1]!r}; add it to scripts/import_graph.py")
    return parts[1]


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str | None:
    """The absolute module a `from ... import` names (relative imports resolved)."""
    if node.level == 0:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, module: str, known: set[str]) -> list[tuple[str, bool]]:
    """(imported lmm_apa module, lazy) for every import statement of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    lazy_nodes: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            lazy_nodes |= {id(n) for n in ast.walk(fn) if n is not fn}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, is_package)
            if target is None:
                continue
            # `from lmm_apa.data import splits` imports the submodule lmm_apa.data.splits
            names = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name != module:
                    out.append((name, id(node) in lazy_nodes))
    return sorted(set(out))


def build_graph(src: Path) -> dict[str, list[tuple[str, bool]]]:
    files = {module_name(p, src): p for p in sorted(src.rglob("*.py"))}
    known = set(files)
    return {m: imports_of(p, m, known) for m, p in files.items()}


def find_cycles(graph: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w, _ in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward_edges(graph: dict[str, list[tuple[str, bool]]]) -> list[str]:
    problems = []
    for src_mod, edges in sorted(graph.items()):
        for dst, lazy in edges:
            if LAYERS.index(layer_of(dst)) <= LAYERS.index(layer_of(src_mod)):
                continue
            if lazy and (src_mod, dst) in ALLOWED_UPWARD:
                continue
            kind = "lazy import" if lazy else "import"
            where = f"{src_mod} ({layer_of(src_mod)}) -> {dst} ({layer_of(dst)})"
            problems.append(f"{where}: {kind} up the pipeline")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src" / PACKAGE)
    ap.add_argument("--quiet", action="store_true", help="print only the problems")
    args = ap.parse_args(argv)
    graph = build_graph(args.src)
    if not args.quiet:
        for mod, edges in sorted(graph.items()):
            for dst, lazy in edges:
                print(f"{mod} -> {dst}{' (lazy)' if lazy else ''}")
    problems = [f"circle: {' <-> '.join(c)}" for c in find_cycles(graph)] + upward_edges(graph)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
