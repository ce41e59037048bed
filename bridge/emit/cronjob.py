"""Plan -> the schedule manifests: a batch/v1 CronJob running `bridge submit`, or an Argo CronWorkflow.

Pure: plain data in, text out. What the schedule means (Airflow's timetable) was recorded by the
loader in `plan.dag.timetable`; `bridge submit` asks Airflow with it at fire time.
"""

from __future__ import annotations

import json
from typing import Any

from bridge import names
from bridge.constants import AIRFLOW_UID, OUTPUTS_DIR, TIMETABLE_ANNOTATION
from bridge.emit.argo import GLOBAL_OUTPUTS, SCRATCH_VOLUME, build_workflow, security_context, template_ref
from bridge.emit.sync import POOLS_PATH, build_sync_configmaps, own_limits, sync_files, sync_path
from bridge.emit.yaml import to_yaml, to_yaml_documents
from bridge.model import ASSETS, POLL, EmitOptions, Plan

WORKFLOW_MOUNT = "/etc/bridge/workflow"
WORKFLOW_KEY = "workflow.yaml"
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
# The CronJob: after a controller outage of up to a day, Kubernetes starts the latest missed fire,
# and bridge submit starts what Airflow's scheduler starts when it returns (docs/SCHEDULES.md, Catchup).
STARTING_DEADLINE_SECONDS = 86400
# The CronWorkflow: each fire is one run, so a fire missed by more than an hour is left to backfill.
CRONWORKFLOW_STARTING_DEADLINE_SECONDS = 3600
HISTORY_LIMIT = 3
SUBMIT_BACKOFF_LIMIT = 3
SUBMIT_DEADLINE_SECONDS = 600


def cron_name(plan: Plan) -> str:
    """The CronJob / CronWorkflow name (52 characters at most: the controller appends a suffix)."""
    return names.argo_name(plan.dag.dag_id, names.CRON_NAME_MAX)


def schedule_problem(plan: Plan, kind: str = "cronjob") -> str:
    """Why this DAG gets no schedule manifest of `kind` (cronjob, cronworkflow; '' when it gets one)."""
    spec = plan.dag.timetable
    if spec is None:
        return "it has no schedule (schedule=None); submit runs with `argo submit` or `bridge submit --run-date`"
    if not spec.cron:
        return spec.reason or "its schedule is not a cron line"
    if spec.semantics == ASSETS and kind == "cronworkflow":
        return (f"{spec.reason}: only the CronJob, whose bridge submit evaluates the DAG's asset condition over "
                "its producers' events at each fire, can run it; use --schedule cronjob")
    if spec.semantics == POLL and kind == "cronworkflow":
        # Every CronWorkflow fire starts a Workflow; a polled timetable fires more often than it runs.
        return (f"{spec.reason}: only the CronJob, whose bridge submit asks the timetable at each fire and "
                "names each run once, can run it; use --schedule cronjob")
    return ""


def poll_note(plan: Plan) -> str:
    """What the CronJob of a timetable no cron line expresses does ('' for cron schedules)."""
    spec = plan.dag.timetable
    if spec is not None and spec.semantics == ASSETS:
        return (f"{spec.reason}: its CronJob fires every minute and bridge submit starts a run when the DAG's asset "
                "condition is met by the events its producers' Workflows recorded (docs/SCHEDULES.md, Assets)")
    if spec is not None and not spec.start_date and json.loads(spec.data).get("run_immediately") not in (None, False):
        return ("it sets run_immediately without a start_date: Airflow's scheduler would start the most recent "
                "past run when it first sees the DAG; its CronJob starts the first run at its first fire "
                "(`bridge submit --scheduled-time` starts that past run; docs/SCHEDULES.md)")
    if spec is None or spec.semantics != POLL:
        return ""
    return (f"{spec.reason}: its CronJob fires at {spec.cron!r} (UTC; every minute a run of the timetable can "
            "fall on) and bridge submit asks Airflow's timetable which run is due (docs/SCHEDULES.md, Other timetables)")


