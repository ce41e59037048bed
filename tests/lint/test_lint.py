"""bridge lint: every emitted file in the repo is clean; each kind of mistake is found, located and explained."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bridge.lint import lint_paths, lint_text
from tests.helpers import ROOT, run_cli, validate_argo

EMITTED = [ROOT / "workflows", ROOT / "cronjobs", ROOT / "tests" / "golden"]
ETL_GOLDEN = ROOT / "tests" / "golden" / "airflow-3" / "etl" / "workflows" / "etl.yaml"


def _manifests() -> list[Path]:
    return sorted(p for folder in EMITTED if folder.exists() for p in folder.rglob("*.yaml"))


def test_every_emitted_file_in_the_repo_is_clean() -> None:
    report = lint_paths([str(p) for p in EMITTED if p.exists()])
    assert len(report.files) >= 9
    assert [str(f) for f in report.findings] == []


@pytest.mark.parametrize("path", _manifests(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_emitted_argo_file_passes_argos_json_schema(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        if document and str(document.get("apiVersion", "")).startswith("argoproj.io/"):
            validate_argo(document)


def _workflow() -> dict[str, Any]:
    return yaml.safe_load(ETL_GOLDEN.read_text())


def _tasks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["spec"]["templates"][0]["dag"]["tasks"]


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["templates"][1]


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return apply


def _cycle(doc: dict[str, Any]) -> None:
    _tasks(doc)[0]["depends"] = "archive.Succeeded"


def _duplicate(doc: dict[str, Any]) -> None:
    _tasks(doc).append(copy.deepcopy(_tasks(doc)[2]))


def _huge(doc: dict[str, Any]) -> None:
    tasks = _tasks(doc)
    for number in range(5000):
        tasks.insert(0, {"name": f"t{number}", "template": tasks[-2]["template"],
                         "arguments": {"parameters": [{"name": "task", "value": "x" * 200}]}})


CASES = [
    ("unknown field", lambda d: _container(d)["container"].update(imagePullPolicyy="Always"),
     r"spec\.templates\[1\]\.container\.imagePullPolicyy: field 'imagePullPolicyy' is not part of Argo's Workflow model"),
    ("wrong type", _set(["spec", "parallelism"], "four"),
     r"spec\.parallelism: is a string, but Argo's model expects an integer"),
    ("missing required", lambda d: _container(d)["inputs"]["parameters"][0].pop("name"),
     r"spec\.templates\[1\]\.inputs\.parameters\[0\]\.name: required field 'name' of Parameter is missing"),
    ("enum", lambda d: _container(d)["retryStrategy"].update(retryPolicy="Sometimes") if "retryStrategy" in _container(d)
     else _container(d).update(retryStrategy={"retryPolicy": "Sometimes"}),
     r"retryStrategy\.retryPolicy: 'Sometimes' is not one of"),
    ("duplicate task", _duplicate, r"dag\.tasks\[6\]\.name: DAG task name 'transform' is not unique \(also at \[2\]\)"),
    ("missing depends target", lambda d: _tasks(d)[1].update(depends="(nosuch.Succeeded)"),
     r"tasks\[1\]\.depends: names task 'nosuch', which is not a task of this DAG"),
    ("bad depends syntax", lambda d: _tasks(d)[1].update(depends="(greet.Succeeded ||"),
     r"tasks\[1\]\.depends: cannot be evaluated"),
    ("cycle", _cycle, r"dag\.tasks\[0\]: dependency cycle: greet -> archive -> report -> transform -> extract -> greet"),
    ("digit task name", lambda d: _tasks(d)[0].update(name="1greet"),
     r"tasks\[0\]\.name: DAG task name '1greet' begins with a digit"),
    ("bad task name", lambda d: _tasks(d)[0].update(name="Greet_it"), r"tasks\[0\]\.name: DAG task name 'Greet_it' is invalid"),
    ("unknown template", lambda d: _tasks(d)[0].update(template="nope"), r"tasks\[0\]\.template: template 'nope' does not exist"),
    ("unknown entrypoint", _set(["spec", "entrypoint"], "start"), r"spec\.entrypoint: template 'start' does not exist"),
    ("unresolved workflow parameter", lambda d: _container(d)["container"]["args"].append("{{workflow.parameters.nope}}"),
     r"container\.args\[\d+\]: \{\{workflow\.parameters\.nope\}\} cannot be resolved here"),
    ("reference to a non-ancestor", lambda d: _tasks(d)[1].update(when="'{{tasks.archive.outputs.parameters.s}}' == 'x'"),
     r"tasks\[1\]\.when: \{\{tasks\.archive\.outputs\.parameters\.s\}\} cannot be resolved: task 'archive' is not an ancestor"),
    ("undeclared output", lambda d: _tasks(d)[1].update(when="'{{tasks.greet.outputs.parameters.nope}}' == 'x'"),
     r"\{\{tasks\.greet\.outputs\.parameters\.nope\}\} cannot be resolved"),
    ("guarded reference to a non-ancestor", lambda d: _tasks(d)[1].update(
        when="'{{=get(tasks['archive'],'outputs')?.parameters?.s??'unknown'}}' == 'x'"),
     r"tasks\[1\]\.when: \{\{tasks\.archive\.outputs\.parameters\.s\}\} cannot be resolved: task 'archive' is not an ancestor"),
    ("bad when", lambda d: _tasks(d)[1].update(when="'a' == 'b' 'c'"), r"tasks\[1\]\.when: is not a valid expression"),
    ("bad parameter name", lambda d: d["spec"]["arguments"]["parameters"].append({"name": "my param", "value": "1"}),
     r"spec\.arguments\.parameters\[\d+\]\.name: workflow argument parameter name 'my param' is invalid"),
    ("argument not supplied", lambda d: _container(d)["inputs"]["parameters"][0].pop("default"),
     r"tasks\[0\]\.arguments: input parameter 'task' of template '[^']+' is not supplied"),
    ("long generateName", _set(["metadata", "generateName"], "a" * 70 + "-"),
     r"metadata\.generateName: 'a{70}-' is 71 characters, over the limit of 58"),
    ("long name", lambda d: d["metadata"].update(name="w" * 64), r"metadata\.name: 'w{64}' is 64 characters, over the limit of 63"),
    ("bad label value", _set(["metadata", "labels", "bridge.dev/dag"], "not ok!"), r"metadata\.labels\['bridge\.dev/dag'\]: label value"),
    ("duplicate lock", _set(["spec", "synchronization"], {"mutexes": [{"name": "m"}, {"name": "m"}]}),
     r"spec\.synchronization\.mutexes\[1\]: repeats a synchronization item"),
    ("semaphore without a limit", lambda d: _container(d).update(synchronization={"semaphores": [{"namespace": "x"}]}),
     r"spec\.templates\[1\]\.synchronization\.semaphores\[0\]: a semaphore needs exactly one of configMapKeyRef and database"),
    ("bad semaphore key", lambda d: _container(d).update(
        synchronization={"semaphores": [{"configMapKeyRef": {"name": "c", "key": "a/b"}}]}),
     r"semaphores\[0\]\.configMapKeyRef\.key: 'a/b' is not a valid ConfigMap key"),
    ("over 1 MiB", _huge, r"the object is \d+ bytes as Argo stores it \(compact JSON\), over Kubernetes' 1 MiB limit"),
]


@pytest.mark.parametrize("mutate, expected", [(m, e) for _, m, e in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_is_found_with_file_path_and_fix(mutate: Callable[[dict[str, Any]], None], expected: str) -> None:
    import re

    document = _workflow()
    mutate(document)
    lines = [str(f) for f in lint_text("wf.yaml", yaml.safe_dump(document, sort_keys=False))]
    assert any(re.search(expected, line) for line in lines), "\n".join(lines)
    assert all(line.startswith("wf.yaml: ") and "; " in line for line in lines)


def test_kubernetes_kinds_are_checked_against_the_kubernetes_schema() -> None:
    text = yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok"}, "data": {"a": "1"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad"}, "data": {"a": 1}, "extra": True},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {
            "schedule": "0 0 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "a", "image": "b", "imagee": "c"}]}}}}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "r"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"},
         "subjects": [{"kind": "ServiceAccount", "name": "s"}]},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "Not_A_Name"}},
    ])
    lines = sorted(str(f) for f in lint_text("k.yaml", text))
    assert lines == [
        "k.yaml: document 2: data.a: 1 is not of type 'string', 'null'; change the value to what the schema allows",
        "k.yaml: document 2: extra: field 'extra' is not part of Kubernetes' ConfigMap schema (v1, Kubernetes 1.31.0 "
        "and 1.36.0); remove it or fix its spelling",
        lines[2],
        "k.yaml: document 5: metadata.name: 'Not_A_Name' is not a valid Kubernetes name; use lower-case letters, "
        "digits and '-', starting and ending with a letter or digit",
    ]
    assert lines[2].startswith("k.yaml: document 3: spec.jobTemplate.spec.template.spec.containers[0].imagee: field "
                               "'imagee' is not part of Kubernetes' CronJob schema")


def test_kubernetes_documents_are_checked_on_both_ends_of_the_supported_range() -> None:
    # Pod-level resources and hostnameOverride came after 1.31 (docs/COMPATIBILITY.md, Kubernetes):
    # a manifest that uses them works on 1.36 but not on the oldest release bridge supports.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
        "containers": [{"name": "a", "image": "b"}], "hostnameOverride": "h", "resources": {"limits": {"cpu": "1"}}}}
    lines = sorted(str(f) for f in lint_text("p.yaml", yaml.safe_dump(pod)))
    assert lines == [
        f"p.yaml: spec.{field}: field {field!r} is not part of Kubernetes' Pod schema (v1, Kubernetes 1.31.0); "
        "remove it or fix its spelling"
        for field in ("hostnameOverride", "resources")
    ]
    # And the other way: 1.36 requires a CronJob's spec, 1.31 a RoleBinding's roleRef.apiGroup.
    text = yaml.safe_dump_all([
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "r"},
         "roleRef": {"kind": "Role", "name": "x"}},
    ])
    assert [str(f) for f in lint_text("k.yaml", text)] == [
        "k.yaml: document 1: : 'spec' is a required property (Kubernetes 1.36.0); add the missing field",
        "k.yaml: document 2: roleRef: 'apiGroup' is a required property (Kubernetes 1.31.0); add the missing field",
    ]


def test_configmap_keys_are_checked() -> None:
    text = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                           "data": {"ok.key_1-x": "1", "pool/a": "2", "..": "3"}})
    assert sorted(str(f) for f in lint_text("c.yaml", text)) == [
        "c.yaml: data['..']: '..' is not a valid ConfigMap key; use at most 253 letters, digits, '-', '_' or '.'",
        "c.yaml: data['pool/a']: 'pool/a' is not a valid ConfigMap key; use at most 253 letters, digits, '-', '_' or '.'",
    ]


def test_not_a_manifest_and_bad_yaml(tmp_path: Path) -> None:
    (tmp_path / "notes.yaml").write_text("hello: world\n")
    (tmp_path / "broken.yml").write_text("a: [1, 2\n")
    (tmp_path / "custom.yaml").write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    (tmp_path / "readme.txt").write_text("not linted\n")
    report = lint_paths([str(tmp_path)])
    assert sorted(Path(f).name for f in report.files) == ["broken.yml", "custom.yaml", "notes.yaml"]
    lines = sorted(str(f) for f in report.findings)
    assert lines[0].startswith(f"{tmp_path}/broken.yml: line 2: is not valid YAML:")
    assert lines[1] == (f"{tmp_path}/custom.yaml: kind: warning: no Kubernetes schema knows kind 'Widget' in "
                        "'example.com/v1'; not checked; check apiVersion and kind (custom resources are not checked)")
    assert lines[2].startswith(f"{tmp_path}/notes.yaml: warning: has no apiVersion and kind")


def test_cli_exit_codes(tmp_path: Path) -> None:
    clean = run_cli("lint", str(ROOT / "workflows"))
    assert clean.exit_code == 0 and "bridge: lint: 1 file, 0 errors, 0 warnings" in clean.output
    document = _workflow()
    _cycle(document)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(document))
    bad = run_cli("lint", str(tmp_path))
    assert bad.exit_code == 1 and f"{tmp_path}/bad.yaml: spec.templates[0].dag.tasks[0]: dependency cycle" in bad.output
    (tmp_path / "bad.yaml").unlink()
    (tmp_path / "notes.yaml").write_text("hello: world\n")
    assert run_cli("lint", str(tmp_path)).exit_code == 0
    strict = run_cli("lint", "--strict", str(tmp_path))
    assert strict.exit_code == 1 and "0 errors, 1 warning (strict)" in strict.output
    assert run_cli("lint", str(tmp_path / "missing")).exit_code == 2
    assert run_cli("lint").exit_code == 2


def test_model_knows_every_field_argos_json_schema_knows_in_bridge_output() -> None:
    """The model library and Argo's published schema agree on bridge's output: neither drops a field."""
    from bridge.lint.argo_model import check_argo_model

    document = _workflow()
    assert check_argo_model(document) == []
    document["spec"]["templates"][1]["container"]["bogus"] = 1
    assert [p.path for p in check_argo_model(document)] == ["spec.templates[1].container.bogus"]


def test_split_refuses_to_write_output_that_fails_lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bridge.emit.argo as argo

    original = argo.build_workflow

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        workflow = original(*args, **kwargs)
        workflow["spec"]["templates"][1]["container"]["imagePullPolicyy"] = "Always"
        return workflow

    monkeypatch.setattr(argo, "build_workflow", broken)
    out = tmp_path / "out"
    result = run_cli("split", str(ROOT / "examples" / "etl" / "etl.py"), "-o", str(out))
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith(f"bridge: error: {ROOT}/examples/etl/etl.py: bridge produced a manifest that Argo or "
                           "Kubernetes would reject, so nothing was written: workflows/etl.yaml: spec.templates[1]"
                           ".container.imagePullPolicyy: field 'imagePullPolicyy' is not part of Argo's Workflow model")
    assert line.endswith("this is a bug in bridge, please report it with the DAG file")
    assert not out.exists() and not list(tmp_path.glob(".bridge-*"))


def test_compact_json_size_is_what_argo_stores() -> None:
    from bridge.lint.rules import check_size

    document = _workflow()
    size = len(json.dumps(document, separators=(",", ":")).encode())
    assert size < 20000 and not list(check_size(document))


def test_stored_size_counts_gos_html_escaping() -> None:
    from bridge.lint.rules import stored_size

    # Argo measures json.Marshal output: '&' is written as \u0026, so "a && b" takes 10 bytes more.
    assert stored_size({"depends": "a && b"}) == len('{"depends":"a && b"}') + 10
    assert stored_size({"name": "café"}) == len('{"name":"café"}'.encode())


def test_configmap_data_is_measured_as_stored() -> None:
    """1 MiB of data values (the API server's limit); over 256 KiB a client-side apply cannot keep its copy."""
    from bridge.lint import lint_text

    def configmap(size: int) -> str:
        return yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x-workflow"},
                               "data": {"workflow.yaml": "y" * size}})

    assert [f.rule for f in lint_text("c.yaml", configmap(200 * 1024))] == []
    (warning,) = lint_text("c.yaml", configmap(300 * 1024))
    assert (warning.severity, warning.rule) == ("warning", "configmap-size") and "--server-side" in warning.fix
    (error,) = lint_text("c.yaml", configmap(1024 * 1024 + 1))
    assert (error.severity, error.path, error.rule) == ("error", "data", "configmap-size")


