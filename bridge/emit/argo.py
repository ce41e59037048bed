"""Plan -> Argo Workflow (argoproj.io/v1alpha1): one DAG template and shared container templates."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge import names
from bridge.argo.versions import ArgoVersion, has_backoff_cap
from bridge.constants import (
    AIRFLOW_UID,
    ASSET_EVENTS_FILE,
    ASSET_EVENTS_PARAMETER,
    ASSET_LABEL_PREFIX,
    ASSET_OUTPUT,
    EXIT_HANDLER_NAME,
    NO_RETRY_EXPRESSION,
    OUTPUTS_DIR,
    TIMETABLE_ANNOTATION,
    VERDICT_NAME,
)
from bridge.emit.sync import sync_files
from bridge.emit.yaml import to_yaml
from bridge.model import ASSETS, EmitOptions, Plan, PlannedTask, PodSettings, RetryPolicy, SyncSpec, TemplateSpec
from bridge.podspec import METADATA_DIR, XCOM_FILE, metadata_input
from bridge.semantics import (
    BRANCH_OUTPUT,
    MISSING_OUTPUT,
    RAW_XCOM_OUTPUT,
    STATE_OUTPUT,
    STATES_OUTPUT,
    TRY_OUTPUT,
    XCOM_OUTPUT,
    exit_code_in,
    exit_code_ref,
    guarded_ref,
    output_ref,
)

API_VERSION = "argoproj.io/v1alpha1"
ENTRYPOINT = "main"
DAGS_HOME = "/opt/bridge/dags"
XCOM_IN_PATH = "/tmp/bridge/in/xcom.json"
EMPTY_XCOM = '{"rows": []}'
CONNECTIONS_SECRET = "bridge-connections"
VARIABLES_SECRET = "bridge-variables"
SCRATCH_VOLUME = "bridge-tmp"
# bridge split --gcp-key-secret NAME: the Secret's key.json, as the original Argo example mounted it.
GCP_KEY_VOLUME = "gcp-key"
GCP_KEY_DIR = "/var/secrets/google"
GCP_KEY_FILE = "key.json"
DESCRIPTION_MAX = 1024
# bridge split --argo-ui-url URL: what bridge.runtime.links builds ti.log_url from (with Argo's own ARGO_NODE_ID).
ARGO_UI_URL_ENV = "BRIDGE_ARGO_UI_URL"
ARGO_WORKFLOW_ENV = "BRIDGE_ARGO_WORKFLOW"
# The task templates' input parameters: the task file's name, always the DAG task's own name (the
# default `{{tasks.name}}`, never passed), and the upstream XCom documents (docs/DESIGN.md, The Workflow).
TASK_INPUT = "task"
XCOM_INPUT = "x"
RUN_PARAMETERS = ("run-date", "run-id")  # the run's logical date and run_id, shared by every pod
# The exit handler reads Argo's failed-node list from a file (a raw artifact), not from its command
# line: one argument may hold at most 128 KiB (Linux MAX_ARG_STRLEN) and the list grows per failed node.
FAILURES_IN_PATH = "/tmp/bridge/in/failures.json"


@dataclass(frozen=True)
class RunSource:
    """Where the pods read run-date and run-id: an Argo expression scope holding both names."""

    scope: str  # "workflow.parameters", "workflow.outputs.parameters" or "inputs.parameters"

    def ref(self, name: str) -> str:
        """The `{{…}}` expression a pod's argument uses for `name` (run-date or run-id)."""
        return f"{{{{{self.scope}.{name}}}}}"


# `argo submit -p run-date=…`: the Workflow's own parameters (the Workflow bridge split writes).
WORKFLOW_PARAMETERS = RunSource("workflow.parameters")
# The CronWorkflow: global outputs of its first step (bridge logical-date), not parameters.
GLOBAL_OUTPUTS = RunSource("workflow.outputs.parameters")
# One Workflow running many dates (bridge backfill --workflow-out): inputs of the DAG template,
# passed on to every task template.
TEMPLATE_INPUTS = RunSource("inputs.parameters")


def _annotations(plan: Plan) -> dict[str, str]:
    dag = plan.dag
    notes = {
        "bridge.dev/dag-id": dag.dag_id,
        "bridge.dev/source": plan.source_file,
        "bridge.dev/airflow-version": dag.airflow_version,
    }
    if dag.owners:
        notes["bridge.dev/owner"] = ",".join(dag.owners)
    if dag.tags:
        notes["bridge.dev/tags"] = ",".join(dag.tags)
    if dag.schedule:
        notes["bridge.dev/schedule"] = dag.schedule
        notes["bridge.dev/timezone"] = dag.timezone
    if dag.timetable is not None:
        notes[TIMETABLE_ANNOTATION] = dag.timetable.to_json()
    if plan.task_settings:
        notes["bridge.dev/task-settings"] = json.dumps(
            {task_id: json.loads(text) for task_id, text in plan.task_settings}, sort_keys=True
        )
    description = (dag.doc_md or dag.description).strip()
    if description:
        notes["workflows.argoproj.io/description"] = description[:DESCRIPTION_MAX]
    return notes


