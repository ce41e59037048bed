"""`bridge submit` and `bridge backfill`: goldens of --dry-run, and the Kubernetes API path against a
small in-process fake of the API server (the official client, a kubeconfig, real HTTP; no cluster)."""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, airflow_major, run_cli, split, validate_argo

REGENERATE = os.environ.get("BRIDGE_REGEN_GOLDEN") == "1"
GOLDEN = ROOT / "tests" / "golden" / f"airflow-{airflow_major()}" / "schedule"
ETL = ROOT / "examples" / "etl" / "etl.py"
DAG_FILE = Path(__file__).parent / "data" / "schedules.py"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with BRIDGE_REGEN_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


@pytest.fixture(scope="module")
def etl_workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split(ETL, tmp_path_factory.mktemp("etl") / "out") / "workflows" / "etl.yaml"


def test_submit_dry_run_golden(etl_workflow: Path) -> None:
    result = run_cli("submit", str(etl_workflow), "--scheduled-time", "2024-01-02T00:00:00Z", "--dry-run")
    assert result.exit_code == 0, result.output
    body = yaml.safe_load(result.output)
    validate_argo(body)
    expected = "2024-01-01" if airflow_major() == 2 else "2024-01-02"
    assert body["metadata"]["name"] == f"etl-{expected.replace('-', '')}000000"
    check_golden("submit-etl.yaml", result.output)


def test_submit_run_date_is_manual(etl_workflow: Path) -> None:
    result = run_cli("submit", str(etl_workflow), "--run-date", "20240105", "--dry-run", "--namespace", "team")
    body = yaml.safe_load(result.output)
    parameters = {p["name"]: p.get("value") for p in body["spec"]["arguments"]["parameters"]}
    assert parameters["run-date"] == "2024-01-05T00:00:00+00:00"
    assert parameters["run-id"] == "manual__2024-01-05T00:00:00+00:00"
    assert body["metadata"]["namespace"] == "team" and "generateName" not in body["metadata"]


def test_submit_needs_exactly_one_date(etl_workflow: Path) -> None:
    result = run_cli("submit", str(etl_workflow), "--dry-run")
    assert result.exit_code == 1 and "exactly one of" in result.output


def test_backfill_dry_run_golden() -> None:
    result = run_cli("backfill", str(DAG_FILE), "--dag-id", "paris_weekdays", "--start", "2024-03-27", "--end", "2024-04-03")
    assert result.exit_code == 0, result.output
    check_golden("backfill-paris-weekdays.txt", result.output)


def test_backfill_workflow_fans_out(tmp_path: Path) -> None:
    out = tmp_path / "backfill.yaml"
    result = run_cli("backfill", str(ETL), "--start", "2024-01-01", "--end", "2024-01-05", "--max-active", "2", "--workflow-out", str(out))
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load(out.read_text())
    validate_argo(workflow)
    fan_out = workflow["spec"]["templates"][0]
    assert fan_out["parallelism"] == 2 and len(fan_out["steps"][0][0]["withItems"]) == 5
    assert "workflow.parameters.run-date" not in out.read_text()
    # Every task template gets run-date/run-id, also from DAG tasks with no other argument (greet).
    from bridge.lint import lint_files

    errors = [str(f) for f in lint_files({"backfill.yaml": out.read_bytes()}).errors()]
    assert errors == []  # withItems entries are objects, which Argo's model types as [dict]
    main = next(t for t in workflow["spec"]["templates"] if t["name"] == "main")
    greet = next(t for t in main["dag"]["tasks"] if t["name"] == "greet")
    assert [p["name"] for p in greet["arguments"]["parameters"]] == ["run-date", "run-id"]


