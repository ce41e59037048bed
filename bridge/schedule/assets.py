"""Asset-scheduled DAGs on Argo: the run Airflow's scheduler would create from its producers' events.

Airflow records an asset event when a task with outlets succeeds, queues the DAGs scheduled on that
asset (AssetDagRunQueue: one row per asset and DAG, the first event since the DAG's last
asset-triggered run), and its scheduler creates a run when the DAG's condition holds over the queued
assets: triggered at the newest queued row, consuming every event of its assets after the previous
asset-triggered run's and up to that moment (Airflow 3.3 `_create_dag_runs_asset_triggered`,
`DagModel.dags_needing_dagruns`; 2.11 `_create_dag_runs_dataset_triggered`). bridge keeps the same
facts in the cluster, no database: a producer's event is its pod's output `a` (what Airflow
recorded in the pod, bridge.runtime.database.asset_events), found through the label its Workflow
carries per asset; the previous run is the DAG's newest Workflow annotated `bridge.dev/asset-
triggered`. The consumer's CronJob fires every minute and `bridge submit --from-cronjob` calls
`asset_run` (docs/SCHEDULES.md, "Assets").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bridge.argo.status import workflow_nodes
from bridge.constants import ASSET_LABEL_PREFIX, ASSET_OUTPUT, ASSET_TRIGGERED
from bridge.model import ScheduleSpec
from bridge.names import asset_label
from bridge.schedule.runs import Run

UTC = timezone.utc  # noqa: UP017  (Python 3.9)
GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "workflows"


@dataclass(frozen=True)
class Event:
    """One asset event a producer's pod recorded."""

    uri: str
    timestamp: datetime
    record: Mapping[str, Any]  # as bridge-task wrote it: uri, name, aliases, extra, timestamp, dag_id, task_id, run_id, map_index

    @property
    def key(self) -> tuple[str, ...]:
        """Which event it is (a Workflow listed under two of its subjects, an event matching two leaves: once)."""
        record = self.record
        return (str(record.get("dag_id")), str(record.get("run_id")), str(record.get("task_id")), self.uri,
                self.timestamp.isoformat())


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def matches(record: Mapping[str, Any], subject: str) -> bool:
    """Whether an event is one of `subject` (bridge.airflow.timetables.asset_subject): of the asset
    with that URI or name, or emitted through that alias."""
    from bridge.airflow.timetables import asset_subject

    name, aliases = str(record.get("name") or record.get("uri")), record.get("aliases") or ()
    return subject in (record.get("uri"), asset_subject("name", name), *(asset_subject("alias", str(a)) for a in aliases))


def events_of(workflows: Sequence[Mapping[str, Any]], subject: str) -> list[Event]:
    """The events of `subject` in the producers' Workflows: their succeeded pods' output `a`, oldest first."""
    found: dict[tuple[str, ...], Event] = {}
    for workflow in workflows:
        for node in workflow_nodes(workflow).values():
            if node.get("type") != "Pod" or node.get("phase") != "Succeeded":
                continue
            params = (node.get("outputs") or {}).get("parameters") or []
            text = next((p.get("value") for p in params if p.get("name") == ASSET_OUTPUT), None)
            try:
                records = json.loads(text) if text else []
            except ValueError:
                continue
            for record in records if isinstance(records, list) else []:
                if isinstance(record, dict) and record.get("uri") and record.get("timestamp") and matches(record, subject):
                    event = Event(str(record["uri"]), _time(str(record["timestamp"])), record)
                    found[event.key] = event
    return sorted(found.values(), key=lambda e: e.timestamp)


def asset_run(spec: ScheduleSpec, events: Mapping[str, Sequence[Event]], previous: datetime | None,
              floor: datetime | None, now: datetime) -> Run | None:
    """The run Airflow's scheduler creates now, or None when the condition does not hold.

    `previous`: when the DAG's latest asset-triggered run was triggered; `floor`: with catchup off
    and no previous run, when the DAG began to be scheduled on its assets (Airflow 3: the backlog
    before is skipped)."""
    from bridge.airflow import timetables

    after = previous or floor
    fresh = {subject: [e for e in found if (after is None or e.timestamp > after) and e.timestamp <= now]
             for subject, found in events.items()}
    queued = {subject: found[0].timestamp for subject, found in fresh.items() if found}  # the queue row: the first event since
    if not queued or not timetables.condition_met(spec, set(queued)):
        return None
    triggered = max(queued.values())
    kept = set(timetables.asset_subjects(spec, consumed=True))
    consumed = {e.key: e for subject, found in fresh.items() if subject in kept for e in found if e.timestamp <= triggered}
    records = [dict(e.record) for e in sorted(consumed.values(), key=lambda e: e.timestamp)]
    return Run(logical_date=triggered, run_id=timetables.asset_run_id(triggered),
               asset_events=json.dumps(records, sort_keys=True, separators=(",", ":")))


def list_workflows(api: Any, namespace: str, selector: str) -> list[dict[str, Any]]:
    from kubernetes import client

    listed = client.CustomObjectsApi(api).list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, label_selector=selector)
    return list(listed.get("items") or [])


def producer_events(api: Any, namespace: str, subjects: Sequence[str]) -> dict[str, list[Event]]:
    """Each subject's events (an asset's, a name's, an alias's), from the Workflows labelled as
    producing it in the namespace."""
    return {subject: events_of(list_workflows(api, namespace, asset_label(subject, ASSET_LABEL_PREFIX)), subject)
            for subject in subjects}


def previous_trigger(api: Any, namespace: str, dag_label: str) -> datetime | None:
    """When the DAG's latest asset-triggered run was triggered (its Workflows' annotation)."""
    stamps = [_time(str(notes[ASSET_TRIGGERED])) for item in list_workflows(api, namespace, f"bridge.dev/dag={dag_label}")
              for notes in [(item.get("metadata") or {}).get("annotations") or {}] if notes.get(ASSET_TRIGGERED)]
    return max(stamps, default=None)


def cronjob_created(api: Any, namespace: str, job_name: str) -> datetime | None:
    """When the CronJob of this Job was created: when the DAG began to be scheduled on its assets."""
    from bridge.schedule.submit import cronjob_of_job

    cron = cronjob_of_job(api, namespace, job_name)
    created = None if cron is None else cron.metadata.creation_timestamp
    return None if created is None else created.astimezone(UTC)


def runs_due(spec: ScheduleSpec, api: Any, namespace: str, dag_label: str, job_name: str, now: datetime) -> list[Run]:
    """The asset-triggered run to start at this fire ([] while the condition does not hold)."""
    from bridge.airflow import timetables
    from bridge.version_compat import AIRFLOW_3

    events = producer_events(api, namespace, timetables.asset_subjects(spec))
    previous = previous_trigger(api, namespace, dag_label)
    # Airflow 3 floors the first run's events at when the DAG began to be scheduled on its assets
    # (its asset references' creation): a condition of aliases and references only has no floor.
    assets = any(not s.startswith("alias:") for s in timetables.asset_subjects(spec, consumed=True))
    floor = cronjob_created(api, namespace, job_name) if previous is None and not spec.catchup and AIRFLOW_3 and assets else None
    run = asset_run(spec, events, previous, floor, now)
    return [] if run is None else [run]
