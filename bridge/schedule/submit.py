"""`bridge submit`: date a run with Airflow's timetable and create its Workflow through the Kubernetes API."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable

from bridge.dates import run_id
from bridge.errors import ScheduleError
from bridge.model import ASSETS, POLL, ScheduleSpec
from bridge.schedule.runs import Run, dag_id_of, read_workflow, schedule_of, workflow_for_run

UTC = timezone.utc  # noqa: UP017  (Python 3.9)
GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
_JOB_SUFFIX = re.compile(r"-(\d{8,})$")  # CronJob controller: <cronjob>-<scheduled time in minutes since epoch>
_SA_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def parse_time(value: str, what: str = "time") -> datetime:
    """A date or date-time (YYYYMMDD, YYYY-MM-DD, ISO; naive = UTC) as an aware UTC datetime."""
    from bridge.dates import parse_run_date

    try:
        return parse_run_date(value)
    except ValueError as exc:
        raise ScheduleError(str(exc).replace("run date", what)) from None


def logical_run(spec: ScheduleSpec, fire: datetime, kind: str = "scheduled") -> Run:
    """The run Airflow's scheduler starts at `fire`: its timetable's latest run due by then."""
    from bridge.airflow import timetables

    info = timetables.run_due_at(spec, fire)
    if info is None or info.logical_date is None:
        raise ScheduleError(
            f"no run is due at {fire.isoformat()} by the DAG's timetable (before its start_date "
            f"{spec.start_date or 'unset'}, or it has no time-based runs)"
        )
    logical = info.logical_date.astimezone(UTC)
    return Run(logical_date=logical, run_id=run_id(kind, logical), scheduled_time=fire)


def scheduled_time_from_job(api: Any, namespace: str, job_name: str) -> datetime | None:
    """The Job's scheduled-timestamp annotation (Kubernetes >= 1.28), else the time in its name."""
    if job_name:
        try:
            from kubernetes import client

            job = client.BatchV1Api(api).read_namespaced_job(job_name, namespace)
            stamp = (job.metadata.annotations or {}).get(SCHEDULED_TIMESTAMP)
            if stamp:
                return parse_time(stamp, "scheduled time")
        except Exception as exc:  # no RBAC, no API: fall back, but say why
            print(f"bridge: cannot read Job {job_name!r} ({type(exc).__name__}); using its name", file=sys.stderr)
        match = _JOB_SUFFIX.search(job_name)
        if match:
            return datetime.fromtimestamp(int(match.group(1)) * 60, UTC)
    return None


def cronjob_of_job(api: Any, namespace: str, job_name: str) -> Any | None:
    """The CronJob that started this Job (its owner), or None when unknown (no Job name, no owner,
    no RBAC or API: then said on stderr, and the caller does without)."""
    if not job_name:
        return None
    try:
        from kubernetes import client

        batch = client.BatchV1Api(api)
        owners = batch.read_namespaced_job(job_name, namespace).metadata.owner_references or []
        cron = next((owner.name for owner in owners if owner.kind == "CronJob"), None)
        return None if cron is None else batch.read_namespaced_cron_job(cron, namespace)
    except Exception as exc:  # no RBAC, no API: say why
        print(f"bridge: cannot read the CronJob of Job {job_name!r} ({type(exc).__name__})", file=sys.stderr)
        return None


def last_success_of_cronjob(api: Any, namespace: str, job_name: str) -> datetime | None:
    """When the Job's CronJob last completed a Job (`status.lastSuccessfulTime`, Kubernetes >= 1.25):
    the previous fire that did its work, which Kubernetes keeps even when Workflows are deleted
    (a TTL, an archive); None when unknown (the Workflows alone decide)."""
    cron = cronjob_of_job(api, namespace, job_name)
    done = None if cron is None or cron.status is None else cron.status.last_successful_time
    return None if done is None else done.astimezone(UTC)


def choose_run(
    workflow: dict[str, Any],
    path: str,
    *,
    run_date: str | None,
    scheduled_time: str | None,
    from_cronjob: bool,
    api_factory: Callable[[], Any],
    namespace: str,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Run]:
    """The runs to start, from exactly one of --run-date, --scheduled-time, --from-cronjob: one, or
    none when a CronJob polling a timetable fires while no run is due, or with catchup=True every
    run due since the DAG's latest scheduled run (docs/SCHEDULES.md, "Catchup")."""
    given = [flag for flag, value in (("--run-date", run_date), ("--scheduled-time", scheduled_time), ("--from-cronjob", from_cronjob)) if value]
    if len(given) != 1:
        raise ScheduleError("pass exactly one of --run-date, --scheduled-time and --from-cronjob")
    if run_date:
        logical = parse_time(run_date, "run date")
        return [Run(logical_date=logical, run_id=run_id("manual", logical))]
    spec = schedule_of(workflow, path)
    label = str(workflow["metadata"].get("labels", {}).get("bridge.dev/dag", ""))
    triggered: list[Run] = []
    if spec.semantics == ASSETS:
        if scheduled_time:
            raise ScheduleError(f"DAG {dag_id_of(workflow)!r} is scheduled on assets: its CronJob starts runs "
                                "(--from-cronjob) when their condition is met; pass --run-date for a manual run")
        from bridge.schedule import assets

        api = api_factory()
        triggered = assets.runs_due(spec, api, namespace, label, os.environ.get("BRIDGE_JOB_NAME", ""), now())
        if not spec.timetable.endswith("OrTimeSchedule"):
            return triggered
        spec = replace(spec, semantics=POLL)  # its timetable's runs too: polled as any other timetable's
    if scheduled_time:
        return [logical_run(spec, parse_time(scheduled_time, "scheduled time"))]
    return triggered + _time_runs(workflow, spec, label, api_factory, namespace, now)