def _metadata(plan: Plan, options: EmitOptions, name: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if options.namespace:
        metadata["namespace"] = options.namespace
    metadata["labels"] = {"bridge.dev/dag": plan.workflow_name}
    return metadata


def _rbac(plan: Plan, options: EmitOptions, account: str) -> list[dict[str, Any]]:
    """A ServiceAccount allowed only what submitting needs: create/get Workflows, list them (the DAG's
    latest scheduled run decides what a fire after missed ones starts), read its own Job and its
    CronJob (when it last succeeded: the runs before are not started again)."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _metadata(plan, options, account),
        "rules": [
            {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create", "get", "list"]},
            {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["get"]},
        ],
    }
    subject: dict[str, Any] = {"kind": "ServiceAccount", "name": account}
    if options.namespace:
        subject["namespace"] = options.namespace
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(plan, options, account),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        "subjects": [subject],
    }
    account_doc = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _metadata(plan, options, account)}
    return [account_doc, role, binding]


def _submit_container(options: EmitOptions) -> dict[str, Any]:
    return {
        "name": "submit",
        "image": options.image,
        "command": ["bridge"],
        "args": ["submit", f"{WORKFLOW_MOUNT}/{WORKFLOW_KEY}", "--from-cronjob"],
        "env": [
            {"name": "BRIDGE_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "BRIDGE_JOB_NAME", "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{JOB_NAME_LABEL}']"}}},
        ],
        "volumeMounts": [
            {"name": "workflow", "mountPath": WORKFLOW_MOUNT, "readOnly": True},
            {"name": SCRATCH_VOLUME, "mountPath": "/tmp"},
        ],
        "securityContext": security_context(),
    }


def build_cronjob(plan: Plan, options: EmitOptions, workflow_text: str) -> list[dict[str, Any]]:
    """Semaphore ConfigMaps, ConfigMap (the Workflow), ServiceAccount, Role, RoleBinding and CronJob, in apply order."""
    spec = plan.dag.timetable
    assert spec is not None and spec.cron, schedule_problem(plan)
    name = cron_name(plan)
    account = f"{name}-submit"
    configmap_name = f"{name}-workflow"
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(plan, options, configmap_name),
        "data": {WORKFLOW_KEY: workflow_text},
    }
    labels = {"bridge.dev/dag": plan.workflow_name}
    pod_spec: dict[str, Any] = {
        "serviceAccountName": account,
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": AIRFLOW_UID, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [_submit_container(options)],
        "volumes": [
            {"name": "workflow", "configMap": {"name": configmap_name}},
            {"name": SCRATCH_VOLUME, "emptyDir": {}},
        ],
    }
    cron_metadata = _metadata(plan, options, name)
    # The same annotation as the Workflow's: the schedule as JSON, which bridge logical-date and submit read.
    cron_metadata["annotations"] = {"bridge.dev/dag-id": plan.dag.dag_id, TIMETABLE_ANNOTATION: spec.to_json()}
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": cron_metadata,
        "spec": {
            "schedule": spec.cron,
            "timeZone": spec.timezone,
            "concurrencyPolicy": "Forbid" if plan.dag.max_active_runs == 1 else "Allow",
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "successfulJobsHistoryLimit": HISTORY_LIMIT,
            "failedJobsHistoryLimit": HISTORY_LIMIT,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": {
                    "backoffLimit": SUBMIT_BACKOFF_LIMIT,
                    "activeDeadlineSeconds": SUBMIT_DEADLINE_SECONDS,
                    "template": {"metadata": {"labels": labels}, "spec": pod_spec},
                },
            },
        },
    }
    return [*build_sync_configmaps(plan, options), configmap, *_rbac(plan, options, account), cronjob]


def emit_cronjob(plan: Plan, options: EmitOptions, workflow_text: str) -> str:
    """The multi-document manifest for one `kubectl apply -f`."""
    from bridge.lint.rules import fits_client_side_apply

    spec = plan.dag.timetable
    assert spec is not None
    documents = build_cronjob(plan, options, workflow_text)
    # Only a large Workflow changes the line: client-side apply keeps a copy of each object in a 256 KiB annotation.
    workflow_configmap = next(doc for doc in documents if doc["kind"] == "ConfigMap" and WORKFLOW_KEY in doc["data"])
    apply = "kubectl apply -f" if fits_client_side_apply(workflow_configmap) else "kubectl apply --server-side -f"
    when = f"{spec.timetable.rsplit('.', 1)[-1]}, polled at {spec.cron} UTC" if spec.semantics == POLL else f"{spec.cron} in {spec.timezone}"
    header = (
        f"# Schedule of Airflow DAG {plan.dag.dag_id!r} ({when}), generated by bridge split; do not edit.\n"
        f"# {apply} cronjobs/{cron_name(plan)}.yaml   (each run: bridge submit, with Airflow's logical date)\n"
    )
    if own_limits(plan, options):
        header += f"# The first documents are the semaphore limits of {sync_path(plan)}, so they exist before any run.\n"
    if options.shared_pools and any(limit.pool for limit in plan.semaphore_limits):
        header += f"# Apply {POOLS_PATH} (the project's pools) first, or the whole project with kubectl apply -k.\n"
    if options.workflow_kind == "workflowtemplate":
        header += _template_first(plan)
    return header + to_yaml_documents(documents)


def _template_first(plan: Plan) -> str:
    return (
        f"# The runs reference WorkflowTemplate {plan.workflow_name!r}: "
        f"kubectl apply -f workflowtemplates/{plan.workflow_name}.yaml first.\n"
    )


# ----------------------------------------------------------------------------- Argo CronWorkflow

LOGICAL_DATE_TEMPLATE = "bridge-logical-date"
SCHEDULED_ENTRYPOINT = "bridge-scheduled"


def logical_date_template(plan: Plan, options: EmitOptions) -> dict[str, Any]:
    """The first step of a scheduled run: Airflow's logical date and run_id for workflow.scheduledTime.

    It writes them as output parameters, exported as global outputs too (`workflow.outputs.parameters`).
    """
    spec = plan.dag.timetable
    assert spec is not None and spec.cron, schedule_problem(plan, "cronworkflow")
    out = OUTPUTS_DIR
    return {
        "name": LOGICAL_DATE_TEMPLATE,
        "outputs": {
            "parameters": [
                {"name": "run-date", "globalName": "run-date", "valueFrom": {"path": f"{out}/run-date"}},
                {"name": "run-id", "globalName": "run-id", "valueFrom": {"path": f"{out}/run-id"}},
            ]
        },
        "container": {
            "image": options.image,
            "command": ["bridge"],
            "args": [
                "logical-date",
                "--timetable",
                spec.to_json(),
                "--scheduled-time",
                "{{workflow.scheduledTime}}",
                "--outputs",
                out,
            ],
            "volumeMounts": [{"name": SCRATCH_VOLUME, "mountPath": "/tmp"}],
            "securityContext": security_context(),
        },
    }


def _template_ref_spec(plan: Plan) -> dict[str, Any]:
    """The CronWorkflow's workflowSpec with --emit workflowtemplate: the template, entered at its scheduled entrypoint.

    run-date gets a placeholder value because Argo requires a value for every parameter at submission
    (validate.go, validateArgumentsValues); the scheduled entrypoint reads its first step's date instead.
    """
    placeholder = {"name": "run-date", "value": "scheduled", "description": "unused: the first step dates the run with Airflow's timetable"}
    return {
        "workflowTemplateRef": template_ref(plan),
        "entrypoint": SCHEDULED_ENTRYPOINT,
        "arguments": {"parameters": [placeholder]},
    }


def build_cronworkflow(plan: Plan, options: EmitOptions) -> dict[str, Any]:
    """An Argo CronWorkflow: a first step computes the logical date from workflow.scheduledTime.

    The step publishes `run-date` and `run-id` as global outputs; the task containers read those
    instead of the workflow parameters, so the parameter contract stays the Workflow's.
    """
    spec = plan.dag.timetable
    assert spec is not None and not schedule_problem(plan, "cronworkflow"), schedule_problem(plan, "cronworkflow")
    workflow = build_workflow(plan, options, GLOBAL_OUTPUTS)
    wf_spec = workflow["spec"]
    if options.workflow_kind == "workflowtemplate":
        wf_spec = _template_ref_spec(plan)
    else:
        wf_spec["entrypoint"] = SCHEDULED_ENTRYPOINT
        logical = logical_date_template(plan, options)
        steps = {
            "name": SCHEDULED_ENTRYPOINT,
            "steps": [[{"name": "logical-date", "template": LOGICAL_DATE_TEMPLATE}], [{"name": "run", "template": "main"}]],
        }
        wf_spec["templates"] = [steps, logical, *wf_spec["templates"]]
    metadata = _metadata(plan, options, cron_name(plan))
    metadata["annotations"] = dict(workflow["metadata"]["annotations"])
    cron_spec: dict[str, Any] = {
        "schedules": [spec.cron],
        "timezone": spec.timezone,
        "concurrencyPolicy": "Forbid" if plan.dag.max_active_runs == 1 else "Allow",
        "startingDeadlineSeconds": CRONWORKFLOW_STARTING_DEADLINE_SECONDS,
        "successfulJobsHistoryLimit": HISTORY_LIMIT,
        "failedJobsHistoryLimit": HISTORY_LIMIT,
        "workflowMetadata": {"labels": {"bridge.dev/dag": plan.workflow_name}},
        "workflowSpec": wf_spec,
    }
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": metadata, "spec": cron_spec}


def emit_cronworkflow(plan: Plan, options: EmitOptions) -> str:
    """The CronWorkflow as YAML text."""
    spec = plan.dag.timetable
    assert spec is not None
    header = f"# Argo CronWorkflow for Airflow DAG {plan.dag.dag_id!r} ({spec.cron} in {spec.timezone}), generated by bridge split; do not edit.\n"
    if sync_files(plan, options):
        header += f"# First (once, and after every change): kubectl apply -f {' -f '.join(sync_files(plan, options))}   (semaphore limits)\n"
    if options.workflow_kind == "workflowtemplate":
        header += _template_first(plan)
    header += f"# argo cron create cronworkflows/{cron_name(plan)}.yaml   (the first step computes Airflow's logical date)\n"
    return header + to_yaml(build_cronworkflow(plan, options))
