"""The package's shape: the import graph of hmmtl's modules has no cycle, no module imports
a layer above its own (data flows one way: readers -> batches -> kernels -> estimators ->
command line and studies), and the library never imports the studies built on it."""

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


#: the layers of the package, from the bottom: a module may import its own layer and those
#: below it, never one above.  A module belongs to the layer of the longest name listed that
#: is the module or one of its packages.
LAYERS = (
    ("hmmtl._cache", "hmmtl._progress", "hmmtl._registry"),
    ("hmmtl.data",),
    # the package root imports the batches and the kernels (warmup) at module level; the rest
    # of what it offers is imported by name on first use
    ("hmmtl", "hmmtl.io", "hmmtl.inference"),
    ("hmmtl.metrics", "hmmtl._text_api"),
    ("hmmtl._base", "hmmtl.serialize"),
    ("hmmtl.executors",),
    ("hmmtl.hmm",),
    ("hmmtl.crf",),
    ("hmmtl.transfer",),
    ("hmmtl.ner",),
    ("hmmtl.models", "hmmtl.prune", "hmmtl.spark", "hmmtl.tagging"),
    ("hmmtl.studies",),
    ("hmmtl.cli", "hmmtl._info", "hmmtl.__main__"),
)

def _layer(name: str) -> int | None:
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or name.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > len(best[1])):
                best = (rank, prefix)
    return None if best is None else best[0]


def _upward_imports(graph) -> set[tuple[str, str]]:
    return {(a, b) for a, deps in graph.items() for b in deps if _layer(b) > _layer(a)}


def test_every_module_has_a_layer():
    assert [name for name in sorted(GRAPH) if _layer(name) is None] == []
    assert _layer("hmmtl.crf.labelers") == _layer("hmmtl.crf._kernels") < _layer("hmmtl.ner")
    assert _layer("hmmtl.ner.recognizer") == _layer("hmmtl.ner._cluster_kernels")
    assert _layer("hmmtl") < _layer("hmmtl.hmm") < _layer("hmmtl.transfer") < _layer("hmmtl.cli")


def test_the_layer_check_finds_upward_imports():
    graph = {"hmmtl.hmm.em": {"hmmtl.data", "hmmtl.crf.labelers"}, "hmmtl.data": set(),
             "hmmtl.crf.labelers": {"hmmtl.hmm"}}
    assert _upward_imports(graph) == {("hmmtl.hmm.em", "hmmtl.crf.labelers")}


def test_no_module_imports_a_layer_above_its_own():
    upward = _upward_imports(GRAPH)
    assert not upward, "imports that go up a layer: " + ", ".join(
        f"{a} -> {b}" for a, b in sorted(upward))


def test_the_domain_packages_hold_their_parts():
    """The CRF, NER and multi-task HMM parts live in their packages, not at the top."""
    for name in ("hmmtl.crf.labelers", "hmmtl.crf.features", "hmmtl.crf._kernels",
                 "hmmtl.ner.recognizer", "hmmtl.ner.clusters", "hmmtl.ner._cluster_kernels",
                 "hmmtl.ner.gazetteers", "hmmtl.transfer.multitask_family"):
        assert name in GRAPH
    top = {n for n in GRAPH if n.count(".") == 1 and MODULES[n].name != "__init__.py"}
    assert not top & {"hmmtl.features", "hmmtl.clusters", "hmmtl.gazetteers",
                      "hmmtl._crf_kernels", "hmmtl._cluster_kernels"}
