"""DAG and steps templates as the engine walks them, and loops (`withItems`, `withParam`). Pure.

Mirrors Argo v4.1.2: workflow/common/ancestry.go (GetTaskDependencies), workflow/controller/dag.go
(executeDAG, executeDAGTask, expandTask), workflow/controller/steps.go (executeSteps,
executeStepGroup, expandStepGroup) and workflow/controller/operator.go (processItem,
generateNodeName, processAggregateNodeOutputs, aggregatedJSONValueList).

A steps template runs as the DAG it is equivalent to: each step of group n depends on every step
of group n-1 (a bare name: Succeeded, Skipped or Daemoned, plus its continueOn), which is when
steps.go starts the next group; `{{steps.X…}}` reads as `{{tasks.X…}}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.argo import expr
from bridge.local.phase import target_tasks
from bridge.local.result import NodeResult
from bridge.local.spec import WorkflowError, int_or_string
from bridge.local.template import substitute_all

# Fields bridge run cannot honour; refusing beats silently running something Argo would not.
UNSUPPORTED_TASK_FIELDS = ("withSequence", "hooks", "onExit", "templateRef", "inline")
LOOPS = ("withItems", "withParam")


@dataclass(frozen=True)
class DagSpec:
    """A DAG (or steps) template's tasks, their dependencies and `depends` logic, and what to walk."""

    name: str
    tasks: Mapping[str, Mapping[str, Any]]
    dependencies: Mapping[str, Sequence[str]]
    logic: Mapping[str, str]
    targets: Sequence[str]
    order: Sequence[str]  # targets and their ancestors, in template order (executeDAG walks only those)
    fail_fast: bool
    parallelism: int | None  # the template's: active children at once
    steps: bool  # a steps template: its tasks' local variable is steps.name


def with_ancestors(dependencies: Mapping[str, Sequence[str]], names: Sequence[str]) -> set[str]:
    """`names` and every task they depend on, transitively."""
    found: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name not in found:
            found.add(name)
            stack.extend(dependencies.get(name, []))
    return found


