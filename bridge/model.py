"""The neutral forms between loading, planning and emitting: plain frozen data, no Airflow."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from bridge.argo.versions import DEFAULT_VERSION, ArgoVersion
from bridge.constants import VERDICT_NAME


@dataclass(frozen=True)
class SourceTask:
    """One Airflow task as the loader saw it (strings, numbers and tuples only)."""

    task_id: str
    operator: str  # class name, e.g. "BashOperator"
    operator_module: str
    upstream: tuple[str, ...]  # direct upstream task ids, sorted
    trigger_rule: str = "all_success"
    retries: int = 0
    retry_delay_seconds: float = 300.0
    retry_exponential_backoff: bool = False
    max_retry_delay_seconds: float | None = None
    execution_timeout_seconds: float | None = None
    sla_seconds: float | None = None  # Airflow 2's `sla` (removed in Airflow 3): not enforced, bridge split warns
    conn_ids: tuple[str, ...] = ()
    owner: str = ""
    pool: str = ""  # "" or "default_pool": Airflow's default pool
    pool_slots: int = 1
    max_active_tis_per_dag: int | None = None
    depends_on_past: bool = False  # also set by wait_for_downstream
    queue: str = ""
    executor_config: str = ""  # JSON text, "" when empty
    is_setup: bool = False
    is_teardown: bool = False
    on_failure_fail_dagrun: bool = False
    indirect_setups: tuple[str, ...] = ()  # relevant setups that are not direct upstreams (Airflow's rule)
    skip_kind: str = ""  # "", "branch", "short_circuit", "short_circuit_all", or "other" (unsupported)
    is_mapped: bool = False
    in_mapped_group: bool = False  # inside an expanded task group (unsupported)
    # Task ids it pulls XComs from by a literal `task_ids` besides its upstreams; None: it pulls
    # some other way, so it receives every ancestor's (bridge/airflow/xcom_refs.py).
    xcom_pulls: tuple[str, ...] | None = ()
    # Its run does nothing (an EmptyOperator, bridge.airflow.compat.is_noop): it reads no XCom of its
    # upstreams (it receives only xcom_pulls) and never ends skipped by itself.
    is_noop: bool = False
    # A KubernetesPodOperator task that runs as its own pod (bridge.airflow.kpo): the Argo template
    # fields of the provider's pod, as JSON; "" for every other task.
    native_pod: str = ""
    # What split says about a KubernetesPodOperator task: why it runs through Airflow, or what of
    # its pod a native template does not use (its namespace); "" for every other task.
    pod_note: str = ""
    # The templated fields of a native pod (e.g. "arguments"): a render step gives them for each run.
    pod_rendered: tuple[str, ...] = ()
    # A native pod with do_xcom_push=True: its /airflow/xcom/return.json is its XCom return_value.
    pod_xcom: bool = False
    # A native pod's skip_on_exit_code, sorted: its main container ending with one of them is
    # Airflow's skipped (a no-op step records it as the state output `s`: bridge.emit.argo).
    pod_skip_codes: tuple[int, ...] = ()
    # A native pod with on_failure/on_success/on_skipped_callback: a step after it replays its
    # outcome through Airflow, which calls them (bridge.runtime.podoutcome).
    pod_callbacks: bool = False
    # A native pod's label and annotation values each run renders: their indexes among its
    # metadata entries (bridge.podspec.metadata_entries), the pod template's inputs m<index>.
    pod_metadata: tuple[int, ...] = ()
    # Another DAG's runs this task reads or starts through the Kubernetes API from its pod (Airflow's
    # class or a subclass): "sensor" (ExternalTaskSensor: bridge.runtime.external), "trigger"
    # (TriggerDagRunOperator: bridge.runtime.trigger), "" none; with that DAG's id as written.
    dag_link: str = ""
    dag_link_target: str = ""
    # The subjects of its asset (dataset) outlets, sorted: URIs, `name:<asset name>`, `alias:<alias>`
    # (bridge.airflow.timetables.asset_subject): its pod writes the events Airflow records for them
    # (output `a`), and its Workflow is labelled with each (docs/SCHEDULES.md, "Assets").
    outlets: tuple[str, ...] = ()


# ScheduleSpec.semantics of a timetable no cron line expresses: the CronJob fires on a superset of its
# run times and `bridge submit` asks the timetable which run is due (docs/SCHEDULES.md, "Other timetables").
POLL = "poll"
# ScheduleSpec.semantics of a DAG scheduled on assets (datasets): the CronJob fires every minute and
# `bridge submit` starts a run when the DAG's asset condition is met (docs/SCHEDULES.md, "Assets").
ASSETS = "assets"


@dataclass(frozen=True)
class ScheduleSpec:
    """A DAG's schedule as Airflow serialises it, plus what a CronJob needs (docs/SCHEDULES.md)."""

    timetable: str  # import path of Airflow's core timetable class, e.g. airflow.timetables.trigger.CronTriggerTimetable
    data: str  # JSON text: Airflow's own serialisation of the timetable
    start_date: str = ""  # ISO UTC: the DAG's time restriction (earliest), "" when none
    end_date: str = ""  # ISO UTC: latest, "" when none
    catchup: bool = False
    cron: str = ""  # five-field cron line for Kubernetes/Argo, "" when the schedule cannot be one
    timezone: str = "UTC"  # IANA name the cron line is read in
    # "data-interval" (logical date = interval start), "trigger" (= fire time), "poll": `cron` is
    # not the schedule but a superset of its run times, and each fire asks the timetable (bridge submit),
    # or "assets": each fire evaluates the DAG's asset condition over its producers' events
    semantics: str = ""
    reason: str = ""  # why the schedule is no cron line (shown by bridge split)

    def to_json(self) -> str:
        """One line of JSON (the `bridge.dev/timetable` annotation of the Workflow, CronWorkflow and CronJob)."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ScheduleSpec:
        """The inverse of to_json; unknown keys are ignored (newer bridge, older image)."""
        data = json.loads(text)
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class SourceDag:
    """One Airflow DAG as the loader saw it, with where it came from."""

    dag_id: str
    source_path: str  # absolute path of the DAG file
    tasks: tuple[SourceTask, ...]  # in topological order, ties by task_id
    params: tuple[tuple[str, str], ...] = ()  # (name, default as Argo parameter text)
    description: str = ""
    doc_md: str = ""
    owners: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    schedule: str | None = None  # cron expression or preset; None when unscheduled
    timezone: str = "UTC"
    max_active_tasks: int | None = None
    max_active_runs: int | None = None
    default_max_active_runs: int | None = None  # Airflow's [core] max_active_runs_per_dag at split time
    dagrun_timeout_seconds: float | None = None
    sla_miss_callback: bool = False  # Airflow 2's DAG sla_miss_callback is set (never run: bridge split warns)
    airflow_version: str = ""
    requirements: tuple[tuple[str, str], ...] = ()  # (distribution, version), sorted
    template_searchpath: tuple[str, ...] = ()  # the DAG's template_searchpath, as carried folders of the output
    source_rel: str = ""  # the DAG file's path relative to the dags folder (posix); "" means its basename
    timetable: ScheduleSpec | None = None  # None when unscheduled
    # The DAG-level callbacks it sets ("on_failure_callback", "on_success_callback"; an empty list
    # counts as none, as in Airflow): only then does the Workflow get an exit handler.
    dag_callbacks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    """A dags folder as Airflow would load it: its DAGs and every file a pod may read (docs/DESIGN.md, "Projects")."""

    name: str  # names the image when several DAGs share it
    dags_folder: str  # absolute: the root Airflow puts on sys.path
    plugins_folder: str  # absolute, "" when the project has none
    dags: tuple[SourceDag, ...]  # sorted by dag_id
    files: tuple[tuple[str, str], ...] = ()  # (path in the output, absolute path here): sources/, plugins/, searchpath/
    requirements: str = ""  # text of the project's requirements.txt, "" when none
    packages: str = ""  # text of its packages.txt (Debian packages), "" when none
    skipped: tuple[str, ...] = ()  # broken files left out by --skip-broken, as located messages
    single_file: bool = False  # split from one DAG file (the image is named after its DAG when it has one)


@dataclass(frozen=True)
class RetryPolicy:
    """Argo retryStrategy values derived from Airflow's retry settings."""

    limit: int
    duration_seconds: int
    factor: int | None = None
    cap_seconds: int | None = None