def _time_runs(workflow: dict[str, Any], spec: ScheduleSpec, label: str, api_factory: Callable[[], Any], namespace: str,
               now: Callable[[], datetime]) -> list[Run]:
    """--from-cronjob for a time-based schedule: the due run, or with catchup every run due since
    the DAG's latest scheduled run (docs/SCHEDULES.md, "Catchup")."""
    from bridge.airflow import timetables

    api = api_factory()
    fire = scheduled_time_from_job(api, namespace, os.environ.get("BRIDGE_JOB_NAME", ""))
    if fire is None:  # never "now": the latest time the schedule fired, so a late Job keeps its date
        fire = timetables.latest_fire_time(spec, now())
        if fire is None:
            raise ScheduleError(f"no run of DAG {dag_id_of(workflow)!r} is due yet (start_date {spec.start_date})")
    try:
        latest = latest_scheduled(api, namespace, label)
    except Exception as exc:  # no list permission: start only the latest due run, as before catchup
        print(f"bridge: warning: cannot list the DAG's Workflows ({type(exc).__name__}: {exc}); starting only the "
              "latest due run (re-apply the CronJob's Role from bridge split for catchup)", file=sys.stderr)
        start = timetables.anchored(spec, None, fire)
        return [due] if start is not None and (due := due_run(start, fire)) is not None else []
    # Workflows may be gone (a TTL deletes finished ones): the run due when the CronJob last did its
    # work was started then, so nothing before it is started again.
    done = last_success_of_cronjob(api, namespace, os.environ.get("BRIDGE_JOB_NAME", ""))
    return runs_at_fire(spec, fire, latest, done)


def runs_at_fire(spec: ScheduleSpec, fire: datetime, latest: datetime | None, done: datetime | None = None) -> list[Run]:
    """The runs a CronJob fire at `fire` starts, given the DAG's latest scheduled run (`latest`, its
    logical date) and when the CronJob last succeeded (`done`): with catchup every run due since,
    else the latest due (docs/SCHEDULES.md, "Catchup"). Without a start_date, runs are laid from
    the DAG's latest run, or from this fire when it has none ("Other timetables")."""
    from bridge.airflow import timetables

    start = timetables.anchored(spec, latest, fire)
    if start is None:
        return []
    spec = start
    started = due_run(spec, min(done, fire)) if done is not None else None
    if started is not None and (latest is None or started.logical_date > latest):
        latest = started.logical_date
    if spec.catchup:
        runs, more = catchup_runs(spec, fire, latest)
        if more:
            print(f"bridge: warning: more than {CATCHUP_CAP} runs are due (catchup); this fire starts the oldest "
                  f"{CATCHUP_CAP}, the next fires the rest", file=sys.stderr)
        return runs
    return no_catchup_runs(spec, fire, latest)


def no_catchup_runs(spec: ScheduleSpec, fire: datetime, latest: datetime | None) -> list[Run]:
    """catchup=False: the latest run due by `fire`, and, after missed fires, also the run that was
    next after the latest scheduled one, as Airflow's scheduler does: it had computed that run when
    it created the previous one and creates it first; only the run after it skips to the latest."""
    due = due_run(spec, fire) if spec.semantics == POLL else logical_run(spec, fire)
    runs = [] if due is None else [due]
    if latest is not None:
        runs += catchup_runs(spec, fire, latest, limit=1)[0]
    unique = {run.logical_date: run for run in runs}
    return [unique[date] for date in sorted(unique)]


CATCHUP_CAP = 100  # runs one fire creates at most; the next fire goes on (they queue on the DAG's run lock)


def catchup_runs(spec: ScheduleSpec, fire: datetime, latest: datetime | None, limit: int = CATCHUP_CAP) -> tuple[list[Run], bool]:
    """catchup=True: every run due by `fire` after the latest scheduled run (`latest`, its logical
    date; None: there is none yet), oldest first, at most `limit`; and whether more are due."""
    from bridge.airflow import timetables

    infos = timetables.runs_due_after(spec, latest, fire, limit)
    runs = [Run(logical_date=i.logical_date.astimezone(UTC), run_id=run_id("scheduled", i.logical_date.astimezone(UTC)),
                scheduled_time=fire) for i in infos[:limit]]
    return runs, len(infos) > limit