def _labels(plan: Plan) -> dict[str, str]:
    """The DAG's label, and one per asset its tasks produce (consumers' schedules select on them)."""
    labels = {"bridge.dev/dag": plan.workflow_name}
    for uri in sorted({uri for task in plan.dag.tasks if not task.native_pod for uri in task.outlets}):
        labels[names.asset_label(uri, ASSET_LABEL_PREFIX)] = "true"
    return labels


def _arguments(plan: Plan, run: RunSource) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    if run == WORKFLOW_PARAMETERS:
        parameters += [
            {"name": "run-date", "description": "Airflow logical date: YYYYMMDD, YYYY-MM-DD or an ISO date-time"},
            {"name": "run-id", "value": "", "description": "Airflow run_id shared by all tasks; empty: manual__<date>"},
        ]
    for name, value in plan.dag.params:
        parameters.append({"name": name, "value": value})
    if asset_scheduled(plan):
        parameters.append({"name": ASSET_EVENTS_PARAMETER, "value": "[]",
                           "description": "the asset events that triggered the run (JSON); bridge submit sets them"})
    return parameters


def xcom_document(name: str, task: PlannedTask, pod_xcom: Mapping[str, str]) -> str:
    """The XCom document of upstream `name` in `task`'s input: its `x` output, or for a native pod
    its raw return.json wrapped as `{"pod": task_id, "value": …}` (bridge.runtime.xcom reads both)."""
    guarded = name not in task.safe_outputs
    if name in pod_xcom:
        return f'{{"pod":{json.dumps(pod_xcom[name])},"value":{output_ref(name, RAW_XCOM_OUTPUT, guarded)}}}'
    return output_ref(name, XCOM_OUTPUT, guarded)


