"""Argument and template resolution for one DAG task, as pure functions (no clock, no state).

Mirrors Argo v4.1.2: workflow/controller/operator.go (setGlobalParameters, executeTemplate's
localParams), workflow/controller/dag.go (buildLocalScopeFromTask, resolveDependencyReferences),
workflow/controller/scope.go (addSkippedNodeOutputsToScope, markAbsentOptionalArgs) and
workflow/common/util.go (ProcessArgs, SubstituteParams).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from bridge.argo.versions import SkippedReference
from bridge.local.expand import aggregate_outputs
from bridge.local.result import NodeResult, rfc3339
from bridge.local.spec import WorkflowError, as_string
from bridge.local.template import ABSENT, SubstitutionError, is_pure_reference, substitute, substitute_all

STRICT = ("tasks", "steps")  # dag.go: references to other nodes MUST resolve
# common.AnnotationKeyCronWfScheduledTime: when the CronWorkflow fired (setGlobalParameters reads it).
SCHEDULED_TIME = "workflows.argoproj.io/scheduled-time"

Scope = Mapping[str, Optional[str]]


def global_parameters(spec: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """spec.arguments.parameters with `-p` overrides; a parameter without a value is a submit error."""
    declared = (spec.get("arguments") or {}).get("parameters") or []
    names = {p["name"] for p in declared}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise WorkflowError(
            f"unknown workflow parameter(s) {', '.join(unknown)}; this Workflow declares: {', '.join(sorted(names))}"
        )
    values: dict[str, str] = {}
    for param in declared:
        name = param["name"]
        value = overrides[name] if name in overrides else as_string(param.get("value"))
        if value is None:
            raise WorkflowError(f"workflow parameter {name!r} has no value; pass it (argo submit -p {name}=...)")
        values[name] = str(value)
    return values


def global_scope(workflow: Mapping[str, Any], name: str, parameters: Mapping[str, str], created: float) -> dict[str, str | None]:
    """The `workflow.*` variables of a run named `name`, created at wall-clock time `created`."""
    meta = workflow.get("metadata") or {}
    spec = workflow.get("spec") or {}
    scope: dict[str, str | None] = {
        "workflow.name": name,
        "workflow.namespace": str(meta.get("namespace") or "default"),
        "workflow.uid": f"local-{name}",
        "workflow.mainEntrypoint": str(spec.get("entrypoint") or ""),
        "workflow.serviceAccountName": str(spec.get("serviceAccountName") or ""),
        "workflow.creationTimestamp": rfc3339(created),
    }
    scheduled = (meta.get("annotations") or {}).get(SCHEDULED_TIME)
    if scheduled is not None:  # a Workflow a CronWorkflow created
        scope["workflow.scheduledTime"] = str(scheduled)
    for key, value in parameters.items():
        scope[f"workflow.parameters.{key}"] = value
    scope["workflow.parameters.json"] = json.dumps([{"name": k, "value": v} for k, v in parameters.items()])
    return scope


def global_outputs(template: Mapping[str, Any], outputs: Mapping[str, str | None]) -> dict[str, str]:
    """operator.go addParamToGlobalScope: output parameters with a `globalName`, as `workflow.outputs.parameters.*`."""
    exported: dict[str, str] = {}
    for param in ((template.get("outputs") or {}).get("parameters")) or []:
        value = outputs.get(param["name"])
        if param.get("globalName") and value is not None:
            exported[f"workflow.outputs.parameters.{param['globalName']}"] = value
    return exported


def local_params(workflow_name: str, task: str, node: str | None = None, *, steps: bool = False) -> dict[str, str | None]:
    """operator.go executeTemplate localParams for a DAG task's (or step's) template (pod.name is not emulated).

    `node` is the node's name inside the Workflow (default: `task`, a task of the entrypoint).
    """
    return {"steps.name" if steps else "tasks.name": task, "node.name": f"{workflow_name}.{node or task}"}


def skipped_outputs(task: str, template: Mapping[str, Any], behaviour: SkippedReference = "default") -> dict[str, str | None]:
    """What a Skipped/Omitted task's declared outputs resolve to, by Argo release (bridge.argo.versions):

    default: scope.go addSkippedNodeOutputsToScope, valueFrom.default, else absent (None);
    empty: "" (3.7.13-3.7.15, 4.0.4-4.0.6); literal: the tag's own text stays (3.6, 3.7.0-3.7.10,
    4.0.0-4.0.1); requeue: nothing is in scope, so a reference cannot resolve (3.7.11-3.7.12, 4.0.2-4.0.3).
    """
    values: dict[str, str | None] = {}
    if behaviour == "requeue":
        return values
    for param in ((template.get("outputs") or {}).get("parameters")) or []:
        key = f"tasks.{task}.outputs.parameters.{param['name']}"
        if behaviour == "literal":
            values[key] = "{{" + key + "}}"
        elif behaviour == "empty":
            values[key] = ""
        else:
            values[key] = as_string((param.get("valueFrom") or {}).get("default"))
    return values


def local_scope(
    globals_: Scope,
    workflow_name: str,
    ancestors: Mapping[str, NodeResult],
    templates: Mapping[str, Mapping[str, Any]],
    loops: Mapping[str, Sequence[NodeResult]] | None = None,
    skipped: SkippedReference = "default",
) -> dict[str, str | None]:
    """dag.go buildLocalScopeFromTask: globals plus every ancestor's status and outputs.

    `ancestors` maps each ancestor task that has a node to it; `templates` maps a task to the
    template it calls (for the defaults of a skipped ancestor's outputs); `loops` maps an ancestor
    that expanded (withItems, withParam: a TaskGroup node) to its children, in index order, whose
    outputs it aggregates (operator.go processAggregateNodeOutputs). `skipped`: what a Skipped or
    Omitted ancestor's outputs become on the Argo release emulated (skipped_outputs).
    """
    scope = dict(globals_)
    for ancestor in sorted(ancestors):
        node = ancestors[ancestor]
        prefix = f"tasks.{ancestor}"
        if loops and ancestor in loops:
            scope.update(aggregate_outputs(prefix, loops[ancestor]))
        scope[f"{prefix}.id"] = f"{workflow_name}-{ancestor}"
        scope[f"{prefix}.status"] = node.phase
        if node.started_at is not None:
            scope[f"{prefix}.startedAt"] = rfc3339(node.started_at)
        if node.finished_at is not None:
            scope[f"{prefix}.finishedAt"] = rfc3339(node.finished_at)
        if node.exit_code is not None:
            scope[f"{prefix}.exitCode"] = str(node.exit_code)
        if node.outputs is not None:
            for key, value in node.outputs.items():
                scope[f"{prefix}.outputs.parameters.{key}"] = value
        elif node.phase in ("Skipped", "Omitted"):
            scope.update(skipped_outputs(ancestor, templates.get(ancestor) or {}, skipped))
    return scope


def known_inputs(template: Mapping[str, Any], arguments: Mapping[str, str | None], scope: Scope) -> dict[str, str | None]:
    """The template's input parameters from the arguments, else their defaults (`scope` substituted)."""
    inputs: dict[str, str | None] = {}
    for param in ((template.get("inputs") or {}).get("parameters")) or []:
        value = arguments.get(param["name"])
        if value is None:
            default = as_string(param.get("value") if param.get("value") is not None else param.get("default"))
            try:
                value = None if default is None else substitute(default, scope)
            except SubstitutionError:
                value = default  # an expression tag: bridge run reports the error if the task runs
        inputs[param["name"]] = value
    return inputs


def resolve_arguments(task: Mapping[str, Any], scope: Scope) -> dict[str, str | None]:
    """dag.go resolveDependencyReferences for argument parameters (absent optionals -> ABSENT)."""
    resolved: dict[str, str | None] = {}
    for param in ((task.get("arguments") or {}).get("parameters")) or []:
        value = as_string(param.get("value"))
        if value is None:
            resolved[param["name"]] = None
            continue
        key = is_pure_reference(value)
        if key is not None and key in scope and scope[key] is None:
            resolved[param["name"]] = ABSENT
            continue
        resolved[param["name"]] = substitute(value, scope, STRICT)
    return resolved


def process_template(
    template: Mapping[str, Any],
    arguments: Mapping[str, str | None],
    task: Mapping[str, Any],
    globals_: Scope,
    locals_: Scope,
) -> dict[str, Any]:
    """util.go ProcessArgs + SubstituteParams: inputs from arguments/defaults, then globals and
    `locals_` (tasks.name, node.name) over the whole template, then inputs.* in one pass."""
    tmpl = copy.deepcopy(dict(template))
    inputs = tmpl.get("inputs") or {}
    for param in inputs.get("parameters") or []:
        name = param["name"]
        value = as_string(param.get("value"))
        if value is None:
            value = as_string(param.get("default"))
        if name in arguments:
            supplied = arguments[name]
            if supplied == ABSENT:
                if value is None:
                    raise WorkflowError(
                        f"inputs.parameters.{name}: argument references an absent optional "
                        "(skipped/omitted node output with no default)"
                    )
            elif supplied is not None:
                value = supplied
        if value is None:
            raise WorkflowError(f"inputs.parameters.{name} was not supplied")
        param["value"] = value
    arg_artifacts = {a["name"]: a for a in ((task.get("arguments") or {}).get("artifacts")) or []}
    for index, art in enumerate(inputs.get("artifacts") or []):
        supplied = arg_artifacts.get(art["name"])
        if supplied is not None:
            merged = copy.deepcopy(supplied)
            merged["path"] = art.get("path")
            inputs["artifacts"][index] = merged
    tmpl = substitute_all(tmpl, {**globals_, **locals_})
    local = dict(globals_)
    inputs = tmpl.get("inputs") or {}
    for param in inputs.get("parameters") or []:
        local[f"inputs.parameters.{param['name']}"] = as_string(param.get("value"))
    local["inputs.parameters"] = json.dumps(inputs.get("parameters") or [])
    for art in inputs.get("artifacts") or []:
        if art.get("path"):
            local[f"inputs.artifacts.{art['name']}.path"] = art["path"]
    for param in ((tmpl.get("outputs") or {}).get("parameters")) or []:
        path = (param.get("valueFrom") or {}).get("path")
        if path:
            local[f"outputs.parameters.{param['name']}.path"] = path
    return substitute_all(tmpl, local)
