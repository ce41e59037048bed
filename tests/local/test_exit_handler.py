"""spec.onExit as Argo v4.1.2 runs it (operator.go operate): after the DAG, also after the deadline,
with workflow.status / failures / duration, and a failing handler failing a Succeeded run."""

from __future__ import annotations

import json

from bridge.local.exit_handler import go_quote, pod_name, workflow_failures
from tests.local.builders import py_template, task, workflow

FAIL = "sys.exit(3)"
# The handler saves what Argo gave it as its outputs (the raw artifact holds workflow.failures).
RECORD = (
    "put('status', '{{workflow.status}}'); put('duration', '{{workflow.duration}}'); "
    "put('failures', open(os.path.join(os.path.dirname(out), 'in', 'failures')).read())"
)


def _exit_template(code: str = RECORD, **extra):
    template = py_template("exit", outputs={"status": None, "duration": None, "failures": None}, **extra)
    template["inputs"]["artifacts"] = [{"name": "f", "path": "/tmp/in/failures", "raw": {"data": "{{workflow.failures}}"}}]
    template["inputs"]["parameters"][0]["default"] = code
    return template


def test_exit_handler_sees_the_failed_run(run):
    wf = workflow(
        [task("a", FAIL, template="flaky"), task("b", depends="a")],
        [py_template(), py_template("flaky", retryStrategy={"limit": "1"}), _exit_template()],
        onExit="exit",
    )
    result, events = run(wf)
    assert result.phase == "Failed"
    handler = result.nodes[f"{result.workflow_name}.onExit"]
    assert handler.phase == "Succeeded"
    assert handler.outputs["status"] == "Failed"
    assert float(handler.outputs["duration"]) > 0
    # A JSON string holding the JSON list (strconv.Quote): decoded twice, as Argo documents.
    failures = json.loads(json.loads(handler.outputs["failures"]))
    assert [(f["displayName"], f["templateName"], f["phase"]) for f in failures] == [
        (result.workflow_name, "main", "Failed"),
        ("a", "flaky", "Failed"),
        ("a(0)", "flaky", "Failed"),
        ("a(1)", "flaky", "Failed"),
    ]
    assert list(failures[1]) == ["displayName", "message", "templateName", "phase", "podName", "finishedAt"]
    assert failures[1]["podName"] == pod_name(result.workflow_name, f"{result.workflow_name}.a", "flaky")
    assert events.kinds(f"{result.workflow_name}.onExit") == ["started", "succeeded"]
    assert "b" not in [f["displayName"] for f in failures]  # Omitted is not a failure


def test_no_failures_is_the_quoted_null(run):
    wf = workflow([task("a")], [py_template(), _exit_template()], onExit="exit")
    result, _ = run(wf)
    handler = result.nodes[f"{result.workflow_name}.onExit"]
    assert result.phase == "Succeeded" and handler.outputs["status"] == "Succeeded"
    assert handler.outputs["failures"] == '"null"'


def test_a_failing_exit_handler_fails_a_succeeded_run(run):
    wf = workflow([task("a")], [py_template(), _exit_template(FAIL)], onExit="exit")
    result, _ = run(wf)
    assert result.phase == "Failed"
    assert result.message == result.nodes[f"{result.workflow_name}.onExit"].message


def test_a_failing_exit_handler_keeps_a_failed_runs_message(run):
    wf = workflow([task("a", FAIL)], [py_template(), _exit_template(FAIL)], onExit="exit")
    result, _ = run(wf)
    assert result.phase == "Failed"
    assert result.message == "failed or errored tasks: a"


def test_exit_handler_runs_after_the_deadline_and_is_not_subject_to_it(run):
    wf = workflow(
        [task("a", "time.sleep(60)")],
        [py_template(), _exit_template("time.sleep(2); " + RECORD)],
        onExit="exit",
        activeDeadlineSeconds=1,
    )
    result, _ = run(wf)
    handler = result.nodes[f"{result.workflow_name}.onExit"]
    assert result.nodes["a"].phase == "Failed"
    assert handler.phase == "Succeeded", handler.message  # started after the deadline, ran 2 s
    assert handler.outputs["status"] == "Failed"
    assert float(handler.outputs["duration"]) >= 1


def test_go_quote_and_failures_text():
    assert go_quote('a"b\\c\n\x01é\u00a0') == '"a\\"b\\\\c\\n\\x01é\\u00a0"'
    text = workflow_failures("wf", [])
    assert text == '"null"'
    assert pod_name("wf", "wf", "main") == "wf"
