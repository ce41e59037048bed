"""The package's boundaries, read from its import statements (no import is executed).

Two rules, as docs/DESIGN.md states them:
- one-way flow: load -> plan -> emit -> write, with the runtime (bridge-task) and the local Argo
  emulator (bridge run's engine) apart; `FORBIDDEN` lists, per part, what it must never import,
  at module level or inside a function;
- a package's face is its public names: no module imports, or reaches through an imported module
  for, a `_private` name of another package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "bridge"

# Command layer (cli, split, run, schedule) may import anything; the parts below may not.
_COMMANDS = ("bridge.cli", "bridge.split", "bridge.run", "bridge.schedule")
_SPLIT_SIDE = ("bridge.airflow", "bridge.plan", "bridge.emit", "bridge.write", "bridge.lint")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Reads YAML and runs commands: no Airflow, no split side, no runtime.
    "bridge.local": ("airflow", "bridge.runtime", "bridge.dagfile", *_SPLIT_SIDE, *_COMMANDS),
    # Inside the image: never the emitters, the planner or the commands that use them.
    "bridge.runtime": ("bridge.local", *_SPLIT_SIDE, *_COMMANDS),
    "bridge.dagfile": ("bridge.local", "bridge.runtime", *_SPLIT_SIDE, *_COMMANDS),
    # Pure: dataclasses in, dataclasses or text out.
    "bridge.model": ("airflow", "bridge.local", "bridge.runtime", "bridge.dagfile", *_SPLIT_SIDE, *_COMMANDS),
    "bridge.rbac": ("airflow", "bridge.local", "bridge.runtime", "bridge.dagfile", *_SPLIT_SIDE, *_COMMANDS),
    "bridge.names": ("airflow", "bridge.local", "bridge.runtime", "bridge.dagfile", *_SPLIT_SIDE, *_COMMANDS),
    "bridge.plan": ("airflow", "bridge.airflow", "bridge.emit", "bridge.write", "bridge.local", "bridge.runtime", *_COMMANDS),
    "bridge.emit": ("airflow", "bridge.airflow", "bridge.plan", "bridge.write", "bridge.local", "bridge.runtime", *_COMMANDS),
    "bridge.write": ("airflow", "bridge.airflow", "bridge.plan", "bridge.emit", "bridge.local", "bridge.runtime", *_COMMANDS),
    "bridge.airflow": ("bridge.plan", "bridge.emit", "bridge.write", "bridge.local", "bridge.runtime", "bridge.lint", *_COMMANDS),
    "bridge.lint": ("airflow", "bridge.airflow", "bridge.plan", "bridge.emit", "bridge.write", "bridge.runtime", *_COMMANDS),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """The unit a boundary is drawn around: a subpackage (bridge.local) or a top-level module."""
    return ".".join(module.split(".")[:2])


def _absolute(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(path: Path, module: str) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) for every import statement in the file."""
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node, path.name == "__init__.py")
            found.append((node.lineno, source, [alias.name for alias in node.names]))
    return found


def _private_attributes(path: Path, module: str) -> list[tuple[int, str]]:
    """`alias._name` where alias is a bridge module of another part imported into this file."""
    tree = ast.parse(path.read_text(), str(path))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bridge"):
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bridge") and alias.asname:
                    aliases[alias.asname] = alias.name
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            target = aliases[node.value.id]
            if node.attr.startswith("_") and not node.attr.startswith("__") and _part(target) != _part(module):
                found.append((node.lineno, f"{target}.{node.attr}"))
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def _matches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def flow_violations(path: Path, module: str) -> list[str]:
    """Imports of `module` (at `path`) that its part must not make."""
    rules = next((banned for part, banned in FORBIDDEN.items() if _matches(module, (part,))), ())
    return [f"{path.name}:{line}: {module} imports {source}" for line, source, _ in _imports(path, module) if _matches(source, rules)]


def private_violations(path: Path, module: str) -> list[str]:
    """Private names of another part that `module` imports or reaches through an imported module."""
    wrong = [
        f"{path.name}:{line}: {source}.{name}"
        for line, source, names in _imports(path, module)
        if source.startswith("bridge") and _part(source) != _part(module)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    return wrong + [f"{path.name}:{line}: {name}" for line, name in _private_attributes(path, module)]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_runs_against_the_flow(path: Path) -> None:
    assert flow_violations(path, _module_name(path)) == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_crosses_a_package(path: Path) -> None:
    assert private_violations(path, _module_name(path)) == []


def test_the_checks_see_violations(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from bridge.split import split_dag\n"
        "from bridge.runtime.runner import _setup\n"
        "from . import spec\n"
        "import bridge.lint.rules as rules\n"
        "def f():\n    import airflow\n    return rules._private\n"
    )
    assert flow_violations(probe, "bridge.local.probe") == [
        "probe.py:1: bridge.local.probe imports bridge.split",
        "probe.py:2: bridge.local.probe imports bridge.runtime.runner",
        "probe.py:4: bridge.local.probe imports bridge.lint.rules",
        "probe.py:6: bridge.local.probe imports airflow",
    ]
    assert private_violations(probe, "bridge.local.probe") == [
        "probe.py:2: bridge.runtime.runner._setup",
        "probe.py:7: bridge.lint.rules._private",
    ]
    assert flow_violations(probe, "bridge.cli") == [] and private_violations(probe, "bridge.runtime.probe") == ["probe.py:7: bridge.lint.rules._private"]
