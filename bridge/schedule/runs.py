"""One run of a DAG as a Workflow object: deterministic name, run-date and run-id. Pure."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import yaml

from bridge.constants import ASSET_EVENTS_PARAMETER, ASSET_TRIGGERED, TIMETABLE_ANNOTATION
from bridge.errors import ScheduleError
from bridge.model import ScheduleSpec
from bridge.names import run_name

UTC = timezone.utc  # noqa: UP017  (Python 3.9)


@dataclass(frozen=True)
class Run:
    """A run to start: Airflow's logical date, its run_id, and when it became due (if scheduled)."""

    logical_date: datetime  # UTC
    run_id: str
    scheduled_time: datetime | None = None
    # An asset-triggered run: the events it consumes (JSON list, bridge.schedule.assets), else "".
    asset_events: str = ""


def read_workflow(path: str) -> dict[str, Any]:
    """The Workflow bridge split wrote, checked to be one."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as exc:
        raise ScheduleError(f"cannot read the Workflow: {exc.strerror}", location=path) from None
    except yaml.YAMLError as exc:
        raise ScheduleError(f"not YAML: {exc}", location=path) from None
    if not isinstance(document, dict) or document.get("kind") != "Workflow":
        raise ScheduleError("is not an Argo Workflow; pass workflows/<name>.yaml written by bridge split", location=path)
    if "bridge.dev/dag-id" not in (document.get("metadata", {}).get("annotations") or {}):
        raise ScheduleError("has no bridge.dev/dag-id annotation; pass a Workflow written by bridge split", location=path)
    return document


def dag_id_of(workflow: dict[str, Any]) -> str:
    """The Airflow dag_id the Workflow runs."""
    return str(workflow["metadata"]["annotations"]["bridge.dev/dag-id"])


def schedule_of(workflow: dict[str, Any], path: str = "") -> ScheduleSpec:
    """The timetable bridge split recorded; an error for unscheduled DAGs."""
    text = (workflow["metadata"].get("annotations") or {}).get(TIMETABLE_ANNOTATION)
    if not text:
        raise ScheduleError(
            f"DAG {dag_id_of(workflow)!r} has no schedule (or was split by an older bridge); "
            "pass --run-date instead of a scheduled time",
            location=path or None,
        )
    return ScheduleSpec.from_json(text)


def workflow_for_run(workflow: dict[str, Any], run: Run, namespace: str | None) -> dict[str, Any]:
    """The Workflow object that starts `run`: fixed name, run-date and run-id set."""
    body = copy.deepcopy(workflow)
    rest = {key: value for key, value in body["metadata"].items() if key not in ("generateName", "name", "namespace")}
    metadata: dict[str, Any] = {"name": run_name(dag_id_of(workflow), run.logical_date, precise=bool(run.asset_events))}
    if namespace or body["metadata"].get("namespace"):
        metadata["namespace"] = namespace or body["metadata"]["namespace"]
    metadata.update(rest)
    body["metadata"] = metadata
    annotations = metadata.setdefault("annotations", {})
    annotations["bridge.dev/logical-date"] = run.logical_date.astimezone(UTC).isoformat()
    if run.scheduled_time is not None:
        annotations["bridge.dev/scheduled-time"] = run.scheduled_time.astimezone(UTC).isoformat()
    values = {"run-date": run.logical_date.astimezone(UTC).isoformat(), "run-id": run.run_id}
    if run.asset_events:
        annotations[ASSET_TRIGGERED] = run.logical_date.astimezone(UTC).isoformat()
        values[ASSET_EVENTS_PARAMETER] = run.asset_events
    parameters = body["spec"].setdefault("arguments", {}).setdefault("parameters", [])
    for parameter in parameters:
        if parameter.get("name") in values:
            parameter["value"] = values.pop(parameter["name"])
    parameters += [{"name": name, "value": value} for name, value in values.items()]
    return body
