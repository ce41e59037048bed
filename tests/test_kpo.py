"""KubernetesPodOperator tasks as native Argo pods (bridge.airflow.kpo, docs/SEMANTICS.md).

The oracle is the cncf provider itself: for every native task of tests/data/kpo/pods.py, the pod
Argo would create from the emitted template (read from Argo's workflowpod.go, v4.0.10: the
template's container named `main`, its sidecars, init containers, volumes, scheduling fields,
securityContext and metadata, then its podSpecPatch) equals, field by field, the V1Pod the
provider's `build_pod_request_obj` builds for the same task. Left out on purpose, and nothing else:
the pod's name and namespace (Argo names its pods and runs them in the Workflow's namespace), the
provider's tracking labels (Argo labels its pods itself), restartPolicy (Argo's is Never, as the
provider's), the base container's name (Argo's is `main`), the provider's XCom sidecar (Argo's
executor reads /airflow/xcom/return.json itself: an output parameter), and values that are the API server's
own defaults (empty lists and maps, terminationMessagePolicy File, hostNetwork false).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.names import argo_name
from bridge.podspec import CONTAINER_DEFAULTS, PROVIDER_LABELS, SPEC_DEFAULTS, XCOM_FILE, XCOM_SIDECAR
from tests.helpers import DATA, dag_tasks, load_dagbag, load_workflow, run_cli, split, templates, validate_argo

pytest.importorskip("airflow.providers.cncf.kubernetes")

PODS = DATA / "kpo" / "pods.py"
THROUGH_AIRFLOW = {"keyed", "retry_alerted", "gke"}
RENDERED = "templated"
LABELLED = "labelled"  # rendered too: its label value


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(PODS, tmp_path_factory.mktemp("kpo") / "out")


@pytest.fixture(scope="module")
def dag() -> Any:
    return load_dagbag(PODS).dags["kpo_pods"]


def provider_pod(task: Any) -> dict[str, Any]:
    """The pod the provider builds for `task`, as the API's JSON (namespace given: no connection asked)."""
    from kubernetes.client import ApiClient

    op = copy.deepcopy(task)
    op.namespace = op.namespace or "default"
    result: dict[str, Any] = ApiClient().sanitize_for_serialization(op.build_pod_request_obj(dry_run=True))
    return result


def argo_pod(template: dict[str, Any]) -> dict[str, Any]:
    """The pod Argo makes of a container template (workflowpod.go createWorkflowPod), minus Argo's own
    parts (its init and wait containers, its volumes and labels, the emissary command wrapper)."""
    spec: dict[str, Any] = {"containers": [{"name": "main", **template["container"]}, *template.get("sidecars", [])]}
    for key in ("initContainers", "volumes", "nodeSelector", "affinity", "tolerations", "serviceAccountName",
                "priorityClassName", "schedulerName", "hostAliases", "securityContext"):
        if key in template:
            spec[key] = template[key]
    if "activeDeadlineSeconds" in template:
        spec["activeDeadlineSeconds"] = int(template["activeDeadlineSeconds"])
    spec.update(json.loads(template.get("podSpecPatch", "{}")))  # no list of these exists before the patch
    return {"metadata": template.get("metadata", {}), "spec": spec}


def normalised(pod: dict[str, Any], base: str) -> dict[str, Any]:
    """`pod` without what is left out on purpose (see the module docstring)."""

    def container(c: dict[str, Any]) -> dict[str, Any]:
        kept = {k: v for k, v in c.items() if v not in ([], {}) and CONTAINER_DEFAULTS.get(k) != v}
        if kept.get("name") == base:
            kept["name"] = "main"
        return kept

    metadata = pod.get("metadata", {})
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k not in PROVIDER_LABELS}
    spec = {
        k: v
        for k, v in pod["spec"].items()
        if v not in ([], {}, None) and SPEC_DEFAULTS.get(k) != v and k != "restartPolicy"
    }
    for key in ("containers", "initContainers"):
        if key in spec:
            spec[key] = [container(c) for c in spec[key] if c["name"] != XCOM_SIDECAR]
    spec.setdefault("securityContext", {})
    # The provider names a Secret's volume `secretvol<uuid4>`, new each time: compared by position.
    names = {v["name"]: f"secretvol#{i}" for i, v in enumerate(spec.get("volumes", [])) if v["name"].startswith("secretvol")}
    text = json.dumps(spec)
    for old, new in names.items():
        text = text.replace(f'"{old}"', f'"{new}"')
    spec = json.loads(text)
    return {"labels": labels, "annotations": metadata.get("annotations") or {}, "spec": spec}