@pytest.mark.parametrize(("dag", "lock"), [
    ("concurrency_dag.py", {"semaphores": [{"configMapKeyRef": {"name": "bridge-dag-concurrency", "key": "max-active-runs"}}]}),
    ("serial_dag.py", {"mutexes": [{"name": "bridge-dag-serial"}]}),
])
def test_backfill_workflow_takes_the_run_lock_per_date(dag: str, lock: dict, tmp_path: Path) -> None:
    out = tmp_path / "backfill.yaml"
    dag_file = ROOT / "tests" / "data" / "dags" / dag
    result = run_cli("backfill", str(dag_file), "--start", "2024-01-01", "--end", "2024-01-04", "--max-active", "4",
                     "--workflow-out", str(out))
    assert result.exit_code == 0, result.output
    workflow = yaml.safe_load(out.read_text())
    validate_argo(workflow)
    # Each date's DAG node holds the lock scheduled runs hold, so the dates queue with them, not as one run.
    assert "synchronization" not in workflow["spec"]
    main = next(t for t in workflow["spec"]["templates"] if "dag" in t)
    assert main["synchronization"] == lock


# ------------------------------------------------------------------------------ fake API server


class FakeKube:
    """Just enough of the Kubernetes API: Workflows (create, list, get, delete), WorkflowTemplates,
    Jobs and CronJobs (get)."""

    def __init__(self) -> None:
        self.workflows: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.cronjobs: dict[str, dict[str, Any]] = {}
        self.forbid_list = False  # a Role without list (split by an older bridge)
        self.forbid_get = False  # a Role without get (a task's ServiceAccount without the permission)
        self.requests: list[tuple[str, str]] = []


def _handler(kube: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            kube.requests.append(("POST", self.path))
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = body["metadata"]["name"]
            if name in kube.workflows:
                self._send(409, {"kind": "Status", "reason": "AlreadyExists", "code": 409})
                return
            kube.workflows[name] = body
            self._send(201, body)

        def _named(self, kind: str) -> str | None:
            """The object name of a path `…/<kind>/<name>`, None for another path."""
            path = urllib.parse.urlsplit(self.path).path
            head, _, name = path.rpartition("/")
            return name if head.endswith(f"/{kind}") else None

        def do_DELETE(self) -> None:  # noqa: N802
            kube.requests.append(("DELETE", self.path))
            name = self._named("workflows")
            if name in kube.workflows:
                self._send(200, kube.workflows.pop(name))
            else:
                self._send(404, {"kind": "Status", "code": 404})

        def do_GET(self) -> None:  # noqa: N802
            kube.requests.append(("GET", self.path))
            for kind, store in (("workflows", kube.workflows), ("workflowtemplates", kube.templates)):
                name = self._named(kind)
                if name is not None:
                    if kube.forbid_get:
                        self._send(403, {"kind": "Status", "reason": "Forbidden", "code": 403})
                    elif name in store:
                        self._send(200, store[name])
                    else:
                        self._send(404, {"kind": "Status", "code": 404})
                    return
            if "/workflows" in self.path:
                # A label selector on the DAG alone lists its Workflows; with `completed!=true` (the active
                # ones, backfill's wait) none: every run here has finished.
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                selector = query.get("labelSelector", [""])[0]
                if kube.forbid_list:
                    self._send(403, {"kind": "Status", "reason": "Forbidden", "code": 403})
                    return
                items = []
                if selector.startswith("bridge.dev/dag=") and "," not in selector:
                    dag = selector.split("=", 1)[1]
                    items = [w for w in kube.workflows.values() if w["metadata"].get("labels", {}).get("bridge.dev/dag") == dag]
                elif selector and "=" not in selector and "," not in selector:  # a label's existence
                    items = [w for w in kube.workflows.values() if selector in w["metadata"].get("labels", {})]
                self._send(200, {"items": items})
            elif "/cronjobs/" in self.path:
                name = self.path.rsplit("/", 1)[-1]
                if name in kube.cronjobs:
                    self._send(200, kube.cronjobs[name])
                else:
                    self._send(404, {"kind": "Status", "code": 404})
            elif "/jobs/" in self.path:
                name = self.path.rsplit("/", 1)[-1]
                if name in kube.jobs:
                    self._send(200, kube.jobs[name])
                else:
                    self._send(404, {"kind": "Status", "code": 404})
            else:
                self._send(404, {"kind": "Status", "code": 404})

    return Handler


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKube]:
    fake = FakeKube()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
        "current-context": "x",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    yield fake
    server.shutdown()


