"""The size rules of docs/architecture.md, checked by `make lint`: no module over 400 lines and
no function over 60 lines, outside the migrations and the simulator's data tables.

Small modules with one job and functions that fit on a screen are what let a newcomer find a
rule in one place; a limit nobody checks drifts, so this runs with the linters.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
EXEMPT = ("/store/migrations/", "/sim/data/")


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def problems(root: Path) -> list[str]:
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        if any(part in path.resolve().as_posix() for part in EXEMPT):
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n") + (not text.endswith("\n") and bool(text))
        if lines > MAX_MODULE_LINES:
            found.append(f"{path}: module has {lines} lines (limit {MAX_MODULE_LINES})")
        for fn in _functions(ast.parse(text, filename=str(path))):
            length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(
                    f"{path}:{fn.lineno}: function {fn.name} has {length} lines"
                    f" (limit {MAX_FUNCTION_LINES})"
                )
    return found


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path("src/custodes")]
    found = [p for root in roots for p in problems(root)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