@dataclass(frozen=True)
class SyncSpec:
    """An Argo `synchronization` block: mutex names and semaphores as (ConfigMap name, key)."""

    mutexes: tuple[str, ...] = ()
    semaphores: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.mutexes or self.semaphores)


@dataclass(frozen=True)
class SemaphoreLimit:
    """One ConfigMap key holding a semaphore's limit, the value bridge writes, and why."""

    config_map: str
    key: str
    limit: int
    reason: str  # the Airflow setting, e.g. "pool 'api'" or "max_active_runs"
    pool: str = ""  # the Airflow pool when the ConfigMap is a pool's (shared by every DAG using it)


@dataclass(frozen=True)
class TemplateSpec:
    """One shared container template: tasks with equal settings share it."""

    name: str
    retry: RetryPolicy | None = None
    deadline_seconds: int | None = None
    conn_ids: tuple[str, ...] = ()
    mapped: bool = False  # runs a mapped task: one more output, `states` (per map index)
    assets: bool = False  # runs a task with outlets: one more output, `a` (the asset events it recorded)
    sync: SyncSpec = SyncSpec()  # template-level locks: pool, max_active_tis_per_dag
    native_pod: str = ""  # a KubernetesPodOperator's own pod (SourceTask.native_pod): no bridge-task
    pod_rendered: tuple[str, ...] = ()  # its templated fields: a render step first (SourceTask.pod_rendered)
    pod_xcom: bool = False  # its return.json is its XCom (SourceTask.pod_xcom): output `r`
    pod_skip_codes: tuple[int, ...] = ()  # exit codes that skip it (SourceTask.pod_skip_codes): output `s`
    pod_callbacks: bool = False  # a callbacks step after it (SourceTask.pod_callbacks)
    pod_metadata: tuple[int, ...] = ()  # its rendered label/annotation values (SourceTask.pod_metadata)