def _dag_task(task: PlannedTask, run: RunSource, pod_xcom: Mapping[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": task.name, "template": task.template}
    if task.depends:
        entry["depends"] = task.depends
    if task.when:
        entry["when"] = task.when
    parameters = []
    if task.xcom_sources:
        # Each document is one JSON object: no separator needed (docs/DESIGN.md, XCom input).
        joined = "".join(xcom_document(up, task, pod_xcom) for up in task.xcom_sources)
        parameters.append({"name": XCOM_INPUT, "value": joined})
    if run == TEMPLATE_INPUTS:
        parameters += [{"name": name, "value": run.ref(name)} for name in RUN_PARAMETERS]
    if parameters:
        entry["arguments"] = {"parameters": parameters}
    return entry


def _retry_strategy(retry: RetryPolicy, argo: ArgoVersion) -> dict[str, Any]:
    backoff: dict[str, Any] = {"duration": f"{retry.duration_seconds}s"}
    if retry.factor is not None:
        backoff["factor"] = str(retry.factor)
    if retry.cap_seconds is not None and has_backoff_cap(argo):  # else split warns (retry_cap_notes)
        backoff["cap"] = f"{retry.cap_seconds}s"
    # bridge-task exits 4 when Airflow failed the task for good although tries remain
    # (AirflowFailException, a sensor's timeout): no retry then (docs/SEMANTICS.md, Retries and callbacks).
    return {"limit": str(retry.limit), "retryPolicy": "Always", "expression": NO_RETRY_EXPRESSION, "backoff": backoff}


def synchronization(sync: SyncSpec) -> dict[str, Any]:
    """An Argo `synchronization` block; semaphore limits are keys of ConfigMaps (emit/sync.py)."""
    block: dict[str, Any] = {}
    if sync.semaphores:
        block["semaphores"] = [{"configMapKeyRef": {"name": name, "key": key}} for name, key in sync.semaphores]
    if sync.mutexes:
        block["mutexes"] = [{"name": name} for name in sync.mutexes]
    return block


def connection_env_name(conn_id: str) -> str:
    """The environment variable Airflow reads a connection from."""
    return "AIRFLOW_CONN_" + conn_id.upper()


def _container_args(plan: Plan, run: RunSource) -> list[str]:
    args = [
        "run",
        f"{DAGS_HOME}/{plan.dag.dag_id}/{{{{inputs.parameters.{TASK_INPUT}}}}}.py",
        "--run-date",
        run.ref("run-date"),
        "--run-id",
        run.ref("run-id"),
        "--xcom-in",
        XCOM_IN_PATH,
        "--outputs",
        OUTPUTS_DIR,
    ]
    for name, _ in plan.dag.params:
        args += ["--param", f"{name}={{{{workflow.parameters.{name}}}}}"]
    if asset_scheduled(plan):
        args += ["--asset-events", f"{{{{workflow.parameters.{ASSET_EVENTS_PARAMETER}}}}}"]
    return args


def asset_scheduled(plan: Plan) -> bool:
    """A DAG scheduled on assets: its runs carry the events that triggered them (bridge.schedule.assets)."""
    return plan.dag.timetable is not None and plan.dag.timetable.semantics == ASSETS


def security_context() -> dict[str, Any]:
    """The restricted container securityContext every bridge pod runs with."""
    return {
        "runAsNonRoot": True,
        "runAsUser": AIRFLOW_UID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _bridge_container(options: EmitOptions, args: list[str], conn_ids: Any) -> dict[str, Any]:
    """A bridge-task container: its connections' env, the GCP key, pod settings, /tmp and the restricted context."""
    env: list[dict[str, Any]] = [
        {
            "name": connection_env_name(conn_id),
            "valueFrom": {"secretKeyRef": {"name": CONNECTIONS_SECRET, "key": conn_id, "optional": True}},
        }
        for conn_id in conn_ids
    ]
    container: dict[str, Any] = {"image": options.image, "command": ["bridge-task"], "args": args}
    mounts: list[dict[str, Any]] = [{"name": SCRATCH_VOLUME, "mountPath": "/tmp"}]
    if options.gcp_key_secret:
        env.append({"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": f"{GCP_KEY_DIR}/{GCP_KEY_FILE}"})
        mounts.append({"name": GCP_KEY_VOLUME, "mountPath": GCP_KEY_DIR, "readOnly": True})
    env += link_env(options.pod)
    mounts += secret_mounts(options.pod)
    if env:
        container["env"] = env
    container["envFrom"] = [{"secretRef": {"name": VARIABLES_SECRET, "optional": True}}, *env_from(options.pod)]
    container["volumeMounts"] = mounts
    container["securityContext"] = security_context()
    return container


def _container_template(plan: Plan, options: EmitOptions, spec: TemplateSpec, run: RunSource) -> dict[str, Any]:
    args = _container_args(plan, run)
    if spec.retry is not None:
        # Argo's attempt number (0 first), defined in templates with a retryStrategy only (validate.go).
        args += ["--attempt", "{{retries}}"]
    container = _bridge_container(options, args, spec.conn_ids)
    inputs: list[dict[str, Any]] = [{"name": TASK_INPUT, "default": "{{tasks.name}}"}, {"name": XCOM_INPUT, "default": EMPTY_XCOM}]
    if run == TEMPLATE_INPUTS:
        inputs += [{"name": name} for name in RUN_PARAMETERS]
    template: dict[str, Any] = {
        "name": spec.name,
        "inputs": {
            "parameters": inputs,
            "artifacts": [{"name": "xcom-in", "path": XCOM_IN_PATH, "raw": {"data": f"{{{{inputs.parameters.{XCOM_INPUT}}}}}"}}],
        },
        "outputs": {
            "parameters": [
                {"name": XCOM_OUTPUT, "valueFrom": {"path": f"{OUTPUTS_DIR}/xcom.json", "default": EMPTY_XCOM}},
                {"name": STATE_OUTPUT, "valueFrom": {"path": f"{OUTPUTS_DIR}/state", "default": "unknown"}},
                {"name": BRANCH_OUTPUT, "valueFrom": {"path": f"{OUTPUTS_DIR}/branch", "default": "null"}},
            ]
        },
    }
    if spec.mapped:
        # Per map index states (JSON list, map-index order): `bridge run` reports them; no condition reads them.
        states = {"name": STATES_OUTPUT, "valueFrom": {"path": f"{OUTPUTS_DIR}/states", "default": "null"}}
        template["outputs"]["parameters"].append(states)
    if spec.assets:
        # The asset events Airflow recorded (none unless it succeeded): consumers' schedules read them.
        events = {"name": ASSET_OUTPUT, "valueFrom": {"path": f"{OUTPUTS_DIR}/{ASSET_EVENTS_FILE}", "default": "[]"}}
        template["outputs"]["parameters"].append(events)
    if spec.retry is not None:
        template["retryStrategy"] = _retry_strategy(spec.retry, options.argo_version)
    if spec.deadline_seconds is not None:
        template["activeDeadlineSeconds"] = str(spec.deadline_seconds)
    if spec.sync:
        # Held from before the first pod until the task's node completes (across retries and their backoff).
        template["synchronization"] = synchronization(spec.sync)
    template["container"] = container
    return template


# A native pod's fields in the order a person would write an Argo template (bridge.airflow.kpo).
_POD_TEMPLATE_ORDER = (
    "metadata",
    "serviceAccountName",
    "nodeSelector",
    "affinity",
    "tolerations",
    "priorityClassName",
    "schedulerName",
    "hostAliases",
    "securityContext",
    "volumes",
    "initContainers",
    "container",
    "sidecars",
)


# A native pod that renders its fields, can skip itself or has callbacks is a DAG template (the
# task's) of up to four steps: `render` (its fields for the run), `pod` (the container), `skip` (a
# no-op that runs when the container's exit code is one of its skip_on_exit_code: the task was
# skipped) and `callbacks` (Airflow concludes the task from the exit code and calls them).
RENDER_TEMPLATE = "kpo-render"  # no task template starts with "kpo-" (bridge.plan)
SKIP_TEMPLATE = "kpo-skipped"
CALLBACKS_TEMPLATE = "kpo-callbacks"
RENDER_STEP, POD_STEP, SKIP_STEP, CALLBACKS_STEP = "render", "pod", "skip", "callbacks"
EXIT_CODE_INPUT, ATTEMPT_INPUT = "exit-code", "attempt"
# A retried pod's try (Argo's {{retries}}, substituted into each try's template) as an output its
# callbacks step reads: a file no container writes, so Argo's executor takes the default.
TRY_FILE = "/tmp/bridge-kpo-try/never-written"
POD_OUTPUT, IMAGE_OUTPUT = "pod", "image"
RUN_TEMPLATE_SUFFIX = "-run"


def _skip_retry_expression(codes: tuple[int, ...]) -> str:
    """No retry after an exit code that skips the task (Airflow skips, it does not retry)."""
    listed = ", ".join(f"'{code}'" for code in codes)
    return f"lastRetry.exitCode not in [{listed}]"


def _native_template(spec: TemplateSpec, options: EmitOptions, run: RunSource, name: str = "") -> dict[str, Any]:
    """A KubernetesPodOperator's own pod as the task's template: the user's container, no bridge-task.

    Its node's phase is its Airflow state (no outputs: bridge.semantics); Argo names it, runs it in
    the Workflow's namespace and retries it on any failure (no bridge-task exit code to read). A
    templated one takes its rendered pod as the input `pod` (its podSpecPatch) and, when its image
    is templated, `image`.
    """
    pod = json.loads(spec.native_pod)
    template: dict[str, Any] = {"name": name or spec.name}
    inputs = [{"name": POD_OUTPUT}] if spec.pod_rendered else []
    if "image" in spec.pod_rendered:
        inputs.append({"name": IMAGE_OUTPUT})
    # Its rendered label and annotation values (its `metadata` reads them): pod metadata has no patch.
    inputs += [{"name": metadata_input(index)} for index in spec.pod_metadata]
    if run == TEMPLATE_INPUTS:
        inputs += [{"name": name} for name in RUN_PARAMETERS]
    if inputs:
        template["inputs"] = {"parameters": inputs}
    for key in _POD_TEMPLATE_ORDER:
        if key in pod:
            template[key] = pod[key]
    if spec.pod_rendered:
        # The run's whole pod, rendered (bridge.runtime.podrender): Argo merges it in before it wraps the command.
        template["podSpecPatch"] = f"{{{{inputs.parameters.{POD_OUTPUT}}}}}"
    elif "podSpecPatch" in pod:
        # The pod fields no template field holds (hostNetwork, dnsConfig, imagePullSecrets, …).
        template["podSpecPatch"] = json.dumps(pod["podSpecPatch"], sort_keys=True, separators=(",", ":"))
    outputs = []
    if spec.pod_xcom:
        # The provider's convention; a file the container did not write (or left empty) is no XCom.
        outputs.append({"name": RAW_XCOM_OUTPUT, "valueFrom": {"path": XCOM_FILE, "default": MISSING_OUTPUT[RAW_XCOM_OUTPUT]}})
    if spec.pod_callbacks and spec.retry is not None:
        outputs.append({"name": TRY_OUTPUT, "valueFrom": {"path": TRY_FILE, "default": "{{retries}}"}})
    if outputs:
        template["outputs"] = {"parameters": outputs}
    if spec.retry is not None:
        strategy = _retry_strategy(spec.retry, options.argo_version)
        if spec.pod_skip_codes:
            strategy["expression"] = _skip_retry_expression(spec.pod_skip_codes)
        else:
            del strategy["expression"]  # no bridge-task: any failure is one Airflow retries
        template["retryStrategy"] = strategy
    deadlines = [d for d in (spec.deadline_seconds, pod.get("activeDeadlineSeconds")) if d is not None]
    if deadlines:
        template["activeDeadlineSeconds"] = str(min(deadlines))
    if spec.sync:
        template["synchronization"] = synchronization(spec.sync)
    return template


def _wrapped_pod_templates(spec: TemplateSpec, options: EmitOptions, run: RunSource) -> list[dict[str, Any]]:
    """A native pod that renders its fields, can skip itself or has callbacks: the task's DAG
    template, whose `render` step (templated fields) renders them for the run on Airflow, whose
    `pod` step runs the (rendered) pod, whose `skip` step (skip_on_exit_code) runs, a no-op,
    exactly when the container's exit code skips the task, and whose `callbacks` step replays the
    outcome through Airflow for the task's callbacks. The DAG node's phase is the task's state: a
    render error fails it, as a template error fails the task in Airflow; a skip code makes it
    Succeeded, its output `s` then `skipped` (Argo v4.0.10 dag.go assessDAGPhase: a Skipped or
    Omitted leaf takes the phase of the `pod` step, a run one its own: the skip step's Succeeded,
    the callbacks step's the task's)."""
    task_name = spec.name.removeprefix("pod-")  # bridge.plan POD_TEMPLATE_PREFIX
    passed = [{"name": name, "value": f"{{{{inputs.parameters.{name}}}}}"} for name in RUN_PARAMETERS] if run == TEMPLATE_INPUTS else []
    tasks: list[dict[str, Any]] = []
    pod: dict[str, Any] = {"name": POD_STEP, "template": spec.name + RUN_TEMPLATE_SUFFIX}
    inputs: list[dict[str, Any]] = []
    if spec.pod_rendered or spec.pod_callbacks:
        inputs.append({"name": XCOM_INPUT, "default": EMPTY_XCOM})
    if spec.pod_rendered:
        tasks.append({
            "name": RENDER_STEP,
            "template": RENDER_TEMPLATE,
            "arguments": {
                "parameters": [
                    {"name": TASK_INPUT, "value": task_name},
                    {"name": XCOM_INPUT, "value": f"{{{{inputs.parameters.{XCOM_INPUT}}}}}"},
                    *passed,
                ]
            },
        })
        rendered = [POD_OUTPUT, IMAGE_OUTPUT] if "image" in spec.pod_rendered else [POD_OUTPUT]
        rendered += [metadata_input(index) for index in spec.pod_metadata]
        pod["depends"] = RENDER_STEP
        pod["arguments"] = {
            "parameters": [{"name": name, "value": output_ref(RENDER_STEP, name)} for name in rendered]
        }
    if passed:
        pod.setdefault("arguments", {"parameters": []})["parameters"] += passed
        inputs += [{"name": name} for name in RUN_PARAMETERS]
    tasks.append(pod)
    outputs: list[dict[str, Any]] = []
    if spec.pod_skip_codes:
        # Airflow reads the base container's exit code whatever the pod's phase (0 may skip too).
        tasks.append({
            "name": SKIP_STEP,
            "template": SKIP_TEMPLATE,
            "depends": f"{POD_STEP}.Succeeded || {POD_STEP}.Failed",
            "when": exit_code_in(POD_STEP, spec.pod_skip_codes),
        })
        state = f"tasks.{SKIP_STEP}.status == 'Succeeded' ? 'skipped' : 'success'"
        outputs.append({"name": STATE_OUTPUT, "valueFrom": {"expression": state, "default": MISSING_OUTPUT[STATE_OUTPUT]}})
    if spec.pod_callbacks:
        tasks.append(_callbacks_step(spec, task_name, passed))
    if spec.pod_xcom:
        # The pod step's return.json, as the task's own output (the DAG node's).
        missing = MISSING_OUTPUT[RAW_XCOM_OUTPUT]
        outputs.append({"name": RAW_XCOM_OUTPUT, "valueFrom": {"parameter": output_ref(POD_STEP, RAW_XCOM_OUTPUT), "default": missing}})
    dag: dict[str, Any] = {"name": spec.name}
    if inputs:
        dag["inputs"] = {"parameters": inputs}
    if outputs:
        dag["outputs"] = {"parameters": outputs}
    dag["dag"] = {"tasks": tasks}
    return [dag, _native_template(spec, options, run, spec.name + RUN_TEMPLATE_SUFFIX)]


def _callbacks_step(spec: TemplateSpec, task_name: str, passed: list[dict[str, Any]]) -> dict[str, Any]:
    """The step after a pod with final-state callbacks: bridge-task replays the pod's outcome (its
    exit code, at its last try) through Airflow, which calls them; its exit code is the task's
    state's (a failure fails it), so the DAG's phase stays the task's state. It also runs after a
    failed render: Airflow then fails the task while rendering, as it would, and calls on_failure_callback."""
    finished = [f"{POD_STEP}.{result}" for result in ("Succeeded", "Failed", "Errored")]
    if spec.pod_rendered:
        finished += [f"{RENDER_STEP}.Failed", f"{RENDER_STEP}.Errored"]
    parameters = [
        {"name": TASK_INPUT, "value": task_name},
        {"name": XCOM_INPUT, "value": f"{{{{inputs.parameters.{XCOM_INPUT}}}}}"},
        {"name": EXIT_CODE_INPUT, "value": exit_code_ref(POD_STEP)},
    ]
    if spec.retry is not None:
        parameters.append({"name": ATTEMPT_INPUT, "value": guarded_ref(POD_STEP, TRY_OUTPUT)})
    return {
        "name": CALLBACKS_STEP,
        "template": CALLBACKS_TEMPLATE,
        "depends": " || ".join(finished),
        "arguments": {"parameters": [*parameters, *passed]},
    }


def _airflow_step_template(
    name: str, container: dict[str, Any], extra: list[dict[str, Any]], run: RunSource, outputs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A step of a native pod's DAG that runs bridge-task for the task (render, callbacks): the
    task's name, its upstream XCom documents as the xcom-in file, `extra` inputs, the run's date."""
    inputs: list[dict[str, Any]] = [{"name": TASK_INPUT}, {"name": XCOM_INPUT, "default": EMPTY_XCOM}, *extra]
    if run == TEMPLATE_INPUTS:
        inputs += [{"name": name} for name in RUN_PARAMETERS]
    template: dict[str, Any] = {
        "name": name,
        "inputs": {
            "parameters": inputs,
            "artifacts": [{"name": "xcom-in", "path": XCOM_IN_PATH, "raw": {"data": f"{{{{inputs.parameters.{XCOM_INPUT}}}}}"}}],
        },
    }
    if outputs:
        template["outputs"] = {"parameters": outputs}
    template["container"] = container
    return template


def callbacks_template(plan: Plan, options: EmitOptions, run: RunSource) -> dict[str, Any]:
    """The callbacks step of native pods: bridge-task concludes the task from the pod's exit code
    (bridge.runtime.podoutcome) and Airflow calls its callbacks; no pod is started. The callbacks
    get every connection a task names, like the exit handler's DAG callbacks."""
    args = [*_container_args(plan, run), "--pod-exit-code", f"{{{{inputs.parameters.{EXIT_CODE_INPUT}}}}}",
            "--attempt", f"{{{{inputs.parameters.{ATTEMPT_INPUT}}}}}"]
    conn_ids = sorted({conn_id for spec in plan.templates for conn_id in spec.conn_ids})
    extra = [{"name": EXIT_CODE_INPUT}, {"name": ATTEMPT_INPUT, "default": "0"}]
    return _airflow_step_template(CALLBACKS_TEMPLATE, _bridge_container(options, args, conn_ids), extra, run)


def render_template(plan: Plan, options: EmitOptions, run: RunSource) -> dict[str, Any]:
    """The render step of templated native pods: bridge-task renders the task and writes its pod, starts none."""
    container = _bridge_container(options, [*_container_args(plan, run), "--render-pod"], ())
    # One output per metadata entry any task renders (a task with fewer: the default, unread).
    count = max((index + 1 for spec in plan.templates for index in spec.pod_metadata), default=0)
    outputs = [
        {"name": POD_OUTPUT, "valueFrom": {"path": f"{OUTPUTS_DIR}/pod.json"}},
        {"name": IMAGE_OUTPUT, "valueFrom": {"path": f"{OUTPUTS_DIR}/image"}},
        *({"name": metadata_input(index), "valueFrom": {"path": f"{OUTPUTS_DIR}/{METADATA_DIR}/{index}", "default": ""}}
          for index in range(count)),
    ]
    return _airflow_step_template(RENDER_TEMPLATE, container, [], run, outputs)


def _task_templates(plan: Plan, options: EmitOptions, run: RunSource) -> list[dict[str, Any]]:
    """The templates of the DAG's tasks: shared bridge-task templates, native pods, render steps."""
    found: list[dict[str, Any]] = []
    for spec in plan.templates:
        if spec.native_pod and (spec.pod_rendered or spec.pod_skip_codes or spec.pod_callbacks):
            found += _wrapped_pod_templates(spec, options, run)
        elif spec.native_pod:
            found.append(_native_template(spec, options, run))
        else:
            found.append(_container_template(plan, options, spec, run))
    if any(spec.pod_rendered for spec in plan.templates):
        found.append(render_template(plan, options, run))
    if any(spec.pod_callbacks for spec in plan.templates):
        found.append(callbacks_template(plan, options, run))
    if any(spec.pod_skip_codes for spec in plan.templates):
        # The `skip` step's no-op (no pod), as the DagRun verdict's.
        found.append({"name": SKIP_TEMPLATE, "suspend": {"duration": "0"}})
    return found


def has_exit_handler(plan: Plan, run: RunSource) -> bool:
    """An exit handler only for a DAG with DAG-level callbacks, and once per DagRun: not in a backfill's many-date Workflow."""
    return bool(plan.dag.dag_callbacks) and run != TEMPLATE_INPUTS


def exit_template(plan: Plan, options: EmitOptions, run: RunSource) -> dict[str, Any]:
    """The exit handler's pod: `bridge-task dag-callback` with the run's final status, failed nodes and duration.

    It loads the whole DAG through one of its task files (the first task's: any would do). Argo runs
    it after the DAG, also after `activeDeadlineSeconds` (exit-handler pods ignore the workflow
    deadline: workflowpod.go, exec_control.go), so it gets no deadline of its own.
    """
    args = [
        "dag-callback",
        f"{DAGS_HOME}/{plan.tasks[0].task_file.removeprefix('dags/')}",
        "--run-date",
        run.ref("run-date"),
        "--run-id",
        run.ref("run-id"),
        "--status",
        "{{workflow.status}}",
        "--failures",
        FAILURES_IN_PATH,
        "--duration",
        "{{workflow.duration}}",
    ]
    for name, _ in plan.dag.params:
        args += ["--param", f"{name}={{{{workflow.parameters.{name}}}}}"]
    # Every connection a task names, the secrets backend, mounted Secrets and links, like any task.
    conn_ids = sorted({conn_id for spec in plan.templates for conn_id in spec.conn_ids})
    container = _bridge_container(options, args, conn_ids)
    return {
        "name": EXIT_HANDLER_NAME,
        "inputs": {"artifacts": [{"name": "failures", "path": FAILURES_IN_PATH, "raw": {"data": "{{workflow.failures}}"}}]},
        "container": container,
    }


def link_env(pod: PodSettings) -> list[dict[str, Any]]:
    """--argo-ui-url: the UI's address and this run's namespace/name, for ti.log_url (bridge/runtime/links.py)."""
    if not pod.argo_ui_url:
        return []
    return [
        {"name": ARGO_UI_URL_ENV, "value": pod.argo_ui_url},
        {"name": ARGO_WORKFLOW_ENV, "value": "{{workflow.namespace}}/{{workflow.name}}"},
    ]


def env_from(pod: PodSettings) -> list[dict[str, Any]]:
    """--env-from-configmap, then --env-from-secret: every key of each becomes a variable (a later one wins a key).

    Not optional: a Secret the user named at split time and forgot to create stops the pod with
    Kubernetes' own message (CreateContainerConfigError) instead of running without its settings.
    """
    sources: list[dict[str, Any]] = [{"configMapRef": {"name": name}} for name in pod.env_from_config_maps]
    return sources + [{"secretRef": {"name": name}} for name in pod.env_from_secrets]


def secret_volume_name(secret: str) -> str:
    """A volume name (a DNS label, at most 63) for a Secret name (a DNS subdomain, up to 253, dots allowed)."""
    name = f"secret-{secret}"
    if "." in secret or len(name) > 63:
        digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
        name = f"{name.replace('.', '-')[:54].rstrip('-')}-{digest}"
    return name


def secret_mounts(pod: PodSettings) -> list[dict[str, Any]]:
    """--secret-volume NAME:PATH: the Secret's keys as read-only files in PATH."""
    return [{"name": secret_volume_name(name), "mountPath": path, "readOnly": True} for name, path in pod.secret_volumes]


def secret_volumes(pod: PodSettings) -> list[dict[str, Any]]:
    """The pod volumes of --secret-volume, one per Secret (two paths of one Secret share it)."""
    names = sorted({name for name, _ in pod.secret_volumes}, key=[name for name, _ in pod.secret_volumes].index)
    return [{"name": secret_volume_name(name), "secret": {"secretName": name}} for name in names]


def _metadata(plan: Plan, options: EmitOptions, **name: str) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(name)
    if options.namespace:
        metadata["namespace"] = options.namespace
    metadata["labels"] = _labels(plan)
    metadata["annotations"] = _annotations(plan)
    return metadata


def build_workflow(plan: Plan, options: EmitOptions, run: RunSource = WORKFLOW_PARAMETERS) -> dict[str, Any]:
    """The Workflow object as plain dicts, in the field order a person would write it.

    `run` says where the pods read run-date and run-id: the Workflow's parameters (what bridge
    split writes), or for the schedule and backfill emitters, which start the DAG template
    themselves, global outputs or the DAG template's inputs (then the run lock is the DAG
    template's, so that each date holds it as one run).
    """
    metadata = _metadata(plan, options, generateName=f"{plan.workflow_name}-")
    spec: dict[str, Any] = {"entrypoint": ENTRYPOINT}
    if has_exit_handler(plan, run):
        spec["onExit"] = EXIT_HANDLER_NAME
    arguments = _arguments(plan, run)
    if arguments:
        spec["arguments"] = {"parameters": arguments}
    if plan.dag.max_active_tasks:
        spec["parallelism"] = plan.dag.max_active_tasks
    if plan.dag.dagrun_timeout_seconds:
        spec["activeDeadlineSeconds"] = int(plan.dag.dagrun_timeout_seconds)
    if plan.run_sync and run != TEMPLATE_INPUTS:
        # Runs of the DAG queue (by priority, then creation time) for a mutex or a semaphore slot.
        spec["synchronization"] = synchronization(plan.run_sync)
    if options.pod.service_account:
        # Every pod of the run (the task pods and Argo's executor) runs as it: workload identity, IRSA.
        spec["serviceAccountName"] = options.pod.service_account
    spec["securityContext"] = {"runAsNonRoot": True, "runAsUser": AIRFLOW_UID, "fsGroup": 0}
    spec["volumes"] = [{"name": SCRATCH_VOLUME, "emptyDir": {}}]
    if options.gcp_key_secret:
        spec["volumes"].append({"name": GCP_KEY_VOLUME, "secret": {"secretName": options.gcp_key_secret}})
    spec["volumes"] += secret_volumes(options.pod)
    tasks = [_dag_task(task, run, dict(plan.pod_xcom)) for task in plan.tasks]
    tasks.append({"name": plan.verdict_name, "template": VERDICT_NAME, "depends": plan.verdict_depends})
    main: dict[str, Any] = {"name": ENTRYPOINT, "dag": {"tasks": tasks}}
    if run == TEMPLATE_INPUTS:
        main["inputs"] = {"parameters": [{"name": name} for name in RUN_PARAMETERS]}
        if plan.run_sync:
            main["synchronization"] = synchronization(plan.run_sync)
    templates: list[dict[str, Any]] = [main]
    templates += _task_templates(plan, options, run)
    # A no-op (no pod): its phase is the Airflow DagRun state, see bridge.semantics.verdict_depends.
    templates.append({"name": VERDICT_NAME, "suspend": {"duration": "0"}})
    if has_exit_handler(plan, run):
        templates.append(exit_template(plan, options, run))
    spec["templates"] = templates
    return {"apiVersion": API_VERSION, "kind": "Workflow", "metadata": metadata, "spec": spec}


def template_ref(plan: Plan) -> dict[str, str]:
    """`spec.workflowTemplateRef` of the Workflows that run the DAG's WorkflowTemplate (same name as the DAG's Workflow)."""
    return {"name": plan.workflow_name}


def build_template_ref_workflow(plan: Plan, options: EmitOptions) -> dict[str, Any]:
    """A Workflow that runs the WorkflowTemplate (bridge split --emit workflowtemplate): no spec of its own.

    It carries what `bridge submit` reads and sets (the annotations, run-date and run-id) and nothing
    else: Argo refuses `templates` beside a workflowTemplateRef, and under `templateReferencing:
    Strict` every spec field but a short allow-list (docs/SCHEDULES.md). The DAG params keep the
    template's defaults (Argo merges arguments by name, the Workflow's value first).
    """
    metadata = _metadata(plan, options, generateName=f"{plan.workflow_name}-")
    parameters = [{"name": "run-date"}, {"name": "run-id", "value": ""}]
    spec = {"workflowTemplateRef": template_ref(plan), "arguments": {"parameters": parameters}}
    return {"apiVersion": API_VERSION, "kind": "Workflow", "metadata": metadata, "spec": spec}


def emit_workflow(plan: Plan, options: EmitOptions) -> str:
    """The Workflow as YAML text."""
    header = f"# Argo Workflow for Airflow DAG {plan.dag.dag_id!r}, generated by bridge split; do not edit.\n"
    if sync_files(plan, options):
        header += f"# First (once, and after every change): kubectl apply -f {' -f '.join(sync_files(plan, options))}   (semaphore limits)\n"
    header += f"# Submit: argo submit workflows/{plan.workflow_name}.yaml -p run-date=20240101\n"
    return header + to_yaml(build_workflow(plan, options))