def latest_scheduled(api: Any, namespace: str, dag_label: str) -> datetime | None:
    """The logical date of the DAG's latest scheduled run in the namespace (Workflows bridge submit
    started from a schedule: they carry bridge.dev/scheduled-time), as Airflow's scheduler reads
    its last automated run; manual and backfill runs do not count."""
    from kubernetes import client

    listed = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, label_selector=f"bridge.dev/dag={dag_label}"
    )  # ApiException 403 when the Role lacks list (split by an older bridge): choose_run falls back
    dates = [
        parse_time(notes["bridge.dev/logical-date"], "logical date")
        for item in listed.get("items", [])
        for notes in [item.get("metadata", {}).get("annotations") or {}]
        if "bridge.dev/scheduled-time" in notes and "bridge.dev/logical-date" in notes
    ]
    return max(dates, default=None)


def due_run(spec: ScheduleSpec, fire: datetime) -> Run | None:
    """The latest run due at `fire`, or None when the timetable has none due yet (a fire before its first run)."""
    try:
        return logical_run(spec, fire)
    except ScheduleError:
        return None


def default_namespace(workflow: dict[str, Any], namespace: str | None) -> str:
    """--namespace, else the Workflow's, else $BRIDGE_NAMESPACE, else the pod's, else 'default'."""
    if namespace:
        return namespace
    found = workflow.get("metadata", {}).get("namespace") or os.environ.get("BRIDGE_NAMESPACE")
    if found:
        return str(found)
    if os.path.exists(_SA_NAMESPACE):
        with open(_SA_NAMESPACE, encoding="utf-8") as handle:
            return handle.read().strip() or "default"
    return "default"


def kube_api() -> Any:
    """An ApiClient from the pod's service account, else from the kubeconfig ($KUBECONFIG)."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()
    except config.ConfigException:
        try:
            config.load_kube_config(config_file=os.environ.get("KUBECONFIG"))  # the client reads it once, at import
        except Exception as exc:
            raise ScheduleError(
                f"no Kubernetes credentials: not in a pod and no usable kubeconfig ({exc}); "
                "set KUBECONFIG, or use --dry-run"
            ) from None
    return client.ApiClient()


@dataclass(frozen=True)
class Submitted:
    """What happened to one run."""

    name: str
    namespace: str
    created: bool  # False: a Workflow of that name existed (the run was started before)


def create_workflow(api: Any, body: dict[str, Any], namespace: str) -> Submitted:
    """Create the Workflow; an existing one of the same name means the run already started."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    name = body["metadata"]["name"]
    try:
        client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    except ApiException as exc:
        if exc.status == 409:
            return Submitted(name, namespace, created=False)
        reason = exc.reason or ""
        if exc.status == 403:
            reason += "; grant the submitting account create on workflows.argoproj.io (README: RBAC)"
        if exc.status == 404:
            reason += "; is Argo Workflows installed (its CRDs) in this cluster?"
        raise ScheduleError(f"creating Workflow {name!r} in namespace {namespace!r} failed: {exc.status} {reason}") from None
    return Submitted(name, namespace, created=True)


def count_active(api: Any, namespace: str, dag_label: str) -> int:
    """Workflows of this DAG that Argo has not completed yet."""
    from kubernetes import client

    listed = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        label_selector=f"bridge.dev/dag={dag_label},workflows.argoproj.io/completed!=true",
    )
    return len(listed.get("items", []))


# Where bridge.emit.image copies a project's plugins/ folder in the image.
IMAGE_PLUGINS = "/opt/bridge/plugins"


def plugin_folders(workflow_path: str) -> list[str]:
    """The project's plugins folders that exist: the split output's (`<output>/workflows/x.yaml` ->
    `<output>/plugins`), then the image's (a CronJob's pod reads its Workflow from a ConfigMap)."""
    output = os.path.dirname(os.path.dirname(os.path.abspath(workflow_path)))
    return [folder for folder in (os.path.join(output, "plugins"), IMAGE_PLUGINS) if os.path.isdir(folder)]


def prepare(
    path: str,
    *,
    run_date: str | None,
    scheduled_time: str | None,
    from_cronjob: bool,
    namespace: str | None,
    api_factory: Callable[[], Any] = kube_api,
) -> tuple[list[dict[str, Any]], str]:
    """The Workflow objects to create, oldest first (none: no run is due), and their namespace (no
    API call unless --from-cronjob)."""
    workflow = read_workflow(path)
    from bridge.airflow import timetables

    # A custom timetable is a plugin of the project: importable from the image, or the split output.
    timetables.use_plugin_folders(plugin_folders(path))
    target = default_namespace(workflow, namespace)
    runs = choose_run(
        workflow,
        path,
        run_date=run_date,
        scheduled_time=scheduled_time,
        from_cronjob=from_cronjob,
        api_factory=api_factory,
        namespace=target,
    )
    return [workflow_for_run(workflow, run, namespace) for run in runs], target