def _chain_dag(tmp_path: Path, tasks: int, retries: int) -> Path:
    path = tmp_path / "chain_dag.py"
    path.write_text(
        "import datetime, pendulum\nfrom airflow import DAG\n"
        "try:\n    from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "except ImportError:\n    from airflow.operators.empty import EmptyOperator\n"
        f"with DAG('chain_dag', start_date=pendulum.datetime(2024, 1, 1), schedule=None,\n"
        f"         default_args={{'retries': {retries}, 'retry_delay': datetime.timedelta(seconds=5)}}):\n"
        f"    ts = [EmptyOperator(task_id=f'load_partition_{{i:05d}}_of_the_daily_extract_into_the_warehouse') for i in range({tasks})]\n"
        "    for a, b in zip(ts, ts[1:]):\n        a >> b\n"
    )
    return path


@pytest.mark.parametrize("tasks, retries, warned", [(5000, 2, True), (5000, 0, False), (300, 2, False)])
def test_split_warns_when_a_run_needs_node_status_offloading(tmp_path: Path, tasks: int, retries: int, warned: bool) -> None:
    # 5,000 tasks with 61-character ids fit one object (about 170 bytes each); a run adds a node
    # status per pod, and with retries a Retry node above each: about 11 MB, over 1 MiB with the
    # spec even gzipped (without retries: under).
    result = run_cli("split", str(_chain_dag(tmp_path, tasks, retries)), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert ("persistence.nodeStatusOffLoad: true" in result.output) == warned, result.output[-2000:]
    if warned:
        assert "a run of it stores about" in result.output and f"({2 * tasks + 2} nodes," in result.output