def steps_as_tasks(steps: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """A steps template's groups as DAG tasks: each step depends on every step of the group before."""
    tasks: list[dict[str, Any]] = []
    previous: list[str] = []
    for group in steps or []:
        names = []
        for step in group or []:
            task = json.loads(json.dumps(step).replace("{{steps.", "{{tasks."))
            task.pop("depends", None)
            if previous:
                task["depends"] = " && ".join(previous)
            tasks.append(task)
            names.append(str(step["name"]))
        previous = names
    return tasks


def dag_spec(template: Mapping[str, Any]) -> DagSpec:
    """The walkable form of a `dag` or `steps` template; WorkflowError when bridge run cannot run it."""
    name = str(template.get("name"))
    steps = template.get("steps") is not None
    dag: Mapping[str, Any] = {"tasks": steps_as_tasks(template["steps"])} if steps else template["dag"]
    tasks = {str(task["name"]): task for task in dag.get("tasks") or []}
    dependencies: dict[str, list[str]] = {}
    logic: dict[str, str] = {}
    for task_name, task in tasks.items():
        try:
            dependencies[task_name], logic[task_name] = expr.task_depends(task, tasks)
        except expr.ExpressionError as error:
            raise WorkflowError(f"templates.{name}: {error}") from None
        for key in UNSUPPORTED_TASK_FIELDS:
            if task.get(key) is not None:
                raise WorkflowError(f"task {task_name!r} uses `{key}`, which bridge run does not support yet")
        if task.get("withItems") is not None and task.get("withParam") is not None:
            raise WorkflowError(f"templates.{name}.tasks.{task_name}: only one of withItems and withParam may be given")
    targets = target_tasks(dag, dependencies)
    for target in targets:
        if target not in tasks:
            raise WorkflowError(f"dag.target names {target!r}, which is not a task of this DAG")
    walked = with_ancestors(dependencies, targets)
    return DagSpec(
        name=name,
        tasks=tasks,
        dependencies=dependencies,
        logic=logic,
        targets=targets,
        order=[task_name for task_name in tasks if task_name in walked],
        fail_fast=dag.get("failFast") is None or bool(dag.get("failFast")),
        parallelism=int_or_string(template.get("parallelism"), f"templates.{name}.parallelism"),
        steps=steps,
    )


def go_json(value: Any) -> str:
    """encoding/json Marshal: compact, map keys sorted, <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def item_text(item: Any) -> str:
    """Item.String(): its JSON, without the quotes of a string."""
    if isinstance(item, str):
        return item
    if isinstance(item, bool):
        return "true" if item else "false"
    return json.dumps(item, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _go_list(items: Sequence[Any]) -> str:
    """fmt %v of []Item: `[a b]`."""
    return "[" + " ".join(item_text(item) for item in items) + "]"


def item_scope(item: Any, index: int, where: str) -> tuple[str, dict[str, str | None]]:
    """operator.go processItem: (the description in the node name, the `{{item…}}` variables)."""
    if isinstance(item, dict):
        scope: dict[str, str | None] = {f"item.{key}": item_text(value) for key, value in item.items()}
        scope["item"] = go_json(item)
        return ",".join(sorted(f"{key}:{item_text(value)}" for key, value in item.items())), scope
    if isinstance(item, list):
        return _go_list(item), {"item": go_json(item)}
    if isinstance(item, (str, int, float, bool)):
        return item_text(item), {"item": item_text(item)}
    raise WorkflowError(f"{where}[{index}] expected string, number, list, or map. received: {item!r}")


def node_name(name: str, index: int, description: str) -> str:
    """operator.go generateNodeName: `name(index:description)`, parentheses dropped from the description."""
    return f"{name}({index}:{description.replace('(', '').replace(')', '')})"


def loop_items(task: Mapping[str, Any]) -> list[Any]:
    """The items of a task's loop (already substituted); WorkflowError for a withParam that is not a JSON list."""
    if task.get("withItems") is not None:
        return list(task["withItems"])
    text = str(task.get("withParam"))
    try:
        items = json.loads(text)
    except ValueError as error:
        raise WorkflowError(f"withParam value could not be parsed as a JSON list: {text}: {error}") from None
    if not isinstance(items, list):
        raise WorkflowError(f"withParam value could not be parsed as a JSON list: {text}")
    return items


def expand_task(task: Mapping[str, Any], scope: Mapping[str, str | None]) -> list[tuple[str, dict[str, Any]]]:
    """dag.go expandTask: one (name, task) per item, `{{item}}`/`{{item.key}}` substituted with `scope`.

    Every `{{…}}` left in the task must resolve (template.Replace without allowUnresolved).
    """
    body = {key: value for key, value in task.items() if key not in LOOPS}
    expanded = []
    for index, item in enumerate(loop_items(task)):
        description, variables = item_scope(item, index, "withItems" if task.get("withItems") is not None else "withParam")
        child = substitute_all(body, {**scope, **variables}, strict=["*"])
        child["name"] = node_name(str(task["name"]), index, description)
        expanded.append((child["name"], child))
    return expanded


def _json_values(values: Sequence[str]) -> str:
    """operator.go aggregatedJSONValueList: a list of JSON objects/lists when every value is one, else strings."""
    parsed = []
    for value in values:
        try:
            loaded = json.loads(value)
        except ValueError:
            return go_json(list(values))
        if not isinstance(loaded, (list, dict)):
            return go_json(list(values))
        parsed.append(loaded)
    return go_json(parsed)


def aggregate_outputs(prefix: str, children: Sequence[NodeResult]) -> dict[str, str | None]:
    """operator.go processAggregateNodeOutputs: the outputs of a loop's Succeeded children, in index order."""
    if not children:
        return {}
    params: list[dict[str, str]] = []
    values: dict[str, list[str]] = {}
    for child in children:
        if child.outputs is None or child.phase != "Succeeded":
            continue
        if child.outputs:
            params.append({key: value or "" for key, value in child.outputs.items()})
            for key, value in child.outputs.items():
                values.setdefault(key, []).append(value or "")
    scope: dict[str, str | None] = {f"{prefix}.outputs.result": "[]", f"{prefix}.outputs.parameters": go_json(params)}
    for key, listed in values.items():
        scope[f"{prefix}.outputs.parameters.{key}"] = _json_values(listed)
    return scope
