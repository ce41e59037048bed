"""Argument/template resolution (resolve.py) and pod building (pod.py) as pure functions."""

from __future__ import annotations

import pytest

from bridge.local import WorkflowError
from bridge.local.pod import container_env, output_parameters, pod_deadline, pod_spec
from bridge.local.resolve import (
    global_outputs,
    global_parameters,
    global_scope,
    local_params,
    local_scope,
    process_template,
    resolve_arguments,
)
from bridge.local.result import NodeResult
from bridge.local.template import ABSENT


def test_global_parameters_take_overrides_and_refuse_unknown_or_missing() -> None:
    spec = {"arguments": {"parameters": [{"name": "run-date"}, {"name": "n", "value": 2}]}}
    assert global_parameters(spec, {"run-date": "2024-01-01"}) == {"run-date": "2024-01-01", "n": "2"}
    with pytest.raises(WorkflowError, match="unknown workflow parameter"):
        global_parameters(spec, {"run-date": "x", "nope": "1"})
    with pytest.raises(WorkflowError, match="'run-date' has no value"):
        global_parameters(spec, {})


def test_global_scope_and_the_cron_scheduled_time() -> None:
    workflow = {"metadata": {"annotations": {"workflows.argoproj.io/scheduled-time": "2024-01-02T00:00:00Z"}},
                "spec": {"entrypoint": "main"}}
    scope = global_scope(workflow, "wf-1", {"a": "b"}, 0.0)
    assert scope["workflow.name"] == "wf-1" and scope["workflow.namespace"] == "default"
    assert scope["workflow.creationTimestamp"] == "1970-01-01T00:00:00Z"
    assert scope["workflow.scheduledTime"] == "2024-01-02T00:00:00Z"
    assert scope["workflow.parameters.json"] == '[{"name": "a", "value": "b"}]'
    assert "workflow.scheduledTime" not in global_scope({}, "wf", {}, 0.0)


def test_local_scope_reads_ancestors_and_skipped_defaults() -> None:
    done = NodeResult("a", "t", "Pod", phase="Succeeded", outputs={"x": "1"}, exit_code=0, started_at=0.0, finished_at=1.0)
    skipped = NodeResult("b", "t", "Skipped", phase="Skipped")
    template = {"outputs": {"parameters": [{"name": "x", "valueFrom": {"path": "/tmp/x", "default": "d"}}, {"name": "y"}]}}
    scope = local_scope({"workflow.name": "wf"}, "wf", {"a": done, "b": skipped}, {"a": template, "b": template})
    assert scope["tasks.a.outputs.parameters.x"] == "1" and scope["tasks.a.exitCode"] == "0"
    assert scope["tasks.a.id"] == "wf-a" and scope["tasks.a.finishedAt"] == "1970-01-01T00:00:01Z"
    assert scope["tasks.b.outputs.parameters.x"] == "d" and scope["tasks.b.outputs.parameters.y"] is None


def test_arguments_mark_absent_optionals_and_templates_take_inputs() -> None:
    task = {"name": "c", "arguments": {"parameters": [{"name": "x", "value": "{{tasks.b.outputs.parameters.y}}"},
                                                      {"name": "z", "value": "<{{tasks.a.outputs.parameters.x}}>"}]}}
    scope = {"tasks.b.outputs.parameters.y": None, "tasks.a.outputs.parameters.x": "1"}
    arguments = resolve_arguments(task, scope)
    assert arguments == {"x": ABSENT, "z": "<1>"}
    template = {"name": "t", "inputs": {"parameters": [{"name": "x", "default": "dx"}, {"name": "z"}, {"name": "who", "default": "{{tasks.name}}"}]},
                "container": {"args": ["{{inputs.parameters.x}}", "{{inputs.parameters.z}}", "{{inputs.parameters.who}}", "{{node.name}}"]}}
    processed = process_template(template, arguments, task, {"workflow.name": "wf"}, local_params("wf", "c"))
    assert processed["container"]["args"] == ["dx", "<1>", "c", "wf.c"]
    assert local_params("wf", "s", "run(0:a).s", steps=True) == {"steps.name": "s", "node.name": "wf.run(0:a).s"}
    with pytest.raises(WorkflowError, match="inputs.parameters.z was not supplied"):
        process_template(template, {}, {"name": "c"}, {}, {})


def test_pod_spec_env_deadline_and_outputs() -> None:
    template = {
        "name": "t", "activeDeadlineSeconds": 30, "timeout": "10s",
        "inputs": {"artifacts": [{"name": "in", "path": "/tmp/in.json", "raw": {"data": "{}"}}]},
        "outputs": {"parameters": [{"name": "v", "valueFrom": {"path": "/tmp/out/v"}},
                                   {"name": "d", "valueFrom": {"path": "/tmp/out/d", "default": "dd"}},
                                   {"name": "g", "globalName": "G", "valueFrom": {"path": "/tmp/out/g"}}]},
        "container": {"image": "i", "command": ["bridge-task"], "args": ["run"],
                      "env": [{"name": "A", "value": 1}, {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                              {"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
    }
    pod = pod_spec("task", template, 2, workflow_name="wf", namespace="ns", local_env={"S": "secret"})
    assert (pod.name, pod.command, pod.image, pod.files) == ("task(1)", ("bridge-task",), "i", {"/tmp/in.json": "{}"})
    # Plus what Argo adds to every container (workflowpod.go): the node ti.log_url links.
    argo = {"ARGO_CONTAINER_NAME": "main", "ARGO_NODE_ID": "wf-task(1)", "ARGO_WORKFLOW_NAME": "wf"}
    assert dict(pod.env) == {"A": "1", "S": "secret", "N": "wf-task", **argo}
    assert pod.outputs == ("/tmp/out/v", "/tmp/out/d", "/tmp/out/g")
    with pytest.raises(WorkflowError, match="set S in this environment"):
        container_env("task", template["container"], workflow_name="wf", namespace="ns", local_env={})
    assert pod_deadline(template, 100.0, None) == 110.0 and pod_deadline(template, 100.0, 105.0) == 105.0
    values, missing = output_parameters(template, {"/tmp/out/v": b"one\n\n", "/tmp/out/g": b"G\n"})
    assert values == {"v": "one\n", "d": "dd", "g": "G"} and missing == ""
    assert output_parameters(template, {})[1] == "output parameter 'v': open /tmp/out/v: no such file or directory"
    assert global_outputs(template, values) == {"workflow.outputs.parameters.G": "G"}
