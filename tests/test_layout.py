"""The package's shape: the import graph of hmmtl's modules has no cycle, and the library
never imports the studies built on it."""

from __future__ import annotations

import ast
from pathlib import Path

import hmmtl

PACKAGE = Path(hmmtl.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """The hmmtl modules ``name`` imports, at module level or inside functions.

    ``from X import y`` is an edge to ``X.y`` when that is a module, else to ``X``."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source
                       for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in MODULES and t != name)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _find_cycle(graph):
    """One cycle of ``graph`` as a list of modules, or None (depth-first search)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_covers_the_package():
    assert {"hmmtl", "hmmtl.io.corpus", "hmmtl.inference._array", "hmmtl.cli.tag"} <= set(GRAPH)
    assert "hmmtl.io.conll" in GRAPH["hmmtl.io"]
    assert "hmmtl.inference._results" in GRAPH["hmmtl.inference._array"]


def test_the_cycle_finder_finds_cycles():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_hmmtl_imports_have_no_cycle():
    cycle = _find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_library_never_imports_the_studies():
    users = {name for name, deps in GRAPH.items()
             if any(d == "hmmtl.studies" or d.startswith("hmmtl.studies.") for d in deps)}
    above = {n for n in users if n.startswith(("hmmtl.studies", "hmmtl.cli"))}
    assert users == above, f"library modules importing hmmtl.studies: {sorted(users - above)}"
