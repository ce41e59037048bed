"""The local engine on hand-built Workflows: phases, propagation, when, outputs, retries, deadlines."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bridge.local import WorkflowError, run_workflow
from tests.local.builders import py_template, task, workflow

FAIL = "sys.exit(3)"


def test_chain_passes_outputs_and_trims_one_newline(run):
    wf = workflow(
        [
            task("a", "put('value', 'hello\\n\\n'); put('state', 'success')"),
            task("b", "put('value', \"\"\"{{tasks.a.outputs.parameters.value}}\"\"\" + '|')", depends="a.Succeeded"),
        ]
    )
    result, events = run(wf)
    assert result.phase == "Succeeded"
    assert result.nodes["a"].outputs["value"] == "hello\n"
    assert result.nodes["b"].outputs["value"] == "hello\n|"
    assert result.nodes["b"].outputs["state"] == "failed"  # file absent: valueFrom.default
    assert events.kinds("a") == ["started", "succeeded"]


def test_failure_omits_downstream_and_fails_the_workflow(run):
    wf = workflow(
        [
            task("a", FAIL),
            task("b", depends="a.Succeeded"),
            task("c", depends="b"),
        ]
    )
    result, events = run(wf)
    assert [result.nodes[n].phase for n in "abc"] == ["Failed", "Omitted", "Omitted"]
    assert result.nodes["a"].exit_code == 3
    assert result.nodes["a"].message == "Error (exit code 3)"
    assert result.nodes["b"].attempts == [] and result.nodes["b"].log_path is None
    assert result.phase == "Failed"
    assert events.kinds("c") == ["omitted"]


def test_cleanup_after_failure_makes_the_dag_succeed(run):
    # assessDAGPhase: the branch phase is the last completed node's; the leaf `cleanup` succeeded.
    wf = workflow([task("a", FAIL), task("cleanup", depends="a.Failed || a.Succeeded")])
    result, _ = run(wf)
    assert result.nodes["a"].phase == "Failed"
    assert result.nodes["cleanup"].phase == "Succeeded"
    assert result.phase == "Succeeded"


def test_omitted_leaf_inherits_the_failure(run):
    wf = workflow([task("a", FAIL), task("leaf", depends="a.Succeeded"), task("other")])
    result, _ = run(wf)
    assert result.nodes["leaf"].phase == "Omitted"
    assert result.nodes["other"].phase == "Succeeded"
    assert result.phase == "Failed"


def test_skipped_leaf_succeeds(run):
    wf = workflow([task("a"), task("leaf", depends="a", when="'{{tasks.a.status}}' == Failed")])
    result, events = run(wf)
    assert result.nodes["leaf"].phase == "Skipped"
    assert result.nodes["leaf"].message == "when ''Succeeded' == Failed' evaluated false"
    assert result.phase == "Succeeded"
    assert events.kinds("leaf") == ["skipped"]


def test_when_on_output_parameters_and_status(run):
    wf = workflow(
        [
            task("a", "put('value', 'go'); put('state', 'success')"),
            task("yes", depends="a", when="{{tasks.a.outputs.parameters.value}} == go && {{tasks.a.status}} == Succeeded"),
            task("no", depends="a", when="'{{tasks.a.outputs.parameters.state}}' != 'success'"),
            task("regex", depends="a", when="'{{tasks.a.outputs.parameters.value}}' =~ '^g'"),
        ]
    )
    result, _ = run(wf)
    assert result.nodes["yes"].phase == "Succeeded"
    assert result.nodes["no"].phase == "Skipped"
    assert result.nodes["regex"].phase == "Succeeded"


def test_skipped_ancestor_outputs_resolve_to_declared_defaults(run):
    wf = workflow(
        [
            task("a", when="false"),
            task("b", "put('value', '{{tasks.a.outputs.parameters.value}}')", depends="a"),
            task("c", "put('value', 'saw {{tasks.b.outputs.parameters.value}}')", depends="b",
                 when="'{{tasks.a.outputs.parameters.state}}' == failed"),
        ]
    )
    result, _ = run(wf)
    assert result.nodes["a"].phase == "Skipped"
    assert result.nodes["b"].outputs["value"] == "dflt"
    assert result.nodes["c"].outputs["value"] == "saw dflt"


def test_a_lost_pod_leaves_no_outputs_only_a_guarded_reference_resolves(run):
    # operator.go podReconciliation: a vanished pod fails its node with "pod deleted" and no task result.
    # A plain reference then requeues forever on Argo 4.1 (and 3.7.11+, 4.0.2+); the guarded one
    # (bridge.semantics.guarded_ref) gives its default, and the real value when there is one.
    guarded = "{{=get(tasks['a'],'outputs')?.parameters?.value??'none'}}"
    wf = workflow(
        [
            task("a", "put('value', 'never')"),
            task("ok", "put('value', 'real')"),
            task("plain", "put('value', '{{tasks.a.outputs.parameters.value}}')", depends="a.Failed || a.Errored"),
            task("safe", f"put('value', '{guarded}')", depends="a.Failed || a.Errored"),
            task("real", "put('value', '" + guarded.replace("'a'", "'ok'") + "')", depends="ok"),
        ]
    )
    result, events = run(wf, lost_pods=frozenset({"a"}))
    assert (result.nodes["a"].phase, result.nodes["a"].message, result.nodes["a"].outputs) == ("Error", "pod deleted", None)
    assert result.nodes["plain"].phase == "Error"
    assert "failed to resolve {{tasks.a.outputs.parameters.value}} (Argo 4.1 would wait for this value forever)" in (
        result.nodes["plain"].message)
    assert result.nodes["safe"].outputs["value"] == "none"
    assert result.nodes["real"].outputs["value"] == "real"
    assert events.kinds("a") == ["started", "errored"]


def test_absent_optional_uses_the_input_default_or_errors(run):
    no_default = py_template("nodefault", outputs={"value": None}, inputs={})
    takes = py_template("takes", inputs={"x": "input-default", "y": None})
    # Inputs are substituted into the template once: code that names {{inputs...}} itself stays literal.
    takes["container"]["args"].append("{{inputs.parameters.x}}")
    wf = workflow(
        [
            task("a", template="nodefault", when="false"),
            task("b", "put('value', sys.argv[2])", template="takes", depends="a",
                 params={"x": "{{tasks.a.outputs.parameters.value}}", "y": "given"}),
            task("c", template="takes", depends="a", params={"y": "{{tasks.a.outputs.parameters.value}}"}),
            task("d", depends="a", params={"extra": "pre-{{tasks.a.outputs.parameters.value}}"}),
        ],
        [no_default, takes, py_template()],
    )
    result, _ = run(wf)
    assert result.nodes["b"].outputs["value"] == "input-default"
    assert result.nodes["c"].phase == "Error"
    assert "absent optional" in result.nodes["c"].message
    assert result.nodes["d"].phase == "Error"
    assert "absent optional" in result.nodes["d"].message


def test_unresolvable_reference_errors_clearly(run):
    wf = workflow([task("a"), task("b"), task("c", "print('{{tasks.b.outputs.parameters.value}}')", depends="a")])
    result, events = run(wf)
    node = result.nodes["c"]
    assert node.phase == "Error"
    assert "failed to resolve {{tasks.b.outputs.parameters.value}}" in node.message
    assert "forever" in node.message
    assert events.kinds("c") == ["errored"]
    assert result.phase == "Error"


def test_depends_on_error_and_legacy_dependencies(run):
    wf = workflow(
        [
            task("a", when="nonsense =="),  # invalid when: Error, no pod
            task("on-error", depends="a.Errored"),
            task("legacy", dependencies=["on-error"]),
        ]
    )
    result, _ = run(wf)
    assert result.nodes["a"].phase == "Error"
    assert "Invalid 'when' expression" in result.nodes["a"].message
    assert result.nodes["on-error"].phase == "Succeeded"
    assert result.nodes["legacy"].phase == "Succeeded"
    assert result.phase == "Succeeded"


def test_retries_with_exponential_backoff(run, tmp_path: Path):
    counter = tmp_path / "count"
    code = (
        f"p = {str(counter)!r}\n"
        "n = int(open(p).read()) + 1 if os.path.exists(p) else 1\n"
        "open(p, 'w').write(str(n))\n"
        "put('value', str(n))\n"
        "sys.exit(0 if n >= 3 else 1)\n"
    )
    retry = {"limit": "4", "retryPolicy": "Always", "backoff": {"duration": "1s", "factor": "2", "cap": "3s"}}
    wf = workflow([task("flaky", code)], [py_template(retryStrategy=retry)])
    result, events = run(wf, retry_delay_scale=0.05)
    node = result.nodes["flaky"]
    assert node.phase == "Succeeded"
    assert [a.phase for a in node.attempts] == ["Failed", "Failed", "Succeeded"]
    assert node.outputs["value"] == "3"
    retrying = [e for e in events.events if e.kind == "retrying"]
    assert [e.nominal_delay for e in retrying] == [1.0, 2.0]
    assert [round(e.delay, 3) for e in retrying] == [0.05, 0.1]
    assert events.kinds("flaky") == ["started", "retrying", "started", "retrying", "started", "succeeded"]
    log = Path(node.log_path).read_text()
    assert log.count("=== bridge run: flaky attempt") == 3


def test_retry_limit_and_policy(run):
    always = py_template("always", retryStrategy={"limit": 2, "retryPolicy": "Always"})
    on_error = py_template("onerror", retryStrategy={"limit": 2, "retryPolicy": "OnError"})
    default_policy = py_template("default", retryStrategy={"limit": "1"})  # OnFailure
    wf = workflow(
        [task("a", FAIL, template="always"), task("b", FAIL, template="onerror"), task("c", FAIL, template="default")],
        [always, on_error, default_policy],
    )
    result, _ = run(wf)
    assert len(result.nodes["a"].attempts) == 3
    assert result.nodes["a"].message == "No more retries left"
    assert len(result.nodes["b"].attempts) == 1
    assert len(result.nodes["c"].attempts) == 2
    assert result.phase == "Failed"


@pytest.mark.parametrize("limit", [{"activeDeadlineSeconds": "1"}, {"timeout": "1s"}])
def test_template_deadline_kills_the_pod(run, limit):
    # The script ignores SIGTERM, so the kill needs the SIGKILL after the grace period.
    code = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nput('value', 'started')\ntime.sleep(60)"
    wf = workflow([task("slow", code), task("after", depends="slow")], [py_template(**limit)])
    start = time.monotonic()
    result, _ = run(wf, grace_seconds=0.5)
    assert time.monotonic() - start < 20
    node = result.nodes["slow"]
    assert node.phase == "Failed"
    assert "deadline" in node.message
    assert node.outputs["value"] == "started"
    assert result.nodes["after"].phase == "Omitted"
    assert result.phase == "Failed"


def test_workflow_deadline_fails_running_and_unstarted_nodes(run):
    wf = workflow(
        [task("slow", "time.sleep(60)"), task("queued"), task("after", depends="slow.Failed")],
        activeDeadlineSeconds=1,
        parallelism=1,
    )
    start = time.monotonic()
    result, _ = run(wf)
    assert time.monotonic() - start < 20
    assert result.nodes["slow"].phase == "Failed"
    assert result.nodes["queued"].phase == "Failed"
    assert result.nodes["queued"].message == "Step exceeded its deadline"
    assert result.nodes["after"].phase == "Failed"
    assert result.phase == "Failed"


def _max_running(events) -> int:
    running = peak = 0
    for event in events.events:
        if event.kind == "started":
            running += 1
            peak = max(peak, running)
        elif event.kind in ("succeeded", "failed", "errored", "retrying"):
            running -= 1
    return peak


def test_parallelism_caps_concurrent_pods(run):
    tasks = [task(f"t{i}", "time.sleep(0.3)") for i in range(5)]
    result, events = run(workflow(tasks, parallelism=2))
    assert result.phase == "Succeeded"
    assert _max_running(events) == 2
    result, events = run(workflow(tasks, parallelism=2), parallelism=4)
    assert _max_running(events) == 4


def test_workflow_parameters_and_overrides(run):
    params = [{"name": "greeting", "value": "hi"}, {"name": "who"}]
    wf = workflow([task("a", "put('value', '{{workflow.parameters.greeting}} {{workflow.parameters.who}}')")],
                  parameters=params)
    result, _ = run(wf, parameters={"who": "you"})
    assert result.nodes["a"].outputs["value"] == "hi you"
    result, _ = run(wf, parameters={"who": "you", "greeting": "yo"})
    assert result.nodes["a"].outputs["value"] == "yo you"
    with pytest.raises(WorkflowError, match="'who' has no value"):
        run(wf)
    with pytest.raises(WorkflowError, match="unknown workflow parameter"):
        run(wf, parameters={"who": "x", "nope": "1"})


def test_raw_artifact_is_delivered_at_its_path(run):
    template = py_template(inputs={"payload": "{}"})
    template["inputs"]["artifacts"] = [{"name": "data", "path": "/tmp/in/data.json", "raw": {"data": "{{inputs.parameters.payload}}"}}]
    template["container"]["args"].append("/tmp/in/data.json")
    code = "put('value', open(sys.argv[2]).read())"
    wf = workflow([task("a", "put('value', 'line1\\nline2')"),
                   task("b", code, depends="a", params={"payload": "{{tasks.a.outputs.parameters.value}}\nend"})],
                  [template])
    result, _ = run(wf)
    assert result.nodes["b"].outputs["value"] == "line1\nline2\nend"


def test_suspend_node_succeeds_without_a_process(run):
    suspend = {"name": "verdict", "suspend": {"duration": "0"}}
    slow_suspend = {"name": "wait", "suspend": {"duration": "10s"}}
    wf = workflow([task("a"), {"name": "v", "template": "verdict", "depends": "a"},
                   {"name": "w", "template": "wait", "depends": "v"}],
                  [py_template(), suspend, slow_suspend])
    result, events = run(wf, retry_delay_scale=0.01)
    assert result.nodes["v"].phase == "Succeeded" and result.nodes["v"].kind == "Suspend"
    assert result.nodes["v"].attempts == []
    assert result.nodes["w"].phase == "Succeeded"
    assert events.kinds("v") == ["succeeded"]


def test_secret_env_from_local_environment(run, monkeypatch):
    template = py_template()
    template["container"]["env"] = [
        {"name": "PLAIN", "value": "p-{{workflow.name}}"},
        {"name": "BRIDGE_TEST_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}},
        {"name": "BRIDGE_TEST_OPTIONAL", "valueFrom": {"secretKeyRef": {"name": "s", "key": "o", "optional": True}}},
    ]
    template["container"]["envFrom"] = [{"secretRef": {"name": "bridge-variables", "optional": True}}]
    code = "put('value', os.environ['PLAIN'][:2] + os.environ['BRIDGE_TEST_SECRET'] + str('BRIDGE_TEST_OPTIONAL' in os.environ))"
    monkeypatch.setenv("BRIDGE_TEST_SECRET", "s3cret")
    monkeypatch.delenv("BRIDGE_TEST_OPTIONAL", raising=False)
    result, _ = run(workflow([task("a", code)], [template]))
    assert result.nodes["a"].outputs["value"] == "p-s3cretFalse"
    template["container"]["env"][2]["valueFrom"]["secretKeyRef"]["optional"] = False
    result, _ = run(workflow([task("a", code)], [template]))
    assert result.nodes["a"].phase == "Error"
    assert "set BRIDGE_TEST_OPTIONAL in this environment" in result.nodes["a"].message


def test_a_key_file_variable_points_at_this_machines_file(run, monkeypatch, tmp_path):
    template = py_template()
    template["container"]["env"] = [{"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"}]
    code = "put('value', os.environ['GOOGLE_APPLICATION_CREDENTIALS'])"
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    result, _ = run(workflow([task("a", code)], [template]))
    assert result.nodes["a"].outputs["value"] == "/var/secrets/google/key.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "key.json"))
    result, _ = run(workflow([task("a", code)], [template]))
    assert result.nodes["a"].outputs["value"] == str(tmp_path / "key.json")


def test_missing_output_without_default_is_an_error(run):
    wf = workflow([task("a")], [py_template(outputs={"value": None})])
    result, _ = run(wf)
    assert result.nodes["a"].phase == "Error"
    assert "output parameter 'value'" in result.nodes["a"].message


def test_dag_target_runs_only_targets_and_their_ancestors(run):
    wf = workflow([task("a"), task("b", depends="a"), task("c", depends="a")], dag={"target": "b"})
    result, _ = run(wf)
    assert list(result.nodes) == ["a", "b"]
    assert result.phase == "Succeeded"


def test_bridge_task_resolves_next_to_the_interpreter():
    from bridge.local.launcher import resolve_command

    resolved = resolve_command("bridge-task")
    assert os.path.isabs(resolved) and resolved.endswith("bridge-task")
    assert resolve_command("/bin/sh") == "/bin/sh"


def test_paths_map_to_the_split_folder_and_pod_scratch(run, tmp_path: Path):
    split = tmp_path / "split" / "dags"
    split.mkdir(parents=True)
    (split / "hello.txt").write_text("from split")
    template = py_template()
    template["container"]["args"].append("/opt/bridge/dags/hello.txt")
    code = "put('value', open(sys.argv[2]).read() + ' ' + str(out.startswith(os.environ['TMPDIR'])))"
    result, _ = run(workflow([task("a", code)], [template]))
    assert result.nodes["a"].outputs["value"] == "from split True"


def test_run_workflow_api_without_recorder(tmp_path: Path):
    result = run_workflow(workflow([task("a")]), split_dir=str(tmp_path), log_dir=str(tmp_path / "logs"))
    assert result.phase == "Succeeded"
    assert Path(result.nodes["a"].log_path).exists()


def test_host_files_under_tmp_stay_host_paths(run):
    # A clone or a virtualenv under /tmp: the interpreter and a script there are host files the
    # command needs, while /tmp/out (absent before the pod starts) is the pod's own emptyDir.
    import shutil
    import sys
    import tempfile

    host = Path(tempfile.mkdtemp(prefix="bridge-host-", dir="/tmp"))
    try:
        interpreter = host / "python"
        interpreter.symlink_to(os.path.realpath(sys.executable))
        script = host / "script.py"
        script.write_text("import os, sys\nos.makedirs(sys.argv[1])\nopen(os.path.join(sys.argv[1], 'value'), 'w').write('ran')\n")
        template = py_template(outputs={"value": None})
        template["container"].update(command=[str(interpreter)], args=[str(script), "/tmp/out"])
        result, _ = run(workflow([task("a")], [template]))
        assert result.phase == "Succeeded", result.nodes["a"].message
        assert result.nodes["a"].outputs["value"] == "ran"
        assert not (host / "out").exists() and not Path("/tmp/out/value").exists()
    finally:
        shutil.rmtree(host)


def test_map_path_leaves_existing_host_files_alone(tmp_path):
    from bridge.local.launcher import map_path

    existing = tmp_path / "tool"
    existing.write_text("")
    mounts = {"/tmp": "/scratch/pod", "/opt/bridge": "/split"}
    assert str(existing).startswith("/tmp/")
    assert map_path(str(existing), mounts) == str(existing)
    assert map_path(f"--tool={existing}", mounts) == f"--tool={existing}"
    assert map_path("--outputs=/tmp/bridge/out", mounts) == "--outputs=/scratch/pod/bridge/out"
    assert map_path(f"{tmp_path} /opt/bridge/dags/a.py", mounts) == f"/scratch/pod{str(tmp_path)[4:]} /split/dags/a.py"