def test_every_native_template_makes_the_pod_the_provider_builds(out: Path, dag: Any) -> None:
    workflow = load_workflow(out)
    tasks, by_name = dag_tasks(workflow), templates(workflow)
    native = [task for task in dag.tasks if task.task_id not in THROUGH_AIRFLOW | {RENDERED, LABELLED}]
    assert len(native) == 13
    for task in native:
        template = by_name[tasks[argo_name(task.task_id)]["template"]]
        assert template["name"] == f"pod-{argo_name(task.task_id)}"
        if "dag" in template:  # skip_on_exit_code, callbacks: the pod is its `pod` step's
            template = by_name[template["name"] + "-run"]
        assert "bridge-task" not in json.dumps(template), task.task_id
        want = normalised(provider_pod(task), task.base_container_name)
        assert normalised(argo_pod(template), "main") == want, task.task_id
    # The corpus does exercise what it names: each kind of field reaches some template.
    seen = json.dumps([by_name[f"pod-{argo_name(t.task_id)}"] for t in native])
    for field in ("sidecars", "initContainers", "podSpecPatch", "affinity", "tolerations", "configMap", "emptyDir",
                  "secretKeyRef", "envFrom", "fieldRef", "serviceAccountName", "priorityClassName", "nvidia.com/gpu"):
        assert field in seen, field
    assert by_name["pod-pushes"]["outputs"]["parameters"][0]["valueFrom"]["path"] == XCOM_FILE
    validate_argo(workflow)


def test_tasks_that_need_airflow_keep_running_through_it(out: Path) -> None:
    workflow = load_workflow(out)
    tasks, by_name = dag_tasks(workflow), templates(workflow)
    for task_id in THROUGH_AIRFLOW:
        assert by_name[tasks[argo_name(task_id)]["template"]]["container"]["command"] == ["bridge-task"], task_id
    result = run_cli("split", str(PODS), "-o", str(out.parent / "again"))
    reasons = [line for line in result.output.splitlines() if "runs through Airflow" in line]
    assert len(reasons) == 3, result.output
    assert any("'gke'" in line and "another cluster" in line for line in reasons), reasons
    assert any("'keyed'" in line and "templated keys in labels" in line for line in reasons), reasons


def test_a_templated_pod_is_rendered_first_then_runs_natively(out: Path) -> None:
    """Its DAG task is a DAG of two steps: bridge-task renders (no pod started), then the pod runs
    with the rendered pod as its podSpecPatch and the rendered image; nothing templated stays."""
    workflow = load_workflow(out)
    by_name = templates(workflow)
    outer = by_name[dag_tasks(workflow)[RENDERED]["template"]]
    render, pod = outer["dag"]["tasks"]
    assert by_name[render["template"]]["container"]["args"][-1] == "--render-pod"
    assert pod["depends"] == "render"
    run = by_name[pod["template"]]
    assert run["podSpecPatch"] == "{{inputs.parameters.pod}}"
    assert run["container"]["image"] == "{{inputs.parameters.image}}" and "args" not in run["container"]
    assert run["container"]["command"] == ["echo"]
    # A templated label value is an input of the pod's metadata, from the render step's outputs.
    labelled = by_name[dag_tasks(workflow)[LABELLED]["template"]]
    step = labelled["dag"]["tasks"][1]
    assert by_name[step["template"]]["metadata"]["labels"] == {"day": "{{inputs.parameters.m0}}"}
    assert {"name": "m0", "value": "{{tasks.render.outputs.parameters.m0}}"} in step["arguments"]["parameters"]


def test_a_pod_that_can_skip_itself_records_the_skip_in_a_no_op_step(out: Path) -> None:
    """skip_on_exit_code: the task's DAG runs the pod, then a `skip` step (no pod) exactly when the
    container's exit code is a skip code; the DAG's `s` output says skipped then, and a skip code
    ends the retries (Airflow does not retry a skip)."""
    workflow = load_workflow(out)
    by_name = templates(workflow)
    outer = by_name[dag_tasks(workflow)["skips"]["template"]]
    pod, skip = outer["dag"]["tasks"]
    assert skip["depends"] == "pod.Succeeded || pod.Failed" and skip["when"].endswith("=~ '^(3|100)$'")
    assert by_name[skip["template"]] == {"name": "kpo-skipped", "suspend": {"duration": "0"}}
    assert by_name[pod["template"]]["retryStrategy"]["expression"] == "lastRetry.exitCode not in ['3', '100']"
    assert [p["name"] for p in outer["outputs"]["parameters"]] == ["s"]


