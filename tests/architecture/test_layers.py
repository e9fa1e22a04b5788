"""The layering the code relies on, checked: pure cores import no Django, no import cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"

# Packages and modules that must work without Django (documented in their docstrings).
PURE = ("flows/routing", "flows/engine", "flows/ids.py", "flows/formats/yamldoc.py")


def _modules(relative: str) -> list[str]:
    path = ROOT / relative
    files = [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
    names = []
    for file in files:
        parts = list(file.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_the_pure_cores_import_without_django() -> None:
    modules = [m for relative in PURE for m in _modules(relative)]
    assert "flows.engine.engine" in modules and "flows.routing.index" in modules
    script = (
        "import sys, importlib\n"
        "for name in ('django', 'channels', 'celery'):\n"
        "    sys.modules[name] = None  # any import of it now fails\n"
        f"for module in {modules!r}:\n"
        "    importlib.import_module(module)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def _imports_of(file: Path, module: str, known: set[str]) -> set[str]:
    """Every flows.* module this file imports, at any level (lazy imports count too).

    ``from package import submodule`` depends on the submodule, not on the package;
    imports under ``if TYPE_CHECKING:`` are for the type checker only and never run.
    """
    tree = ast.parse(file.read_text(encoding="utf-8"))
    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {base})
    return {name for name in found if name.startswith("flows")}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    def type_checking_only(node: ast.AST) -> bool:
        if not isinstance(node, ast.If):
            return False
        test = node.test
        return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )

    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if type_checking_only(node):
            todo.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _graph() -> dict[str, set[str]]:
    files = {
        name: path
        for path in FLOWS.rglob("*.py")
        if "migrations" not in path.parts
        for name in _modules(str(path.relative_to(ROOT)))
    }
    graph: dict[str, set[str]] = {}
    known = set(files)
    for name, path in files.items():
        edges = {target for target in _imports_of(path, name, known) if target in files}
        # Importing a package's submodule runs the package's __init__ first; that is not a
        # dependency of the importer on its siblings, so leave package inits as plain nodes.
        graph[name] = edges - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_flows_has_no_import_cycle_not_even_through_a_lazy_import() -> None:
    graph = _graph()
    assert "flows.services" in graph and "flows.tasks" in graph
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_tasks_import_services_and_not_the_reverse() -> None:
    graph = _graph()
    assert "flows.services" in graph["flows.tasks"]
    assert "flows.tasks" not in graph["flows.services"]
