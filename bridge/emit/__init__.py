"""Plan + EmitOptions -> file contents. Pure functions: no Airflow, no file system."""

from __future__ import annotations

from bridge.emit.argo import build_template_ref_workflow, emit_workflow
from bridge.emit.cronjob import cron_name, emit_cronjob, emit_cronworkflow, schedule_problem
from bridge.emit.dagfile import emit_task_files
from bridge.emit.image import emit_image
from bridge.emit.kustomize import KUSTOMIZATION, emit_kustomization
from bridge.emit.rbac import emit_task_rbac, rbac_path
from bridge.emit.sync import POOLS_PATH, emit_pools, emit_sync, own_limits, sync_path
from bridge.emit.workflowtemplate import emit_workflow_template, template_path
from bridge.emit.yaml import to_yaml
from bridge.model import EmitOptions, Plan, Project


def emit_all(plan: Plan, options: EmitOptions) -> dict[str, str]:
    """Every text file of one DAG, keyed by path relative to the output folder (the image is the project's)."""
    files: dict[str, str] = {}
    files.update(emit_task_files(plan))
    files[f"workflows/{plan.workflow_name}.yaml"] = emit_workflow(plan, options)
    if options.workflow_kind == "workflowtemplate":
        files[template_path(plan)] = emit_workflow_template(plan, options)
    if own_limits(plan, options):
        files[sync_path(plan)] = emit_sync(plan, options)
    role = emit_task_rbac(plan, options)
    if role:
        files[rbac_path(plan)] = role
    if options.schedule_kind != "none" and not schedule_problem(plan, options.schedule_kind):
        if options.schedule_kind == "cronworkflow":
            files[f"cronworkflows/{cron_name(plan)}.yaml"] = emit_cronworkflow(plan, options)
        else:
            workflow = files[f"workflows/{plan.workflow_name}.yaml"]
            if options.workflow_kind == "workflowtemplate":  # the ConfigMap holds a Workflow referencing the template
                workflow = to_yaml(build_template_ref_workflow(plan, options))
            files[f"cronjobs/{cron_name(plan)}.yaml"] = emit_cronjob(plan, options, workflow)
    return dict(sorted(files.items()))


def emit_project(project: Project, plans: list[Plan], options: EmitOptions) -> dict[str, str]:
    """Every text file of a project: each DAG's, the shared pools, the one image and the kustomization."""
    files: dict[str, str] = {}
    for plan in plans:
        files.update(emit_all(plan, options))
    if options.shared_pools and any(limit.pool for plan in plans for limit in plan.semaphore_limits):
        files[POOLS_PATH] = emit_pools(plans, options)
    files.update(emit_image(project, plans, options))
    files[KUSTOMIZATION] = emit_kustomization(plans, files)
    return dict(sorted(files.items()))
