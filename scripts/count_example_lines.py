"""Counts the lines of each example against its Keras 3 twin in examples/keras/.

A line counts when it is neither blank nor a comment: Rust examples are counted as committed
(rustfmt, max width 100, checked by `cargo fmt --check`), skipping `//`, `//!` and `///`
lines; the Keras scripts are formatted with `black -l 100` and counted skipping `#` lines and
the module docstring. An example that uses `examples/common` also gets the lines of the
helpers it names there, so shared code is not hidden.

    python3 scripts/count_example_lines.py            # a Markdown table
"""

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rust_lines(text):
    return [l for l in text.splitlines() if l.strip() and not l.strip().startswith("//")]


def python_lines(text):
    tree = ast.parse(text)
    skip = set()
    doc = tree.body[0] if tree.body else None
    if isinstance(doc, ast.Expr) and isinstance(getattr(doc, "value", None), ast.Constant):
        skip = set(range(doc.lineno, doc.end_lineno + 1))
    return [
        l
        for i, l in enumerate(text.splitlines(), 1)
        if l.strip() and not l.strip().startswith("#") and i not in skip
    ]


def common_helper_lines(example_text):
    """Lines of the `examples/common` functions an example imports."""
    common = ROOT / "examples/common/mod.rs"
    used = re.findall(r"use common::\{?([\w, ]+)\}?;", example_text)
    names = {n.strip() for group in used for n in group.split(",") if n.strip()}
    if not names or not common.exists():
        return 0
    lines, count, inside, depth = common.read_text().splitlines(), 0, False, 0
    for line in lines:
        m = re.match(r"\s*pub fn (\w+)", line)
        if m and m.group(1) in names:
            inside = True
        if inside:
            if line.strip() and not line.strip().startswith("//"):
                count += 1
            depth += line.count("{") - line.count("}")
            if depth == 0 and "}" in line:
                inside = False
    return count


def main():
    rows = []
    for twin in sorted((ROOT / "examples/keras").glob("*.py")):
        example = ROOT / "examples" / (twin.stem + ".rs")
        if not example.exists():
            rows.append((twin.stem, None, None, len(python_lines(twin.read_text()))))
            continue
        text = example.read_text()
        rows.append(
            (
                twin.stem,
                len(rust_lines(text)),
                common_helper_lines(text),
                len(python_lines(twin.read_text())),
            )
        )
    print("| example | stratanet (Rust) | Keras 3 (Python) | ratio |")
    print("|---|---:|---:|---:|")
    worst = 0.0
    for name, rust, common, py in rows:
        if rust is None:
            print(f"| {name} | (missing) | {py} | - |")
            continue
        total = rust + common
        shown = f"{total}" if not common else f"{total} ({rust} + {common} in common)"
        worst = max(worst, total / py)
        print(f"| {name} | {shown} | {py} | {total / py:.2f}x |")
    print(f"\nlargest ratio: {worst:.2f}x", file=sys.stderr)


if __name__ == "__main__":
    main()
