"""What Argo stores about a run in the Workflow object itself: one NodeStatus per node. Pure.

The fields are Argo v4.1.2's `NodeStatus` (pkg/apis/workflow/v1alpha1/workflow_types.go) as the
controller fills them for a DAG task's pod (workflow/controller/operator.go `initializeNode`,
`executeTemplate`; `wf.NodeID`: the workflow's name, '-', an FNV-32 hash), with a Retry node above
the pod when the template has a retryStrategy. Argo keeps them in `status.nodes` of the same
object as the spec; when the whole object passes `MAX_WORKFLOW_SIZE` (1 MiB) the controller
gzips and base64-encodes them into `status.compressedNodes`, and when even that is too large it
needs node status offloading (`persistence.nodeStatusOffLoad: true`), else the run fails with
"workflow is longer than maximum allowed size" (workflow/packer/packer.go `compressWorkflow`,
workflow/hydrator/hydrator.go `Dehydrate`).

`node_status` builds one node from what a run knows (bridge run's nodes, or a typical run of an
emitted Workflow: `typical_nodes`); `status_bytes` measures them as Argo would.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.argo.expr import GUARDED_OUTPUT, depends_names

MAX_WORKFLOW_SIZE = 1024 * 1024  # packer.go getMaxWorkflowSize's default
OFFLOAD_SETTING = "persistence.nodeStatusOffLoad: true (workflow-controller ConfigMap, with a database)"
_STAMP = "2024-01-01T00:00:00Z"  # RFC 3339, as metav1.Time marshals
_HOST = "gke-data-pool-1-0123abcd-wxyz"  # a typical Kubernetes node name (hostNodeName)
EMPTY_DOCUMENT = '{"rows": []}'  # bridge's XCom output default (bridge/emit/argo.py EMPTY_XCOM)


def node_id(workflow_name: str, node_name: str) -> str:
    """wf.NodeID: `<workflow>-<FNV-32a of the node name>` (the entry DAG's node is the workflow's name)."""
    if node_name == workflow_name:
        return workflow_name
    value = 0x811C9DC5
    for byte in node_name.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{workflow_name}-{value}"


def node_status(
    workflow_name: str,
    name: str,
    *,
    kind: str,
    template: Mapping[str, Any] | None,
    phase: str,
    display: str,
    boundary: str | None = None,
    inputs: Mapping[str, str | None] | None = None,
    outputs: Mapping[str, str | None] | None = None,
    exit_code: int | None = None,
    children: Sequence[str] = (),
    started: str | None = _STAMP,
    finished: str | None = _STAMP,
    message: str = "",
) -> dict[str, Any]:
    """One NodeStatus as JSON. `kind`: Pod, Retry, DAG, Suspend, Skipped; `name`: the node's full name."""
    status: dict[str, Any] = {
        "id": node_id(workflow_name, name), "name": name, "displayName": display, "type": kind,
        "templateName": (template or {}).get("name", ""), "templateScope": "local/", "phase": phase,
    }
    if boundary is not None:
        status["boundaryID"] = boundary
    if message:
        status["message"] = message
    if started:
        status["startedAt"] = started
    if finished:
        status["finishedAt"] = finished
    if kind in ("Pod", "Retry", "DAG"):
        status["progress"] = "1/1"
        status["resourcesDuration"] = {"cpu": 1, "memory": 12}
    declared = _parameters(template, "inputs")
    if declared and inputs is not None:
        params: list[dict[str, Any]] = []
        for param in declared:
            entry: dict[str, Any] = {key: param[key] for key in ("name", "default", "description") if key in param}
            if inputs.get(param["name"]) is not None:
                entry["value"] = inputs[param["name"]]
            params.append(entry)
        status["inputs"] = {"parameters": params}
    produced = _parameters(template, "outputs")
    if produced and outputs is not None:
        values = [{**param, "value": outputs[param["name"]]} for param in produced if outputs.get(param["name"]) is not None]
        status["outputs"] = {"parameters": values, **({"exitCode": str(exit_code)} if exit_code is not None else {})}
    if children:
        status["children"] = list(children)
    if kind == "Pod":
        status["hostNodeName"] = _HOST
        status["taskResultSynced"] = True
    return status


def typical_nodes(spec: Mapping[str, Any], name: str = "workflow-x7k2p") -> list[dict[str, Any]]:
    """The nodes of a run of the Workflow spec `spec` (its entry DAG) in which every task ran once and succeeded.

    Outputs are the declared defaults but `s` (`success`), inputs the DAG task's arguments with
    references to other tasks' outputs replaced by bridge's empty XCom document: the least a run
    stores. Real XComs, messages and retries only add to it. `name`: the Workflow's name.
    """
    templates = {t["name"]: t for t in spec.get("templates") or [] if isinstance(t, dict) and "name" in t}
    entry = templates.get(spec.get("entrypoint", ""), {})
    tasks = [t for t in (entry.get("dag") or {}).get("tasks") or [] if isinstance(t, dict) and "name" in t]
    downstream = children(tasks)
    nodes = [node_status(name, name, kind="DAG", template=entry, phase="Succeeded", display=name,
                         children=[node_id(name, f"{name}.{t['name']}") for t in tasks if not t.get("depends")])]
    for task in tasks:
        template = templates.get(task.get("template", ""), {})
        full = f"{name}.{task['name']}"
        after = [node_id(name, f"{name}.{down}") for down in downstream[task["name"]]]
        inputs = _inputs(task, template)
        if "suspend" in template:
            nodes.append(node_status(name, full, kind="Suspend", template=template, phase="Succeeded", display=task["name"],
                                     boundary=name, inputs=inputs, children=after))
            continue
        declared = _parameters(template, "outputs")
        outputs = {p["name"]: str((p.get("valueFrom") or {}).get("default", "")) for p in declared}
        if "s" in outputs:
            outputs["s"] = "success"
        pod: dict[str, Any] = {"template": template, "phase": "Succeeded", "boundary": name, "inputs": inputs,
                               "outputs": outputs, "exit_code": 0}
        if template.get("retryStrategy"):
            child = f"{full}(0)"
            nodes.append(node_status(name, full, kind="Retry", display=task["name"], children=[node_id(name, child)], **pod))
            nodes.append(node_status(name, child, kind="Pod", display=f"{task['name']}(0)", children=after, **pod))
        else:
            nodes.append(node_status(name, full, kind="Pod", display=task["name"], children=after, **pod))
    return nodes


