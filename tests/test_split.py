"""`bridge split` on real DAGs: the files it writes, loaded back with real Airflow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import (
    ROOT,
    dag_tasks,
    load_dagbag,
    load_workflow,
    read_tree,
    run_cli,
    split,
    validate_argo,
)

ETL = ROOT / "examples" / "etl" / "etl.py"
BIGQUERY = ROOT / "examples" / "bigquery_trends" / "github_hn_trends.py"
FIXTURES = sorted((ROOT / "tests" / "data" / "dags").glob("*.py"))


@pytest.fixture(scope="module")
def etl_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(ETL, tmp_path_factory.mktemp("etl") / "out")


def test_layout(etl_out: Path) -> None:
    files = set(read_tree(etl_out))
    assert files == {
        ".bridge-manifest.json",
        "cronjobs/etl.yaml",
        "dags/etl/archive.py",
        "dags/etl/extract.py",
        "dags/etl/greet.py",
        "dags/etl/report.py",
        "dags/etl/transform.py",
        "images/Dockerfile",
        "images/requirements.txt",
        "kustomization.yaml",
        "sources/etl.py",
        "workflows/etl.yaml",
    }
    assert (etl_out / "sources/etl.py").read_bytes() == ETL.read_bytes()


def test_each_task_file_is_one_task_of_the_original_dag(etl_out: Path) -> None:
    original = load_dagbag(ETL).dags["etl"]
    for task_file in sorted((etl_out / "dags" / "etl").glob("*.py")):
        bag = load_dagbag(task_file)
        assert bag.import_errors == {}
        assert list(bag.dags) == ["etl"], task_file.name
        dag = bag.dags["etl"]
        task_id = task_file.stem
        assert list(dag.task_dict) == [task_id]
        task = dag.task_dict[task_id]
        source = original.task_dict[task_id]
        assert type(task) is type(source)
        assert task.retries == source.retries == 1  # Airflow decides retries; Argo starts the pods
        assert dag.params.dump() == original.params.dump()
        assert dag.timezone == original.timezone
        assert task.template_fields == source.template_fields
        for field in source.template_fields:
            assert repr(getattr(task, field)) == repr(getattr(source, field)), (task_id, field)


def test_dependencies_use_explicit_depends(etl_out: Path) -> None:
    tasks = dag_tasks(load_workflow(etl_out))
    assert "dependencies" not in str(tasks)
    assert "depends" not in tasks["greet"] and "when" not in tasks["greet"]
    # all_success: upstream_failed (Omitted) unless the upstream finished, skipped unless it succeeded.
    # A bare name is Argo's (greet.Succeeded || greet.Skipped || greet.Daemoned); no bridge template is a daemon.
    assert tasks["extract"]["depends"] == "greet"
    assert tasks["extract"]["when"] == "'{{tasks.greet.outputs.parameters.s}}' == 'success'"
    assert tasks["archive"]["depends"] == "report"


def test_verdict_node_carries_the_dagrun_state(etl_out: Path) -> None:
    workflow = load_workflow(etl_out)
    verdict = dag_tasks(workflow, verdict=True)["airflow-dagrun"]
    assert verdict == {
        "name": "airflow-dagrun",
        "template": "airflow-dagrun",
        "depends": "archive",
    }
    assert {"name": "airflow-dagrun", "suspend": {"duration": "0"}} in workflow["spec"]["templates"]


def test_xcom_flows_from_every_direct_upstream(etl_out: Path) -> None:
    tasks = dag_tasks(load_workflow(etl_out))
    params = {p["name"]: p["value"] for p in tasks["transform"]["arguments"]["parameters"]}
    # No `task` argument: the task id is the DAG task's name, the template's default {{tasks.name}}.
    assert params == {"x": "{{tasks.extract.outputs.parameters.x}}"}
    params = {p["name"]: p["value"] for p in tasks["extract"]["arguments"]["parameters"]}
    assert params["x"] == "{{tasks.greet.outputs.parameters.x}}"
    assert "arguments" not in tasks["greet"]  # a root whose id is its name passes nothing


def test_task_files_are_named_by_task_name_and_fan_in_joins_documents(tmp_path: Path) -> None:
    out = split(BIGQUERY, tmp_path / "bq")
    workflow = load_workflow(out)
    # No task id argument: the task file is the DAG task's name (the input's default), and names its task.
    task_file = (out / "dags" / "github_hn_trends" / "bq-write-to-hackernews-github-agg.py").read_text()
    assert "task_id='bq_write_to_hackernews_github_agg'" in task_file
    (template,) = [t for t in workflow["spec"]["templates"] if "container" in t]
    assert template["inputs"]["parameters"][0] == {"name": "task", "default": "{{tasks.name}}"}
    tasks = dag_tasks(workflow)
    join = tasks["bq-write-to-hackernews-github-agg"]
    params = {p["name"]: p["value"] for p in join["arguments"]["parameters"]}
    assert params == {
        # Each document is one JSON object: concatenated without a separator.
        "x": "{{tasks.bq-write-to-github-agg.outputs.parameters.x}}{{tasks.bq-write-to-hackernews-agg.outputs.parameters.x}}",
    }
    assert join["depends"] == "bq-write-to-github-agg && bq-write-to-hackernews-agg"
    assert join["when"] == (
        "'{{tasks.bq-write-to-github-agg.outputs.parameters.s}},{{tasks.bq-write-to-hackernews-agg.outputs.parameters.s}},'"
        " =~ '^(success,)+$'"
    )


def test_container_runs_bridge_task_with_the_run_date(etl_out: Path) -> None:
    workflow = load_workflow(etl_out)
    (template,) = [t for t in workflow["spec"]["templates"] if "container" in t]
    container = template["container"]
    assert container["command"] == ["bridge-task"]
    args = container["args"]
    assert args[:2] == ["run", "/opt/bridge/dags/etl/{{inputs.parameters.task}}.py"]
    assert args[args.index("--run-date") + 1] == "{{workflow.parameters.run-date}}"
    assert args[args.index("--param") + 1] == "multiplier={{workflow.parameters.multiplier}}"
    parameters = workflow["spec"]["arguments"]["parameters"]
    assert [p["name"] for p in parameters] == ["run-date", "run-id", "multiplier"]
    assert "value" not in parameters[0]
    assert parameters[2]["value"] == "2"
    assert workflow["metadata"]["generateName"] == "etl-"


def test_requirements_pin_airflow_and_the_providers_used(airflow_line: int, tmp_path: Path) -> None:
    import airflow

    out = split(BIGQUERY, tmp_path / "bq")
    lines = (out / "images/requirements.txt").read_text().splitlines()
    assert f"apache-airflow=={airflow.__version__}" in lines
    assert any(line.startswith("apache-airflow-providers-google==") for line in lines)
    etl_lines = (split(ETL, tmp_path / "etl") / "images/requirements.txt").read_text()
    assert "providers-google" not in etl_lines
    assert ("apache-airflow-providers-standard==" in etl_lines) == (airflow_line >= 3)
    dockerfile = (out / "images/Dockerfile").read_text()
    assert "USER 50000" in dockerfile and 'ENTRYPOINT ["bridge-task"]' in dockerfile


def test_split_twice_is_byte_identical_and_touches_nothing(tmp_path: Path) -> None:
    first = read_tree(split(ETL, tmp_path / "a"))
    second = read_tree(split(ETL, tmp_path / "b"))
    assert first == second
    before = {p: os.stat(tmp_path / "a" / p).st_mtime_ns for p in first}
    result = run_cli("split", str(ETL), "-o", str(tmp_path / "a"))
    assert result.exit_code == 0 and "(0 files changed)" in result.output
    after = {p: os.stat(tmp_path / "a" / p).st_mtime_ns for p in first}
    assert before == after


def test_stale_files_are_removed_but_user_files_kept(tmp_path: Path) -> None:
    out = split(ETL, tmp_path / "out")
    (out / "NOTES.md").write_text("mine")
    manifest = (out / ".bridge-manifest.json").read_text()
    # Pretend an earlier split wrote a task that no longer exists.
    (out / "dags/etl/old.py").write_text("gone")
    import hashlib
    import json

    data = json.loads(manifest)
    data["files"]["dags/etl/old.py"] = hashlib.sha256(b"gone").hexdigest()
    (out / ".bridge-manifest.json").write_text(json.dumps(data))
    split(ETL, out)
    assert not (out / "dags/etl/old.py").exists()
    assert (out / "NOTES.md").read_text() == "mine"


@pytest.mark.parametrize("dag_file", [ETL, BIGQUERY, *FIXTURES], ids=lambda p: p.name)
def test_emitted_workflow_matches_argo_schema(dag_file: Path, tmp_path: Path) -> None:
    workflow = load_workflow(split(dag_file, tmp_path / "out"))
    validate_argo(workflow)


def test_schema_check_catches_unknown_fields() -> None:
    document = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "x-"},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "contianer": {"image": "x"}}]},
    }
    with pytest.raises(AssertionError, match=r"templates\[0\]\.contianer"):
        validate_argo(document)


PARITY_MAPPING = ROOT / "tests" / "data" / "parity" / "parity_mapping.py"


def test_mapped_tasks_get_a_states_output_and_keep_their_upstreams(tmp_path: Path) -> None:
    workflow = load_workflow(split(PARITY_MAPPING, tmp_path / "out"))
    tasks = dag_tasks(workflow)
    by_name = {t["name"]: t for t in workflow["spec"]["templates"]}
    outputs = {name: [p["name"] for p in by_name[t["template"]]["outputs"]["parameters"]] for name, t in tasks.items()}
    assert outputs["double"] == ["x", "s", "b", "states"]
    assert outputs["echo"] == ["x", "s", "b", "states"]
    assert outputs["total"] == ["x", "s", "b"]
    # none_failed_min_one_success over a mapped task: a `mixed` aggregate counts as one success
    assert "'mixed'" in tasks["needs-one"]["when"] and "'mixed'" not in tasks["needs-all"]["when"]
    # The mapped task's file holds the task plus its direct upstream (a stand-in the runner never runs).
    from bridge.dagfile import TARGETS, single_task_dag

    task_file = tmp_path / "out" / "dags" / "parity_mapping" / "double.py"
    sub = single_task_dag(str(task_file), source="../../sources/parity_mapping.py",
                          dag_id="parity_mapping", task_id="double", dags_folder="../../sources")
    assert sorted(sub.task_dict) == ["double", "numbers"]
    assert TARGETS[str(task_file)] == "double"


def test_mapped_task_groups_are_refused(tmp_path: Path) -> None:
    dag_file = tmp_path / "grouped.py"
    dag_file.write_text(
        "import pendulum\n"
        "try:\n    from airflow.sdk import DAG, task, task_group\n"
        "except ImportError:\n    from airflow import DAG\n    from airflow.decorators import task, task_group\n"
        "with DAG('grouped', start_date=pendulum.datetime(2024, 1, 1, tz='UTC'), schedule=None):\n"
        "    @task\n    def one(x):\n        return x\n"
        "    @task_group\n    def group(x):\n        one(x)\n"
        "    group.expand(x=[1, 2])\n"
    )
    result = run_cli("split", str(dag_file), "-o", str(tmp_path / "out"))
    assert result.exit_code != 0
    assert "mapped task group" in result.output


def test_pods_run_restricted_with_only_the_scratch_volume_writable(etl_out: Path) -> None:
    workflow = load_workflow(etl_out)
    spec = workflow["spec"]
    assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 50000, "fsGroup": 0}
    assert spec["volumes"] == [{"name": "bridge-tmp", "emptyDir": {}}]
    (template,) = [t for t in spec["templates"] if "container" in t]
    container = template["container"]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 50000,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["volumeMounts"] == [{"name": "bridge-tmp", "mountPath": "/tmp"}]
    assert not any(item["name"] == "GOOGLE_APPLICATION_CREDENTIALS" for item in container.get("env", []))


def test_gcp_key_secret_is_mounted_read_only_and_named_by_the_credentials_variable(tmp_path: Path) -> None:
    out = split(BIGQUERY, tmp_path / "out", "--gcp-key-secret", "gcp-sa-key")
    workflow = load_workflow(out)
    validate_argo(workflow)
    spec = workflow["spec"]
    assert {"name": "gcp-key", "secret": {"secretName": "gcp-sa-key"}} in spec["volumes"]
    for template in (t for t in spec["templates"] if "container" in t):
        container = template["container"]
        assert {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"} in container["env"]
        assert {"name": "gcp-key", "mountPath": "/var/secrets/google", "readOnly": True} in container["volumeMounts"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert run_cli("lint", str(out)).exit_code == 0


def test_gcp_key_secret_must_be_a_secret_name(tmp_path: Path) -> None:
    result = run_cli("split", str(ETL), "-o", str(tmp_path / "out"), "--gcp-key-secret", "My_Key")
    assert result.exit_code == 2
    assert "'My_Key' is not a Kubernetes Secret name" in result.output
    assert not (tmp_path / "out").exists()
