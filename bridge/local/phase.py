"""The DAG's final phase from its task nodes: Argo's dag.go assessDAGPhase and findLeafTaskNames. Pure."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

FULFILLED = {"Succeeded", "Failed", "Error", "Skipped", "Omitted"}
COMPLETED = {"Succeeded", "Failed", "Error"}  # NodePhase.Completed: Skipped/Omitted are not


def leaf_tasks(dependencies: Mapping[str, Sequence[str]]) -> list[str]:
    """dag.go findLeafTaskNames: tasks no other task depends on, sorted."""
    depended = {dep for deps in dependencies.values() for dep in deps}
    return sorted(name for name in dependencies if name not in depended)


def target_tasks(dag: Mapping[str, object], dependencies: Mapping[str, Sequence[str]]) -> list[str]:
    """`dag.target` (space-separated) or, when absent, the leaf tasks."""
    target = dag.get("target")
    if target:
        return str(target).split(" ")
    return leaf_tasks(dependencies)


def assess_dag_phase(
    dependencies: Mapping[str, Sequence[str]],
    phases: Mapping[str, str],
    targets: Sequence[str],
    *,
    fail_fast: bool = True,
    continue_on: Mapping[str, Mapping[str, bool]] | None = None,
) -> str:
    """dag.go assessDAGPhase over task nodes (`phases` holds only tasks whose node exists).

    BFS from the root tasks; a task's children are the created tasks that depend on it. A
    completed node (Succeeded/Failed/Error) sets its branch phase; a Skipped or Omitted node
    inherits its parent's, and a target keeps a Failed/Error phase once one reached it.
    """
    continue_on = continue_on or {}
    children: dict[str, list[str]] = {name: [] for name in phases}
    roots: list[str] = []
    for name in dependencies:
        if name not in phases:
            continue
        deps = dependencies[name]
        if not deps:
            roots.append(name)
        for dep in deps:
            if dep in children:
                children[dep].append(name)
    target_phase: dict[str, str] = {name: "" for name in targets}
    seen: set[tuple[str, str]] = set()
    queue: deque[tuple[str, str]] = deque()

    def add(names: Sequence[str], branch: str) -> None:
        # uniquePhaseNodeQueue: a node is queued once per (node, branch phase).
        for name in names:
            if (name, branch) not in seen:
                seen.add((name, branch))
                queue.append((name, branch))

    add(roots, "Succeeded")
    while queue:
        name, branch = queue.popleft()
        phase = phases[name]
        if phase not in FULFILLED:
            return "Running"
        if phase in COMPLETED:
            branch = phase
        if name in target_phase and target_phase[name] not in ("Failed", "Error"):
            target_phase[name] = branch
        add(children[name], branch)
    result = "Succeeded"
    for name in targets:
        branch = target_phase.get(name, "")
        if branch == "":
            result = "Running"
            if not fail_fast:
                break
        elif branch in ("Failed", "Error"):
            rules = continue_on.get(name) or {}
            if (branch == "Failed" and rules.get("failed")) or (branch == "Error" and rules.get("error")):
                continue
            result = branch
            if fail_fast:
                break
    return result