def test_submit_creates_once(kube: FakeKube, etl_workflow: Path) -> None:
    args = ("submit", str(etl_workflow), "--scheduled-time", "2024-01-02T00:00:00Z", "--namespace", "team")
    first = run_cli(*args)
    assert first.exit_code == 0, first.output
    assert "created" in first.output
    again = run_cli(*args)  # a retried CronJob: same name, nothing started twice
    assert again.exit_code == 0 and "exists already" in again.output
    assert len(kube.workflows) == 1
    assert kube.requests[0] == ("POST", "/apis/argoproj.io/v1alpha1/namespaces/team/workflows")


def test_submit_from_cronjob_reads_the_job_annotation(kube: FakeKube, etl_workflow: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kube.jobs["etl-28403000"] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "etl-28403000", "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2024-01-03T00:00:00Z"}},
    }
    monkeypatch.setenv("BRIDGE_JOB_NAME", "etl-28403000")
    monkeypatch.setenv("BRIDGE_NAMESPACE", "team")
    result = run_cli("submit", str(etl_workflow), "--from-cronjob")
    assert result.exit_code == 0, result.output
    (body,) = kube.workflows.values()
    assert body["metadata"]["annotations"]["bridge.dev/scheduled-time"] == "2024-01-03T00:00:00+00:00"
    expected = "2024-01-02" if airflow_major() == 2 else "2024-01-03"
    assert body["metadata"]["annotations"]["bridge.dev/logical-date"].startswith(expected)