@dataclass(frozen=True)
class PlannedTask:
    """One Argo DAG task: its name, its template and how it depends on others."""

    name: str
    task_id: str
    task_file: str  # relative to the output folder: "dags/<dag_id>/<name>.py" (the Argo task name)
    template: str
    depends: str  # Argo `depends` expression, "" for roots
    upstream_names: tuple[str, ...]
    when: str = ""  # Argo `when` expression, "" when the task always runs once `depends` holds
    xcom_sources: tuple[str, ...] = ()  # the tasks whose `x` it receives (Argo names): upstreams, pulled ancestors
    safe_outputs: frozenset[str] = frozenset()  # tasks whose outputs exist when it runs; others read guarded


@dataclass(frozen=True)
class Plan:
    """The Workflow the DAG becomes, already named and ordered: what the DAG is, not where it runs."""

    dag: SourceDag
    workflow_name: str
    source_file: str  # relative to the output folder: "sources/<dag_id>/<file>"
    tasks: tuple[PlannedTask, ...]
    templates: tuple[TemplateSpec, ...]
    task_settings: tuple[tuple[str, str], ...] = field(default=())  # (task_id, JSON)
    verdict_name: str = VERDICT_NAME  # the no-op node whose phase is the DagRun state
    verdict_depends: str = ""
    run_sync: SyncSpec = SyncSpec()  # Workflow-level lock: max_active_runs, depends_on_past
    semaphore_limits: tuple[SemaphoreLimit, ...] = ()  # every semaphore's ConfigMap key, sorted
    # Native pods whose XCom is their return.json (Argo name -> Airflow task id): a downstream's
    # XCom input wraps their raw output `r` as a pod document (docs/DESIGN.md, XCom input).
    pod_xcom: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # what the Workflow cannot honour exactly (bridge split prints them)


SCHEDULE_KINDS = ("cronjob", "cronworkflow", "none")
WORKFLOW_KINDS = ("workflow", "workflowtemplate")  # bridge split --emit


@dataclass(frozen=True)
class PodSettings:
    """What every task pod gets from Kubernetes objects named at split time (names only, never values).

    docs/DESIGN.md, "Secrets": envFrom ConfigMaps then Secrets (a later source wins a key), the
    service account (workload identity, IRSA), Secrets mounted read-only as files, the Argo UI link.
    """

    env_from_config_maps: tuple[str, ...] = ()
    env_from_secrets: tuple[str, ...] = ()
    service_account: str | None = None
    secret_volumes: tuple[tuple[str, str], ...] = ()  # (Secret name, absolute mount path)
    argo_ui_url: str | None = None  # the Argo UI's base URL: ti.log_url links the pod's node there

    def __bool__(self) -> bool:
        return any((self.env_from_config_maps, self.env_from_secrets, self.service_account, self.secret_volumes,
                    self.argo_ui_url))


NO_POD_SETTINGS = PodSettings()  # the default: none of the pod flags given


@dataclass(frozen=True)
class EmitOptions:
    """How a plan is emitted for a cluster (bridge split's flags), given to the emitters beside the Plan."""

    image: str  # the image every pod runs (bridge.split.emit_options: bridge/<workflow name>:latest by default)
    namespace: str | None = None  # written into every manifest's metadata when set
    gcp_key_secret: str | None = None  # Secret holding key.json: mounted read-only, GOOGLE_APPLICATION_CREDENTIALS set
    schedule_kind: str = "cronjob"  # one of SCHEDULE_KINDS: what bridge split emits for the schedule
    shared_pools: bool = False  # several DAGs in one output: pool ConfigMaps once, in sync/pools.yaml
    workflow_kind: str = "workflow"  # one of WORKFLOW_KINDS: "workflowtemplate" adds a WorkflowTemplate the schedules reference
    pod: PodSettings = NO_POD_SETTINGS  # envFrom, service account, Secret volumes, Argo UI link (bridge split's pod flags)
    argo_version: ArgoVersion = DEFAULT_VERSION  # --argo-version