def children(tasks: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """DAG task name -> the tasks whose `depends` names it, in task order: its node's `children`."""
    downstream: dict[str, list[str]] = {str(task["name"]): [] for task in tasks}
    for task in tasks:
        for upstream in sorted(depends_names(str(task.get("depends") or ""))):
            if upstream in downstream and upstream != task["name"]:
                downstream[upstream].append(str(task["name"]))
    return downstream


_OUTPUT = re.compile(r"\{\{\s*tasks\.[a-z0-9-]+\.outputs\.parameters\.[a-z]+\s*\}\}")
_TAG = re.compile(r"\{\{.*?\}\}")


def _inputs(task: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, str | None]:
    """A DAG task's input values in a typical run: its arguments with every output reference (plain or
    guarded) as bridge's empty XCom document, any other tag as a date; else the template's defaults."""
    values: dict[str, str | None] = {}
    for param in _parameters(template, "inputs"):
        default = param.get("value", param.get("default"))
        values[param["name"]] = default.replace("{{tasks.name}}", task["name"]) if isinstance(default, str) else default
    for param in _parameters(task, "arguments"):
        text = _OUTPUT.sub(EMPTY_DOCUMENT, str(param.get("value", "")))
        values[param["name"]] = _TAG.sub(lambda m: EMPTY_DOCUMENT if GUARDED_OUTPUT.fullmatch(m.group(0)[2:-2]) else "2024-01-01", text)
    return values


def _parameters(holder: Mapping[str, Any] | None, field: str) -> list[dict[str, Any]]:
    """The named parameters of `holder[field]` (inputs, outputs, arguments); lint also sees invalid documents."""
    block = (holder or {}).get(field)
    params = block.get("parameters") if isinstance(block, dict) else None
    return [p for p in params or [] if isinstance(p, dict) and isinstance(p.get("name"), str)]


def status_bytes(nodes: Sequence[Mapping[str, Any]], compress_above: int = 0) -> tuple[int, int]:
    """(plain, compressed) bytes of `status.nodes` as Argo stores them: compact JSON keyed by node id,
    and gzip + base64 of it (`status.compressedNodes`, util/file CompressEncodeString). Argo
    compresses only a large object: with `compress_above`, a plain size at most that is returned
    as its own compressed size too (no gzip run)."""
    content = json.dumps({n["id"]: n for n in nodes}, separators=(",", ":")).encode()
    if len(content) <= compress_above:
        return len(content), len(content)
    return len(content), len(base64.b64encode(gzip.compress(content)))


# ---- reading a Workflow back as Airflow states (bridge.runtime.external: ExternalTaskSensor) ----

_TASK_STATE_OF_PHASE = {"Failed": "failed", "Error": "failed", "Skipped": "skipped", "Omitted": "upstream_failed"}
_RUN_STATE_OF_PHASE = {"Succeeded": "success", "Failed": "failed", "Error": "failed", "": "queued", "Pending": "queued"}
STATE_PARAMETER = "s"  # bridge's state output (bridge.semantics.STATE_OUTPUT)


def workflow_nodes(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """`status.nodes`, or `status.compressedNodes` decoded (gzip + base64 JSON, util/file
    DecodeDecompressString); {} when the controller offloaded them to its database."""
    status = workflow.get("status") or {}
    if status.get("nodes"):
        return dict(status["nodes"])
    packed = status.get("compressedNodes")
    if packed:
        return dict(json.loads(gzip.decompress(base64.b64decode(packed))))
    return {}


def task_state(nodes: Mapping[str, Any], workflow_name: str, task_name: str) -> str | None:
    """The Airflow state of the entrypoint DAG's task `task_name` (its node `<workflow>.<task>`),
    as bridge's own conditions read it (docs/SEMANTICS.md): Succeeded with output `s` = that state
    (skipped inside; `mixed`, a mapped task's some-success, counts as success), else success;
    Failed/Error failed, Skipped skipped, Omitted upstream_failed, anything else running; None
    when the task has no node yet (no task instance)."""
    wanted = f"{workflow_name}.{task_name}"
    for node in nodes.values():
        if node.get("name") != wanted:
            continue
        phase = str(node.get("phase") or "")
        if phase == "Succeeded":
            params = ((node.get("outputs") or {}).get("parameters")) or []
            state = next((str(p.get("value")) for p in params if p.get("name") == STATE_PARAMETER), "success")
            return "skipped" if state == "skipped" else "success"
        return _TASK_STATE_OF_PHASE.get(phase, "running")
    return None


def run_state(workflow: Mapping[str, Any]) -> str:
    """The Airflow DagRun state of a Workflow: Succeeded success, Failed/Error failed, not started by
    the controller yet or Pending (waiting for its run lock: max_active_runs) queued, else running
    (bridge's verdict node makes the Workflow's phase the DagRun's: docs/SEMANTICS.md)."""
    return _RUN_STATE_OF_PHASE.get(str((workflow.get("status") or {}).get("phase") or ""), "running")