def test_submit_from_cronjob_falls_back_to_the_job_name(kube: FakeKube, etl_workflow: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    minutes = 1704240000 // 60  # 2024-01-03T00:00:00Z, as the CronJob controller names its Jobs
    monkeypatch.setenv("BRIDGE_JOB_NAME", f"etl-{minutes}")
    monkeypatch.setenv("BRIDGE_NAMESPACE", "team")
    result = run_cli("submit", str(etl_workflow), "--from-cronjob")
    assert result.exit_code == 0, result.output
    (body,) = kube.workflows.values()
    assert body["metadata"]["annotations"]["bridge.dev/scheduled-time"] == "2024-01-03T00:00:00+00:00"


def test_backfill_submit_uses_deterministic_names(kube: FakeKube) -> None:
    args = ("backfill", str(ETL), "--start", "2024-01-01", "--end", "2024-01-03", "--submit", "--max-active", "2")
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert sorted(kube.workflows) == ["etl-20240101000000", "etl-20240102000000", "etl-20240103000000"]
    assert run_cli(*args).exit_code == 0  # repeated: nothing new
    assert len(kube.workflows) == 3
    listed = [path for method, path in kube.requests if method == "GET"]
    assert listed and "labelSelector=bridge.dev" in listed[0]



# bridge split's own options, all non-default: every backfill mode must start the Workflow they give.
CONCURRENCY = ROOT / "tests" / "data" / "dags" / "concurrency_dag.py"
SPLIT_OPTIONS = ("--image", "registry.example.com/concurrency:7", "--namespace", "team", "--gcp-key-secret", "gcp-key",
                 "--pool-slots", "api=3")
RUN_PARAMETERS = ("run-date", "run-id")


def _without_run_wiring(workflow: dict[str, Any]) -> dict[str, Any]:
    """The Workflow without what says where a run's date comes from: the backfill's fan-out, the
    run-date/run-id parameters, inputs and references, the run lock's place and generateName."""
    text = json.dumps(workflow)
    for name in RUN_PARAMETERS:
        for scope in ("workflow.parameters", "inputs.parameters"):
            text = text.replace(f"{{{{{scope}.{name}}}}}", f"<{name}>")
    document = json.loads(text)
    document["metadata"].pop("generateName")
    spec = document["spec"]
    for key in ("entrypoint", "synchronization"):
        spec.pop(key, None)
    kept = [p for p in spec.pop("arguments", {}).get("parameters", []) if p["name"] not in RUN_PARAMETERS]
    if kept:
        spec["arguments"] = {"parameters": kept}
    spec["templates"] = [t for t in spec["templates"] if t["name"] != "backfill"]
    for template in spec["templates"]:
        if "dag" in template:
            template.pop("synchronization", None)
            template.pop("inputs", None)
            for task in template["dag"]["tasks"]:
                params = [p for p in task.pop("arguments", {}).get("parameters", []) if p["name"] not in RUN_PARAMETERS]
                if params:
                    task["arguments"] = {"parameters": params}
        if "container" in template:
            inputs = template["inputs"]["parameters"]
            template["inputs"]["parameters"] = [p for p in inputs if p["name"] not in RUN_PARAMETERS]
    return document


def test_backfill_workflow_out_is_the_splits_workflow(tmp_path: Path) -> None:
    split_workflow = yaml.safe_load((split(CONCURRENCY, tmp_path / "out", *SPLIT_OPTIONS) / "workflows" / "concurrency.yaml").read_text())
    out = tmp_path / "backfill.yaml"
    result = run_cli("backfill", str(CONCURRENCY), "--start", "2024-01-01", "--end", "2024-01-02", "--workflow-out", str(out),
                     *SPLIT_OPTIONS)
    assert result.exit_code == 0, result.output
    backfill = yaml.safe_load(out.read_text())
    validate_argo(backfill)
    images = {t["container"]["image"] for t in backfill["spec"]["templates"] if "container" in t}
    assert images == {"registry.example.com/concurrency:7"} and backfill["metadata"]["namespace"] == "team"
    assert _without_run_wiring(backfill) == _without_run_wiring(split_workflow)


def test_backfill_submit_creates_the_splits_workflow(kube: FakeKube, tmp_path: Path) -> None:
    from bridge.schedule.runs import Run, read_workflow, workflow_for_run
    from bridge.schedule.submit import parse_time

    split_workflow = read_workflow(str(split(CONCURRENCY, tmp_path / "out", *SPLIT_OPTIONS) / "workflows" / "concurrency.yaml"))
    result = run_cli("backfill", str(CONCURRENCY), "--start", "2024-01-01", "--end", "2024-01-02", "--submit", "--max-active", "2",
                     *SPLIT_OPTIONS)
    assert result.exit_code == 0, result.output
    assert kube.workflows and all("/namespaces/team/" in path for method, path in kube.requests)
    for body in kube.workflows.values():
        logical = parse_time(body["metadata"]["annotations"]["bridge.dev/logical-date"])
        expected = workflow_for_run(split_workflow, Run(logical, f"backfill__{logical.isoformat()}"), "team")
        assert body == expected

LOCAL_BACKFILL_DAG = '''
import pendulum
from airflow import DAG
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator
with DAG("local_backfill", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily", catchup=False):
    BashOperator(task_id="record", bash_command='echo "{{ ds }} {{ run_id }}" >> "$BRIDGE_TEST_BACKFILL_OUT"')
'''


def test_backfill_local_runs_every_date_in_order_with_the_backfill_run_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dag_file = tmp_path / "local_backfill.py"
    dag_file.write_text(LOCAL_BACKFILL_DAG)
    out = tmp_path / "record.txt"
    monkeypatch.setenv("BRIDGE_TEST_BACKFILL_OUT", str(out))
    planned = run_cli("backfill", str(dag_file), "--start", "2024-01-01", "--end", "2024-01-03")
    assert planned.exit_code == 0, planned.output
    run_ids = [line.rsplit("run-id=", 1)[1] for line in planned.output.splitlines() if "run-id=" in line]
    assert len(run_ids) == 3
    result = run_cli("backfill", str(dag_file), "--start", "2024-01-01", "--end", "2024-01-03", "--local")
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines() == [
        f"{day} {run_id}" for day, run_id in zip(["2024-01-01", "2024-01-02", "2024-01-03"], run_ids)
    ]


def test_a_fire_after_missed_ones_catches_up_from_the_latest_scheduled_run(
    kube: FakeKube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """catchup=True: the Job lists the DAG's Workflows, finds its latest scheduled run and starts every
    run due since, oldest first; a retried Job starts nothing twice."""
    dag = tmp_path / "hourly_catchup.py"
    dag.write_text(
        "import pendulum\nfrom airflow import DAG\n"
        "try:\n    from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "except ImportError:\n    from airflow.operators.empty import EmptyOperator\n"
        "with DAG('hourly_catchup', start_date=pendulum.datetime(2024, 1, 1, tz='UTC'), schedule='@hourly', catchup=True):\n"
        "    EmptyOperator(task_id='work')\n"
    )
    workflow = split(dag, tmp_path / "out") / "workflows" / "hourly-catchup.yaml"
    role = next(d for d in yaml.safe_load_all((tmp_path / "out" / "cronjobs" / "hourly-catchup.yaml").read_text()) if d["kind"] == "Role")
    assert role["rules"][0]["verbs"] == ["create", "get", "list"] and role["rules"][1]["resources"] == ["jobs", "cronjobs"]
    monkeypatch.setenv("BRIDGE_NAMESPACE", "team")
    for job, stamp in (("hourly-catchup-1", "2024-01-01T03:00:00Z"), ("hourly-catchup-2", "2024-01-01T07:00:00Z")):
        kube.jobs[job] = {"apiVersion": "batch/v1", "kind": "Job",
                          "metadata": {"name": job, "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": stamp}}}
        monkeypatch.setenv("BRIDGE_JOB_NAME", job)
        result = run_cli("submit", str(workflow), "--from-cronjob")
        assert result.exit_code == 0, result.output
    again = run_cli("submit", str(workflow), "--from-cronjob")  # the second Job, retried
    assert again.exit_code == 0 and "created" not in again.output.replace("exists already", ""), again.output
    hours = sorted(w["metadata"]["annotations"]["bridge.dev/logical-date"][11:13] for w in kube.workflows.values())
    # Airflow's scheduler with catchup: every interval from the start_date, on both lines (Airflow 2
    # dates an hourly run by the interval that ended, Airflow 3 by its start).
    expected = ["00", "01", "02"] + ["03", "04", "05", "06"] if airflow_major() == 2 else ["00", "01", "02", "03", "04", "05", "06", "07"]
    assert hours == expected

    # A Role without list (an older split): only the latest due run, with a warning.
    kube.forbid_list = True
    late = run_cli("submit", str(workflow), "--from-cronjob")
    assert late.exit_code == 0 and "cannot list the DAG's Workflows" in late.output, late.output
    kube.forbid_list = False

    # A TTL deleted the finished Workflows; the CronJob remembers its last successful Job (07:00's):
    # the next fire starts only what is due since, not the day again.
    kube.workflows.clear()
    kube.cronjobs["hourly-catchup"] = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hourly-catchup"},
                                       "spec": {"schedule": "@hourly", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}},
                                       "status": {"lastSuccessfulTime": "2024-01-01T07:00:12Z"}}
    owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "hourly-catchup", "uid": "u1"}
    kube.jobs["hourly-catchup-3"] = {"apiVersion": "batch/v1", "kind": "Job",
                                     "metadata": {"name": "hourly-catchup-3", "ownerReferences": [owner],
                                                  "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": "2024-01-01T09:00:00Z"}}}
    monkeypatch.setenv("BRIDGE_JOB_NAME", "hourly-catchup-3")
    result = run_cli("submit", str(workflow), "--from-cronjob")
    assert result.exit_code == 0, result.output
    hours = sorted(w["metadata"]["annotations"]["bridge.dev/logical-date"][11:13] for w in kube.workflows.values())
    assert hours == (["07", "08"] if airflow_major() == 2 else ["08", "09"])
