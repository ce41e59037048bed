"""Airflow's own scheduler on asset events, the reference of tests/schedule/test_assets.py.

Run as a script with AIRFLOW_HOME (and its database) set and the DAGs serialised: for each URI
given (`uri@alias`: emitted through that alias, the asset created if new), Airflow records an
event of that asset (its AssetManager, as a producing task's success
does) and then runs one pass of its scheduler's DagRun creation (`_create_dagruns_for_dags`, which
queues, evaluates the conditions and creates asset-triggered runs). Prints, as JSON, the events
(uri, timestamp) and every asset-triggered run (dag_id, triggered date, consumed events).
"""

from __future__ import annotations

import json
import sys
import time


def main(uris: list[str]) -> None:
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.sqlalchemy import prohibit_commit
    from sqlalchemy import select

    try:
        from airflow.assets.manager import AssetManager as Manager
        from airflow.models.asset import AssetModel as Model
        kind, consumed_of = "asset_triggered", "consumed_asset_events"
    except ImportError:  # Airflow 2
        from airflow.datasets.manager import DatasetManager as Manager
        from airflow.models.dataset import DatasetModel as Model
        kind, consumed_of = "dataset_triggered", "consumed_dataset_events"
    runner = SchedulerJobRunner(job=Job())
    events = []
    for given in uris:
        uri, _, alias = given.partition("@")
        with create_session() as session:
            model = session.scalar(select(Model).where(Model.uri == uri))
            if model is None:  # an asset an alias brings: Airflow creates it when the event is registered
                model = Model(uri=uri, name=uri) if hasattr(Manager, "register_asset_change") else Model(uri=uri)
                session.add(model)
                session.flush()
            aliases = [alias] if alias else []
            if hasattr(Manager, "register_asset_change"):
                event = Manager.register_asset_change(asset=model, extra={}, source_alias_names=aliases, session=session)
            else:
                from airflow.datasets import Dataset
                from airflow.models.dataset import DatasetAliasModel

                for name in aliases:  # what Airflow 2's task instance does before registering the change
                    model.aliases.append(session.scalar(select(DatasetAliasModel).where(DatasetAliasModel.name == name)))
                event = Manager().register_dataset_change(dataset=Dataset(uri), extra={}, source_alias_names=aliases,
                                                          session=session)
            session.flush()
            events.append({"uri": uri, "timestamp": event.timestamp.isoformat()})
        time.sleep(0.05)
        if alias and not hasattr(Manager, "register_asset_change"):
            # Airflow 2 resolves an alias in a schedule when the DAG file is parsed, and asks its DAG
            # processor to parse the consumers again when the alias gains a dataset: that parse.
            from airflow.models.dagbag import DagBag

            DagBag(include_examples=False).sync_to_db()
        with create_session() as session, prohibit_commit(session) as guard:
            runner._create_dagruns_for_dags(guard, session)
    runs = []
    with create_session() as session:
        for run in session.scalars(select(DagRun).where(DagRun.run_id.startswith(kind)).order_by(DagRun.id)):
            triggered = getattr(run, "run_after", None) or run.execution_date
            consumed = [{"uri": (getattr(e, "asset", None) or e.dataset).uri, "timestamp": e.timestamp.isoformat()}
                        for e in sorted(getattr(run, consumed_of), key=lambda e: e.timestamp)]
            runs.append({"dag_id": run.dag_id, "triggered": triggered.isoformat(), "consumed": consumed})
    print(json.dumps({"events": events, "runs": runs}))


if __name__ == "__main__":
    main(sys.argv[1:])
