"""Plan + EmitOptions -> file contents. Pure functions: no Airflow, no file system."""

from __future__ import annotations

from bridge.emit.argo import build_template_ref_workflow, emit_workflow
from bridge.emit.cronjob import cron_name, emit_cronjob, emit_cronworkflow, schedule_problem
from bridge.emit.dagfile import emit_task_files
from bridge.emit.image import emit_image
from bridge.emit.sync import emit_sync, sync_path
from bridge.emit.workflowtemplate import emit_workflow_template, template_path
from bridge.emit.yaml import to_yaml
from bridge.model import EmitOptions, Plan


def emit_all(plan: Plan, options: EmitOptions) -> dict[str, str]:
    """Every text file `bridge split` writes, keyed by path relative to the output folder."""
    files: dict[str, str] = {}
    files.update(emit_task_files(plan))
    files[f"workflows/{plan.workflow_name}.yaml"] = emit_workflow(plan, options)
    if options.workflow_kind == "workflowtemplate":
        files[template_path(plan)] = emit_workflow_template(plan, options)
    if plan.semaphore_limits:
        files[sync_path(plan)] = emit_sync(plan, options)
    if options.schedule_kind != "none" and not schedule_problem(plan):
        if options.schedule_kind == "cronworkflow":
            files[f"cronworkflows/{cron_name(plan)}.yaml"] = emit_cronworkflow(plan, options)
        else:
            workflow = files[f"workflows/{plan.workflow_name}.yaml"]
            if options.workflow_kind == "workflowtemplate":  # the ConfigMap holds a Workflow referencing the template
                workflow = to_yaml(build_template_ref_workflow(plan, options))
            files[f"cronjobs/{cron_name(plan)}.yaml"] = emit_cronjob(plan, options, workflow)
    files.update(emit_image(plan, options))
    return dict(sorted(files.items()))
