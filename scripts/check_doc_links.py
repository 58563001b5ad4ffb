"""Check that every relative link in README.md and docs/*.md points to a file or folder that exists.

Markdown links `[text](target)` and images `![alt](target)` are checked; links with a scheme
(http:, https:, mailto:), bare anchors (#...) and links inside code (fenced blocks, `inline code`)
are skipped, and an anchor or query after a path is ignored. Exits 1, naming each broken link, if
any does not resolve; 0 otherwise. Stdlib only:

    python scripts/check_doc_links.py [ROOT]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
INLINE_CODE = re.compile(r"(`+).*?\1")


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every markdown link outside code."""
    found, fence = [], None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            fence = None if fence == marker else (fence or marker)
            continue
        if fence:
            continue
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            found.append((number, match.group(1)))
    return found


def broken(root: Path) -> list[str]:
    problems = []
    for page in pages(root):
        if not page.is_file():
            problems.append(f"{page.relative_to(root)}: missing")
            continue
        for number, target in links(page.read_text(encoding="utf-8")):
            if SCHEME.match(target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            resolved = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
            if not resolved.exists():
                problems.append(f"{page.relative_to(root)}:{number}: {target} does not exist")
    return problems


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    problems = broken(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    checked = sum(len(links(p.read_text(encoding="utf-8"))) for p in pages(root) if p.is_file())
    print(f"{checked} links in {len(pages(root))} pages: {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
