"""`ti.log_url` and `ti.mark_success_url`: the Argo UI's page of this pod, never an Airflow webserver.

There is no Airflow webserver behind a bridge pod, so the links Airflow builds from `[webserver]
base_url` (Airflow 2.11 `TaskInstance.log_url`, models/taskinstance.py:2275) or `[api] base_url`
(Airflow 3.3 task SDK `RuntimeTaskInstance.log_url`, sdk/execution_time/task_runner.py:863,
default http://localhost:8080/) lead nowhere. Both properties are replaced, class-wide, by one
that links the Argo UI's node page with its logs panel open, as the UI itself writes it
(ui/src/workflows/components/workflow-details/workflow-details.tsx: `historyUrl('workflows/
{namespace}/{name}', {tab, nodeId, sidePanel})`, sidePanel `logs:<nodeId>:<container>`).

Where the pieces come from, in the pod's environment:
- `BRIDGE_ARGO_UI_URL` and `BRIDGE_ARGO_WORKFLOW` (`{{workflow.namespace}}/{{workflow.name}}`),
  emitted by `bridge split --argo-ui-url URL`;
- `ARGO_NODE_ID` and `ARGO_WORKFLOW_NAME`, which Argo sets on every container of a pod
  (workflow/controller/workflowpod.go, `common.EnvVarNodeID`), and `bridge run` too;
- `BRIDGE_LOG_URL`, when set, wins: a link of the user's own (a log search, say) with the fields
  of `FIELDS` in braces, e.g. `https://logs.example.com/?q={workflow}+{node_id}`.
Without any of them the link is a placeholder that says how to get a real one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from bridge.version_compat import AIRFLOW_3

UI_URL_ENV = "BRIDGE_ARGO_UI_URL"
WORKFLOW_ENV = "BRIDGE_ARGO_WORKFLOW"  # <namespace>/<workflow name>
NODE_ID_ENV = "ARGO_NODE_ID"
WORKFLOW_NAME_ENV = "ARGO_WORKFLOW_NAME"  # also set by Argo on every container (no namespace beside it)
OVERRIDE_ENV = "BRIDGE_LOG_URL"
MAIN_CONTAINER = "main"  # Argo's name for a container template's container
# RFC 2606 reserves .invalid: the placeholder can never reach a real host, and reads as the fix.
PLACEHOLDER = "https://argo-ui-url-not-set.invalid/split-with--argo-ui-url"
FIELDS = ("namespace", "workflow", "node_id", "dag_id", "task_id", "run_id", "map_index", "try_number")


def task_fields(ti: Any, environ: Mapping[str, str]) -> dict[str, str]:
    """The values a link may name: where the pod runs (Argo) and which task instance it is (Airflow)."""
    namespace, _, workflow = environ.get(WORKFLOW_ENV, "").partition("/")
    map_index = getattr(ti, "map_index", -1)
    try_number = getattr(ti, "try_number", None)
    return {
        "namespace": namespace,
        "workflow": workflow or environ.get(WORKFLOW_NAME_ENV, ""),
        "node_id": environ.get(NODE_ID_ENV, ""),
        "dag_id": str(ti.dag_id),
        "task_id": str(ti.task_id),
        "run_id": str(ti.run_id),
        "map_index": "" if map_index is None else str(map_index),
        "try_number": "" if try_number is None else str(try_number),
    }


def log_url(ti: Any, environ: Mapping[str, str] | None = None) -> str:
    """The link to this task instance's logs: BRIDGE_LOG_URL, else the Argo UI's node page, else the placeholder."""
    environ = os.environ if environ is None else environ
    fields = task_fields(ti, environ)
    custom = environ.get(OVERRIDE_ENV, "")
    if custom:
        return re.sub(
            r"\{(\w+)\}", lambda m: quote(fields[m.group(1)], safe="") if m.group(1) in fields else m.group(0), custom
        )
    base = environ.get(UI_URL_ENV, "").rstrip("/")
    node = fields["node_id"]
    if base and fields["namespace"] and fields["workflow"]:
        path = f"{base}/workflows/{quote(fields['namespace'], safe='')}/{quote(fields['workflow'], safe='')}"
        if not node:
            return path
        # The order and encoding of Argo UI's own URLSearchParams.
        return path + "?" + urlencode({"tab": "workflow", "nodeId": node, "sidePanel": f"logs:{node}:{MAIN_CONTAINER}"})
    query = {key: fields[key] for key in ("workflow", "node_id", "dag_id", "task_id", "run_id") if fields[key]}
    return PLACEHOLDER + "?" + urlencode(query)


def _log_url_property(self: Any) -> str:
    return log_url(self)


def install() -> None:
    """Replace `log_url` and `mark_success_url` on the task instance class the installed Airflow line uses."""
    if AIRFLOW_3:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance as cls
    else:
        from airflow.models.taskinstance import TaskInstance as cls
    if getattr(cls.__dict__.get("log_url"), "fget", None) is _log_url_property:
        return
    link = property(_log_url_property, doc="The Argo UI's page of this pod (bridge.runtime.links).")
    cls.log_url = link
    # Argo has no "mark success"; the node page is where a person acts on the task (Airflow 3 also
    # makes this link the log link).
    cls.mark_success_url = link
