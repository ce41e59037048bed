"""A native KubernetesPodOperator pod rendered for one run (`bridge-task run --render-pod`).

The task runs on the throwaway Airflow as any task does, so Airflow renders its templated fields
with the run's full context (`ds`, params, `dag_run.conf`, macros, Variables, `ti.xcom_pull` of
its upstreams' documents). Only its `execute` is replaced: instead of asking the Kubernetes API
for a pod, it asks the provider to build the pod from the rendered fields
(`build_pod_request_obj(context, dry_run=True)`), and writes it as the strategic merge patch Argo
applies to the task's pod (`pod.json`, the template's `podSpecPatch`), its image (`image`) and its
label and annotation values (`metadata/<i>`: pod metadata has no patch, the template reads them).
The pod itself then runs with no Airflow in it (docs/SEMANTICS.md, "KubernetesPodOperator").
"""

from __future__ import annotations

import json
import os
from typing import Any

from bridge.podspec import METADATA_DIR, metadata_entries, pod_patch, provider_pod, stable_volume_names, translate_pod

POD_FILE = "pod.json"
IMAGE_FILE = "image"


def rendered_pod(task: Any, context: Any) -> dict[str, Any]:
    """The rendered task's pod as translated template fields (bridge.podspec.translate_pod)."""
    where = f"task {task.task_id!r} ({type(task).__name__})"
    pod = provider_pod(task, context)
    return translate_pod(stable_volume_names(pod), task.base_container_name, where, task.task_id)


def install(task: Any, outputs: str) -> None:
    """Replace the task's execute (on its class: Airflow runs a rendered copy) by writing its pod."""
    cls = type(task)

    def execute(self: Any, context: Any, **_safeguard: Any) -> None:  # Airflow 2's ExecutorSafeguard sentinel
        template = rendered_pod(self, context)
        os.makedirs(outputs, exist_ok=True)
        with open(os.path.join(outputs, POD_FILE), "w", encoding="utf-8") as handle:
            handle.write(json.dumps(pod_patch(template), sort_keys=True, separators=(",", ":")))
        with open(os.path.join(outputs, IMAGE_FILE), "w", encoding="utf-8") as handle:
            handle.write(template["container"].get("image", ""))
        # Each label and annotation value, rendered: the pod's template reads those it needs.
        os.makedirs(os.path.join(outputs, METADATA_DIR), exist_ok=True)
        for index, (_, _, value) in enumerate(metadata_entries(self.labels, self.annotations)):
            with open(os.path.join(outputs, METADATA_DIR, str(index)), "w", encoding="utf-8") as handle:
                handle.write(str(value))
        self.log.info("rendered the pod of %s for this run: %s", self.task_id, template["container"])

    cls.execute = execute
