"""report(): Airflow states from node phases; the progress lines and summary table."""

from __future__ import annotations

import io

from bridge.local import ProgressPrinter, format_summary, report
from bridge.semantics import STATE_OUTPUT
from tests.local.builders import py_template, task, workflow


def _bridge_task(name: str, code: str, param: str, value: str, **fields):
    made = task(name, code, **fields)
    made["arguments"]["parameters"].append({"name": param, "value": value})
    return made


def test_report_maps_phases_to_airflow_states(run):
    # Outputs named as bridge's task templates name them: the report reads the state output.
    template = py_template(inputs={"task": "", "task-file": ""}, outputs={"value": "dflt", STATE_OUTPUT: "failed"})
    verdict = {"name": "verdict", "suspend": {"duration": "0"}}
    wf = workflow(
        [
            _bridge_task("ok", f"put('{STATE_OUTPUT}', 'success')", "task", "ok_task"),
            _bridge_task("self-skip", f"put('{STATE_OUTPUT}', 'skipped')", "task-file", "my_dag/self.skip.py"),
            _bridge_task("boom", f"put('{STATE_OUTPUT}', 'failed'); sys.exit(1)", "task", "boom"),
            _bridge_task("down", "pass", "task", "down", depends="boom.Succeeded"),
            _bridge_task("cond", "pass", "task", "cond", depends="ok", when=f"'{{{{tasks.ok.outputs.parameters.{STATE_OUTPUT}}}}}' != success"),
            {"name": "dagrun", "template": "verdict", "depends": "ok && self-skip && down && cond"},
        ],
        [template, verdict],
    )
    result, _ = run(wf)
    assert report(result, "my_dag", "2024-01-01") == {
        "dag_id": "my_dag",
        "run_date": "2024-01-01",
        "state": "failed",
        "tasks": {
            "ok_task": "success",
            "self.skip": "skipped",
            "boom": "failed",
            "down": "upstream_failed",
            "cond": "skipped",
        },
    }
    summary = format_summary(result)
    assert "ok_task" in summary and "upstream_failed" in summary and "Failed" in summary.splitlines()[-1]


def test_progress_lines(run):
    stream = io.StringIO()
    wf = workflow([task("a", "print('hello from a'); sys.exit(4)"), task("b", depends="a")])
    result, recorder = run(wf)
    printer = ProgressPrinter(stream)
    for event in recorder.events:
        printer(event)
    text = stream.getvalue()
    assert "run started" in text
    assert "a: started" in text
    assert "a: failed, exit code 4: Error (exit code 4)" in text
    assert "| hello from a" in text
    assert "b: omitted" in text
    assert "run failed" in text


def test_task_id_defaults_to_the_dag_task_name(run):
    # bridge omits the `task` argument when the Airflow id is the DAG task's name: the template's
    # default {{tasks.name}} (an Argo local parameter, operator.go executeTemplate) supplies it.
    template = py_template(inputs={"task": "{{tasks.name}}"}, outputs={"value": "dflt", STATE_OUTPUT: "unknown"})
    template["container"]["args"] += ["{{inputs.parameters.task}}", "{{node.name}}"]
    wf = workflow(
        [
            task("first", f"put('{STATE_OUTPUT}', 'success'); put('value', sys.argv[2]); put('node', sys.argv[3])"),
            _bridge_task("second", f"put('{STATE_OUTPUT}', 'skipped'); put('value', sys.argv[2])", "task", "second_id", depends="first"),
            task("third", depends="first", when="'{{tasks.first.outputs.parameters.value}}' == 'first'"),
            task("never", depends="first", when="'{{tasks.first.outputs.parameters.value}}' != 'first'"),
        ],
        [template],
    )
    template["outputs"]["parameters"].append({"name": "node", "valueFrom": {"path": "/tmp/out/node", "default": ""}})
    result, _ = run(wf)
    assert result.nodes["first"].outputs["value"] == "first"
    assert result.nodes["first"].outputs["node"] == f"{result.workflow_name}.first"  # Argo's node.name
    assert result.nodes["second"].outputs["value"] == "second_id"
    assert report(result, "my_dag", "2024-01-01")["tasks"] == {
        "first": "success",
        "second_id": "skipped",
        "third": "unknown",  # ran, and its `state` output fell back to the declared default
        "never": "skipped",  # no pod: named by the default as well
    }