def test_native_pods_read_no_state_outputs(out: Path) -> None:
    """A native pod writes no outputs: its downstream's conditions read its phase only."""
    workflow = load_workflow(out)
    text = json.dumps(workflow["spec"]["templates"][0])
    assert "tasks.plain.outputs" not in text and "tasks.resources.outputs" not in text
    assert "outputs" not in templates(workflow)["pod-plain"]


def dag_of(tmp_path: Path, dag_id: str, body: str) -> Path:
    """A DAG file `dag_id` of `body` (its tasks, indented), with the corpus's imports."""
    dag_file = tmp_path / f"{dag_id}.py"
    dag_file.write_text(PODS.read_text().split("with DAG(")[0]
                        + f'with DAG("{dag_id}", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):\n' + body)
    return dag_file


def test_a_pod_field_argo_cannot_carry_is_a_located_error(tmp_path: Path) -> None:
    dag_file = dag_of(tmp_path, "debugging",
        '    KubernetesPodOperator(task_id="again", image="alpine:3.20", cmds=["true"],\n'
        + '        full_pod_spec=k8s.V1Pod(spec=k8s.V1PodSpec(containers=[k8s.V1Container(name="base")],'
        + ' ephemeral_containers=[k8s.V1EphemeralContainer(name="debug", image="busybox")])))\n')
    result = run_cli("split", str(dag_file), "-o", str(tmp_path / "out"))
    assert result.exit_code != 0
    assert str(dag_file) in result.output and "task 'again'" in result.output and "spec.ephemeralContainers" in result.output
    assert not (tmp_path / "out").exists()


def test_many_pods_with_one_note_get_one_line(tmp_path: Path) -> None:
    """Ninety pods naming one namespace (as in real repositories) make one line, not ninety."""
    dag_file = dag_of(tmp_path, "many", '    for n in range(90):\n'
                      '        KubernetesPodOperator(task_id=f"pod_{n}", image="alpine:3.20", cmds=["true"], namespace="batch")\n')
    result = run_cli("split", str(dag_file), "-o", str(tmp_path / "out"))
    lines = [line for line in result.output.splitlines() if "namespace 'batch' is not used" in line]
    assert result.exit_code == 0 and len(lines) == 1, result.output
    assert "90 tasks 'pod_0', 'pod_1', 'pod_10' … (KubernetesPodOperator)" in lines[0], lines


def test_the_pod_template_file_is_not_linted_as_a_manifest(out: Path) -> None:
    assert yaml.safe_load((out / "sources" / "pod_template.yaml").read_text())["kind"] == "Pod"
    result = run_cli("lint", "--strict", str(out))
    assert result.exit_code == 0, result.output


def test_split_names_the_permissions_pod_in_pod_tasks_need(out: Path) -> None:
    """Tasks that still create their pods through the API: one note with the Role rules they need,
    and the Role emitted with exactly those, bound to the pods' ServiceAccount; native pods need none."""
    result = run_cli("split", str(PODS), "-o", str(out.parent / "rbac"), "--service-account", "etl-runner")
    (note,) = [line for line in result.output.splitlines() if "create their pods through the Kubernetes API" in line]
    assert "pods: create, get, list, delete, patch; pods/log: get; pods/exec: create, get; events: list" in note
    assert "'gke', 'keyed', 'retry_alerted'" in note and "rbac/kpo-pods-tasks.yaml grants" in note
    role, binding = yaml.safe_load_all((out.parent / "rbac" / "rbac" / "kpo-pods-tasks.yaml").read_text())
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "get", "list", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["list"]},
    ]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "etl-runner"}]
    assert "rbac/kpo-pods-tasks.yaml" in yaml.safe_load((out.parent / "rbac" / "kustomization.yaml").read_text())["resources"]
    native = run_cli("split", str(DATA / "kpo" / "skip_pods.py"), "-o", str(out.parent / "native"))
    assert native.exit_code == 0 and not (out.parent / "native" / "rbac").exists(), native.output
