"""The throwaway database: its schema, the one DagRun, what the upstream pods passed on, what the task left.

Before the task runs: the DagRun with bridge's run_id and data interval, the upstream XCom
rows, and a mapped task's stand-ins (success, with their TaskMap rows). After it ran: the
task's states and the XCom rows it pushed. Airflow is imported inside the functions, which
run after `bridge.runtime.env` pointed Airflow at the throwaway home and database.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bridge.runtime.compat import dag_serialization, utcnow
from bridge.runtime.xcom import XComRow
from bridge.version_compat import AIRFLOW_3


def migrate_database() -> None:
    """Create the schema in the configured (empty) SQLite file, as `airflow db migrate` does."""
    from airflow.utils import db

    if AIRFLOW_3:
        db.upgradedb()
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        DagBundlesManager().sync_bundles_to_db()
    else:
        db.upgradedb(reserialize_dags=False)


def create_dag_run(
    dag: Any,
    *,
    run_id: str,
    logical_date: datetime,
    interval: tuple[datetime, datetime],
    conf: dict[str, Any],
    queued: bool,
    session: Any,
) -> Any:
    """Create the one DagRun (RUNNING, or QUEUED for a backfill to pick up) with our run_id and interval."""
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType

    state = DagRunState.QUEUED if queued else DagRunState.RUNNING
    run_type = DagRunType.from_run_id(run_id)
    if AIRFLOW_3:
        DagSerialization = dag_serialization()  # noqa: N806
        from airflow.utils.types import DagRunTriggeredByType

        scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        triggered_by = (
            DagRunTriggeredByType.TIMETABLE if run_type == DagRunType.SCHEDULED else DagRunTriggeredByType.CLI
        )
        dag_run = scheduler_dag.create_dagrun(
            run_id=run_id,
            logical_date=logical_date,
            data_interval=interval,
            run_after=max(interval[1], logical_date),
            conf=conf,
            run_type=run_type,
            triggered_by=triggered_by,
            state=state,
            start_date=utcnow(),
            session=session,
        )
        dag_run.dag = scheduler_dag
    else:
        if any(getattr(task, "outlets", None) for task in dag.tasks):
            # What Airflow 2's DAG processor does when it parses the file: the datasets get their rows,
            # without which a task's outlets record no event ("DatasetModel … not found").
            dag.bulk_write_to_db([dag], session=session)
        dag_run = dag.create_dagrun(
            state=state,
            execution_date=logical_date,
            run_id=run_id,
            start_date=utcnow(),
            external_trigger=run_type == DagRunType.MANUAL,
            conf=conf,
            run_type=run_type,
            data_interval=interval,
            session=session,
        )
    session.commit()
    return dag_run


def seed_xcom(db_path: str, dag_run: Any, rows: list[XComRow]) -> None:
    """Insert upstream rows into the fresh database, as if the upstream tasks had run here.

    A plain sqlite3 connection (foreign keys off, sqlite3's default): the upstream task
    instances the XCom rows point at exist only in other pods. The value is inserted
    exactly as received, so nothing is re-serialised.
    """
    if not rows:
        return
    import sqlite3

    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")  # UtcDateTime's SQLite text form
    with sqlite3.connect(db_path) as connection:
        check_xcom_table(connection)
        connection.executemany(
            "INSERT INTO xcom (dag_run_id, task_id, map_index, key, dag_id, run_id, value, timestamp) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    dag_run.id,
                    row.task_id,
                    row.map_index,
                    row.key,
                    dag_run.dag_id,
                    dag_run.run_id,
                    # Airflow 2 stores bytes of JSON text (LargeBinary); Airflow 3 a JSON column (text).
                    row.value if AIRFLOW_3 else row.value.encode(),
                    now,
                )
                for row in rows
            ],
        )
    connection.close()


# The xcom table as Airflow 2.10 to 3.3 define it (models/xcom.py): the columns seed_xcom writes,
# all of them, in every line bridge supports (docs/COMPATIBILITY.md, "XCom seeding").
XCOM_COLUMNS = ("dag_run_id", "task_id", "map_index", "key", "dag_id", "run_id", "value", "timestamp")


def check_xcom_table(connection: Any) -> None:
    """Refuse, with the difference named, an Airflow whose xcom table is not the one bridge seeds."""
    from bridge.version_compat import AIRFLOW_VERSION

    columns = {row[1]: row for row in connection.execute("PRAGMA table_info(xcom)")}
    missing = [name for name in XCOM_COLUMNS if name not in columns]
    # A NOT NULL column without a default that bridge does not write would make every insert fail.
    unknown = [name for name, row in columns.items() if name not in XCOM_COLUMNS and row[3] and row[4] is None and not row[5]]
    if missing or unknown:
        raise RuntimeError(
            f"Airflow {AIRFLOW_VERSION}'s xcom table is not the layout bridge seeds upstream XComs into "
            f"(missing {missing or 'nothing'}, new required {unknown or 'nothing'}); this Airflow line is not "
            "supported yet (docs/COMPATIBILITY.md)"
        )


def settle_stand_ins(dag_run: Any, stand_ins: set[str], rows: list[XComRow], session: Any) -> None:
    """A mapped task's upstream stand-ins: mark them success and record their TaskMap rows.

    In Airflow the upstream writes a TaskMap row (length, keys of its XCom) when it finishes;
    that ran in another pod, so the row is derived here from the XCom it passed on. Airflow
    expands the mapped task from these rows.
    """
    import json

    from airflow.models.taskmap import TaskMap
    from airflow.utils.state import TaskInstanceState

    if not stand_ins:
        return
    now = utcnow()
    for ti in dag_run.get_task_instances(session=session):
        if ti.task_id in stand_ins:
            ti.state, ti.start_date, ti.end_date = TaskInstanceState.SUCCESS, now, now
    for row in rows:
        if row.task_id not in stand_ins or row.key != "return_value":
            continue
        try:
            value = json.loads(row.value)
        except ValueError:
            continue  # a custom XCom backend's reference: Airflow resolves it when it maps
        if isinstance(value, (list, dict)):
            keys = list(value) if isinstance(value, dict) else None
            session.add(TaskMap(dag_run.dag_id, row.task_id, dag_run.run_id, row.map_index, len(value), keys))
    session.commit()


def ensure_pool(task: Any, session: Any) -> None:
    """Backfill mode: the throwaway database must know the task's pool, or the scheduler refuses it.

    The real limit is the Argo semaphore the pod already holds (docs/SCHEDULES.md), so the pool
    gets exactly the slots this one task needs.
    """
    from airflow.models.pool import Pool

    name = getattr(task, "pool", None)
    if not name or session.query(Pool).filter(Pool.pool == name).first() is not None:
        return
    session.add(Pool(pool=name, slots=max(1, int(getattr(task, "pool_slots", 1) or 1)),
                     description="bridge: the Argo semaphore holds the real limit", include_deferred=False))
    session.commit()


def task_states(dag_id: str, run_id: str, task_id: str, session: Any) -> list[tuple[int, str | None]]:
    """(map_index, state) of every task instance of the task, in map-index order."""
    from airflow.models.taskinstance import TaskInstance

    tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).all()
    return sorted(
        (ti.map_index, None if ti.state is None else str(getattr(ti.state, "value", ti.state))) for ti in tis
    )


def read_pushed_xcom(dag_id: str, run_id: str, task_id: str, session: Any) -> list[XComRow]:
    """Rows this task stored, with `value` exactly as stored (decoded to text)."""
    from sqlalchemy import text

    result = session.execute(
        text(
            "SELECT task_id, map_index, key, value FROM xcom "
            "WHERE dag_id = :dag_id AND run_id = :run_id AND task_id = :task_id"
        ),
        {"dag_id": dag_id, "run_id": run_id, "task_id": task_id},
    )
    rows: list[XComRow] = []
    for task, map_index, key, value in result:
        if isinstance(value, (bytes, bytearray, memoryview)):
            try:
                value = bytes(value).decode()
            except UnicodeDecodeError:
                raise ValueError(
                    f"task {task!r}: XCom key {key!r} is not text (pickled XCom?); "
                    "bridge passes JSON-serialisable XCom only: set enable_xcom_pickling=False"
                ) from None
        rows.append(XComRow(task, int(map_index), key, "null" if value is None else str(value)))
    return rows



def asset_events(dag_id: str, run_id: str, task_id: str, session: Any) -> list[dict[str, Any]]:
    """The asset (dataset) events Airflow recorded for this task's run, oldest first: what a
    consumer DAG's run receives as triggering events (docs/SCHEDULES.md, "Assets")."""
    from sqlalchemy import text

    kind = "asset" if AIRFLOW_3 else "dataset"
    name = "a.name" if AIRFLOW_3 else "a.uri"
    where = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id}
    chosen = "e.source_dag_id = :dag_id AND e.source_run_id = :run_id AND e.source_task_id = :task_id"
    result = session.execute(
        text(f"SELECT e.id, a.uri, {name}, e.extra, e.timestamp, e.source_map_index FROM {kind}_event e "
             f"JOIN {kind} a ON a.id = e.{kind}_id WHERE {chosen} ORDER BY e.timestamp, e.id"), where)
    # The aliases each event was emitted through (outlet_events[alias].add(asset)).
    aliases: dict[int, list[str]] = {}
    for event_id, alias in session.execute(
        text(f"SELECT e.id, al.name FROM {kind}_event e JOIN {kind}_alias_{kind}_event link ON link.event_id = e.id "
             f"JOIN {kind}_alias al ON al.id = link.alias_id WHERE {chosen} ORDER BY al.name"), where):
        aliases.setdefault(event_id, []).append(alias)
    events = []
    for event_id, uri, asset_name, extra, stamp, map_index in result:
        if isinstance(extra, (bytes, bytearray, memoryview)):
            extra = bytes(extra).decode()
        when = stamp if isinstance(stamp, str) else stamp.isoformat()
        record = {"uri": uri, "name": asset_name, "extra": json.loads(extra) if isinstance(extra, str) else (extra or {}),
                  "timestamp": _utc_text(when), "dag_id": dag_id, "task_id": task_id, "run_id": run_id,
                  "map_index": int(map_index if map_index is not None else -1)}
        if event_id in aliases:
            record["aliases"] = aliases[event_id]
        events.append(record)
    return events


