"""Loops (withItems, withParam), steps templates and DAG templates a task calls, as Argo v4.1.2 runs them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.local import WorkflowError
from bridge.local.expand import aggregate_outputs, dag_spec, expand_task, item_scope, node_name, steps_as_tasks
from bridge.local.result import NodeResult
from tests.local.builders import py_template, task, workflow


def test_node_names_and_item_variables_follow_process_item() -> None:
    assert item_scope("a(b)", 0, "withItems") == ("a(b)", {"item": "a(b)"})
    assert node_name("t", 0, "a(b)") == "t(0:ab)"  # generateNodeName drops parentheses
    assert item_scope(3, 1, "withItems") == ("3", {"item": "3"})
    assert item_scope(True, 1, "withItems") == ("true", {"item": "true"})
    description, scope = item_scope({"run-id": "r<1>", "run-date": "2024-01-01"}, 2, "withItems")
    assert description == "run-date:2024-01-01,run-id:r<1>"  # sorted key:value pairs
    assert scope == {"item.run-id": "r<1>", "item.run-date": "2024-01-01", "item": '{"run-date":"2024-01-01","run-id":"r\\u003c1\\u003e"}'}
    assert item_scope(["x", 1], 0, "withItems") == ("[x 1]", {"item": '["x",1]'})
    with pytest.raises(WorkflowError, match=r"withItems\[0\] expected string, number, list, or map"):
        item_scope(None, 0, "withItems")


def test_expand_task_substitutes_items_everywhere_and_requires_every_tag() -> None:
    loop = {"name": "t", "template": "py", "when": "'{{item}}' != 'b'", "withItems": ["a", "b"],
            "arguments": {"parameters": [{"name": "code", "value": "put('value', '{{item}}')"}]}}
    expanded = expand_task(loop, {})
    assert [name for name, _ in expanded] == ["t(0:a)", "t(1:b)"]
    assert expanded[1][1] == {"name": "t(1:b)", "template": "py", "when": "'b' != 'b'",
                              "arguments": {"parameters": [{"name": "code", "value": "put('value', 'b')"}]}}
    with pytest.raises(Exception, match=r"failed to resolve \{\{item.nope\}\}"):
        expand_task({"name": "t", "withItems": [{"a": 1}], "when": "{{item.nope}}"}, {})
    with pytest.raises(WorkflowError, match="withParam value could not be parsed as a JSON list"):
        expand_task({"name": "t", "withParam": "not json"}, {})


def test_aggregated_outputs_of_succeeded_children_in_index_order() -> None:
    kids = [
        NodeResult("t(0:a)", "py", "Pod", phase="Succeeded", outputs={"value": '{"n": 1}'}),
        NodeResult("t(1:b)", "py", "Pod", phase="Failed", outputs={"value": "lost"}),
        NodeResult("t(2:c)", "py", "Pod", phase="Succeeded", outputs={"value": '{"n": 3}'}),
    ]
    assert aggregate_outputs("tasks.t", kids) == {
        "tasks.t.outputs.result": "[]",
        "tasks.t.outputs.parameters": '[{"value":"{\\"n\\": 1}"},{"value":"{\\"n\\": 3}"}]',
        "tasks.t.outputs.parameters.value": '[{"n":1},{"n":3}]',  # every value JSON: a list of them
    }
    kids[2].outputs = {"value": "plain"}
    assert aggregate_outputs("tasks.t", kids)["tasks.t.outputs.parameters.value"] == '["{\\"n\\": 1}","plain"]'


def test_steps_run_as_their_equivalent_dag() -> None:
    steps = [[{"name": "a", "template": "py"}, {"name": "b", "template": "py"}],
             [{"name": "c", "template": "py", "when": "{{steps.a.outputs.parameters.value}} == x"}]]
    tasks = steps_as_tasks(steps)
    assert [t.get("depends") for t in tasks] == [None, None, "a && b"]
    assert tasks[2]["when"] == "{{tasks.a.outputs.parameters.value}} == x"
    spec = dag_spec({"name": "s", "steps": steps, "parallelism": 2})
    assert spec.steps and spec.parallelism == 2 and spec.targets == ["c"]


def _values(result: Any, prefix: str) -> dict[str, Any]:
    return {key: node.phase for key, node in result.nodes.items() if key.startswith(prefix)}


def test_with_items_fans_out_and_aggregates_for_downstream(run) -> None:
    loop = task("fan", "put('value', '{{item}}' * 2)", withItems=["a", "b", "c"])
    after = task("join", "print({{tasks.fan.outputs.parameters.value}})", depends="fan")
    result, events = run(workflow([loop, after]))
    assert result.phase == "Succeeded", result.message
    assert _values(result, "fan") == {"fan": "Succeeded", "fan(0:a)": "Succeeded", "fan(1:b)": "Succeeded", "fan(2:c)": "Succeeded"}
    assert result.nodes["fan"].kind == "TaskGroup" and result.nodes["fan(1:b)"].outputs["value"] == "bb"
    assert list(result.nodes) == ["fan", "fan(0:a)", "fan(1:b)", "fan(2:c)", "join"]
    assert result.nodes["join"].arguments["code"] == 'print(["aa","bb","cc"])'
    assert "['aa', 'bb', 'cc']" in open(result.nodes["join"].log_path).read()
    # Each child is a node of its own: `tasks.name` is the child's name.
    assert result.nodes["fan(2:c)"].inputs.get("code") == "put('value', 'c' * 2)"


def test_a_failed_child_fails_the_loop_and_when_skips_per_item(run) -> None:
    loop = task("fan", "sys.exit(1 if '{{item.n}}' == '2' else 0)", withItems=[{"n": 1}, {"n": 2}, {"n": 3}],
                when="{{item.n}} != 3")
    result, _ = run(workflow([loop, task("after", depends="fan")]))
    assert _values(result, "fan") == {"fan": "Failed", "fan(0:n:1)": "Succeeded", "fan(1:n:2)": "Failed", "fan(2:n:3)": "Skipped"}
    assert result.nodes["after"].phase == "Omitted" and result.phase == "Failed"


def test_with_param_from_an_output_and_an_empty_list_skips(run) -> None:
    make = task("make", "put('value', '[\"x\", \"y\"]')")
    loop = task("use", "put('value', '{{item}}')", depends="make", withParam="{{tasks.make.outputs.parameters.value}}")
    empty = task("none", "pass", withParam="[]")
    result, _ = run(workflow([make, loop, empty]))
    assert result.phase == "Succeeded", result.message
    assert _values(result, "use") == {"use": "Succeeded", "use(0:x)": "Succeeded", "use(1:y)": "Succeeded"}
    assert (result.nodes["none"].phase, result.nodes["none"].message) == ("Skipped", "Skipped, empty params")


def test_steps_entrypoint_calls_a_dag_with_inputs_under_template_parallelism(run, tmp_path) -> None:
    stamp = str(tmp_path / "stamps")
    code = (f"import time; os.makedirs({stamp!r}, exist_ok=True); open(os.path.join({stamp!r}, '{{{{inputs.parameters.day}}}}'), 'w')"
            ".write(str(time.time())); time.sleep(0.4); put('value', '{{inputs.parameters.day}}')")
    inner = {"name": "day", "inputs": {"parameters": [{"name": "day"}]},
             "dag": {"tasks": [task("work", code), task("check", "pass", depends="work")]}}
    fan = {"name": "fan", "parallelism": 2, "steps": [[{
        "name": "run", "template": "day", "withItems": ["d1", "d2", "d3"],
        "arguments": {"parameters": [{"name": "day", "value": "{{item}}"}]},
    }]]}
    doc = workflow([], [fan, inner, py_template()])
    doc["spec"]["entrypoint"] = "fan"
    doc["spec"]["templates"] = [t for t in doc["spec"]["templates"] if t["name"] != "main"]
    result, events = run(doc)
    assert result.phase == "Succeeded", result.message
    assert result.nodes["run(0:d1)"].kind == "DAG"
    assert result.nodes["run(1:d2).work"].outputs["value"] == "d2"
    assert list(result.nodes)[:4] == ["run", "run(0:d1)", "run(0:d1).work", "run(0:d1).check"]
    starts = sorted(json.loads(open(f"{stamp}/{day}").read()) for day in ("d1", "d2", "d3"))
    assert starts[2] - starts[0] >= 0.35  # parallelism 2 on the steps template: the third DAG waits


def test_a_dag_template_lock_serialises_the_dags_that_take_it(run, tmp_path) -> None:
    stamp = str(tmp_path / "stamps")
    code = (f"import time; os.makedirs({stamp!r}, exist_ok=True); open(os.path.join({stamp!r}, '{{{{inputs.parameters.day}}}}'), 'w')"
            ".write(str(time.time())); time.sleep(0.3)")
    inner = {"name": "day", "inputs": {"parameters": [{"name": "day"}]}, "synchronization": {"mutexes": [{"name": "one"}]},
             "dag": {"tasks": [task("work", code)]}}
    doc = workflow([task("run", template="day", withItems=["d1", "d2"], params={"day": "{{item}}"})], [inner, py_template()])
    doc["spec"]["templates"][0]["dag"]["tasks"][0]["arguments"]["parameters"] = [{"name": "day", "value": "{{item}}"}]
    result, events = run(doc)
    assert result.phase == "Succeeded", result.message
    assert [e.kind for e in events.events if e.task == "run(1:d2)"][:2] == ["waiting", "started"]
    first, second = (json.loads(open(f"{stamp}/{day}").read()) for day in ("d1", "d2"))
    assert second - first >= 0.25


def test_with_sequence_is_still_refused(run) -> None:
    with pytest.raises(WorkflowError, match="withSequence"):
        run(workflow([task("t", withSequence={"count": "2"})]))


def test_depends_reads_any_succeeded_and_all_failed_of_a_loop(run) -> None:
    loop = task("fan", "sys.exit(0 if '{{item}}' == 'ok' else 1)", withItems=["ok", "bad"])
    doc = workflow([loop, task("some", depends="fan.AnySucceeded"), task("every", depends="fan.AllFailed"),
                    task("cleanup", depends="fan.Failed")])
    result, _ = run(doc)
    assert {key: result.nodes[key].phase for key in ("fan", "some", "every", "cleanup")} == {
        "fan": "Failed", "some": "Succeeded", "every": "Omitted", "cleanup": "Succeeded"
    }
