"""The shape of executor/: imports form no circle, and the sandbox names no language or service
module (issue 8's "what must hold", checked on every run rather than by reading)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "executor"
# Programs the rehearsal sends (one a syntax error on purpose): data, not modules.
NOT_MODULES = PACKAGE / "rehearsal" / "programs"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The executor modules ``path`` imports, anywhere in it (a function-level import is still
    an edge), resolved to the deepest module that exists."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    paths = [p for p in PACKAGE.rglob("*.py") if NOT_MODULES not in p.parents]
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def test_no_module_of_executor_imports_itself_through_others() -> None:
    graph = import_graph()
    cycles = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dependency in sorted(graph[module]):
            if state.get(dependency) == "open":
                cycles.append([*path[path.index(dependency) :], dependency])
            elif dependency not in state:
                visit(dependency, [*path, dependency])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_sandbox_imports_nothing_of_executor_outside_it() -> None:
    outside = {
        (module, dependency)
        for module, dependencies in import_graph().items()
        if module.startswith("executor.sandbox")
        for dependency in dependencies
        if not dependency.startswith("executor.sandbox")
    }
    assert outside == set()