def _utc_text(stamp: str) -> str:
    """A stored timestamp (SQLite keeps naive UTC text) as ISO 8601 with its UTC offset."""
    from datetime import datetime, timezone

    moment = datetime.fromisoformat(stamp.replace(" ", "T"))
    return (moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)).isoformat()


def seed_asset_events(dag_run: Any, events: Any, session: Any) -> None:
    """Store the events an asset-triggered run consumed, linked to its DagRun as Airflow's scheduler
    links them (`consumed_asset_events`), so that Airflow builds `triggering_asset_events`
    (Airflow 2: `triggering_dataset_events`) from its own rows."""
    from sqlalchemy import select

    if AIRFLOW_3:
        from airflow.models.asset import AssetEvent as Event
        from airflow.models.asset import AssetModel as Model

        consumed = dag_run.consumed_asset_events
    else:
        from airflow.models.dataset import DatasetEvent as Event
        from airflow.models.dataset import DatasetModel as Model

        consumed = dag_run.consumed_dataset_events
    for record in events:
        uri = str(record["uri"])
        where = [Model.uri == uri] + ([Model.name == str(record.get("name") or uri)] if AIRFLOW_3 else [])
        model = session.scalar(select(Model).where(*where))
        if model is None:
            model = Model(uri=uri, name=str(record.get("name") or uri)) if AIRFLOW_3 else Model(uri=uri)
            session.add(model)
            session.flush()
        link = {"asset_id": model.id} if AIRFLOW_3 else {"dataset_id": model.id}
        event = Event(
            **link,
            extra=record.get("extra") or {},
            source_dag_id=record.get("dag_id"),
            source_task_id=record.get("task_id"),
            source_run_id=record.get("run_id"),
            source_map_index=int(record.get("map_index", -1)),
            timestamp=datetime.fromisoformat(str(record["timestamp"])),
        )
        session.add(event)
        consumed.append(event)
    session.flush()
