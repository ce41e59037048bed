"""Send a fixed list of Execution API requests to one transport and print what came back.

    python -m tests.runtime.api_requests direct|full DAG_FILE

Run by tests/runtime/test_direct_api.py in a fresh process per mode: a throwaway database
(bridge-task's own set-up), a DagRun of DAG_FILE's `wide` DAG, and then the requests the task
SDK's client makes, built by that client (`build_request`: its headers, its API version) and
handed to the transport that `bridge-task` would use: bridge's direct one, or Airflow's app
(`full`). Prints one JSON document: normalised responses (times and ids replaced), the kept
database path, and whether the direct transport had handed over to Airflow's app before and
after the last request (which only Airflow's app answers).
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from bridge.runtime import env as runtime_env
from bridge.runtime import runner

_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalise(value: Any) -> Any:
    """Times -> "<time>", uuids -> "<id>", recursively (they differ between any two runs)."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        return "<time>" if _TIME.match(value) else _UUID.sub("<id>", value)
    return value


def main(mode: str, dag_file: str) -> None:
    state_dir = runtime_env.make_state_dir()
    db_path = os.path.join(state_dir, runtime_env.DB_NAME)
    runtime_env.apply_environment(runtime_env.airflow_environment(state_dir, os.path.dirname(dag_file), db_path))
    if mode == "full":
        os.environ["BRIDGE_FULL_EXECUTION_API"] = "1"
    runner.provide_database(db_path)

    import pendulum
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.sdk.api.datamodels._generated import TIEnterRunningPayload
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor
    from airflow.utils.state import TaskInstanceState

    from bridge.runtime import compat, database, execution_api, taskfile

    bag = BundleDagBag(dag_folder=dag_file, bundle_path=os.path.dirname(dag_file), bundle_name=compat.BUNDLE_NAME,
                       safe_mode=False, load_op_links=False)
    sync_bag_to_db(bag, compat.BUNDLE_NAME, None)
    dag = bag.dags["wide"]
    date = pendulum.datetime(2024, 1, 2, tz="UTC")
    with compat.session_scope() as session:
        dag_run = database.create_dag_run(dag, run_id="manual__x", logical_date=date,
                                          interval=taskfile.data_interval(dag, date), conf={"n": 1}, queued=False,
                                          session=session)
        tis = {ti.task_id: ti for ti in dag_run.get_task_instances(session=session)}
        for task_id in ("a", "d"):
            tis[task_id].state, tis[task_id].try_number = TaskInstanceState.QUEUED, 1
        session.commit()
        a, d = str(tis["a"].id), str(tis["d"].id)
    # Values of a mapped upstream "m" (three map indexes), as bridge-task seeds received XCom.
    from bridge.runtime.xcom import XComRow

    database.seed_xcom(db_path, dag_run, [XComRow("m", 0, "return_value", "10"), XComRow("m", 1, "return_value", "[20]"),
                                         XComRow("m", 2, "return_value", '{"x": 1}')])

    execution_api.prepare_execution_api()
    client = InProcessTestSupervisor._api_client(dag)
    transport = client._transport
    now = pendulum.datetime(2024, 1, 3, tz="UTC").isoformat()
    start = TIEnterRunningPayload(pid=123, hostname="host", unixname="user", start_date=now).model_dump_json()
    x = "xcoms/wide/manual__x/a"
    m = "xcoms/wide/manual__x/m/return_value"
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", f"task-instances/{a}/run", {"content": start}),
        ("PUT", f"task-instances/{a}/rtif", {"json": {"bash_command": "echo 1", "env": "None"}}),
        ("POST", f"{x}/return_value", {"json": ["v"], "params": {"mapped_length": 1}}),
        ("POST", f"{x}/k/with/slash", {"json": {"n": 1}}),
        ("POST", f"{x}/result", {"json": None, "params": {"dag_result": True}}),
        ("GET", f"{x}/return_value", {}),
        ("GET", f"{x}/nope", {}),
        ("GET", m, {"params": {"map_index": 1}}),
        ("GET", m, {"params": {"offset": 0}}),
        ("GET", m, {"params": {"offset": -1}}),
        ("GET", m, {"params": {"offset": 5}}),
        ("GET", f"{m}/item/0", {}),
        ("GET", f"{m}/item/-1", {}),
        ("GET", f"{m}/item/7", {}),
        ("GET", f"{m}/slice", {}),
        ("GET", f"{m}/slice", {"params": {"include_prior_dates": True}}),
        ("GET", f"{x}/return_value", {"params": {"include_prior_dates": True}}),
        ("HEAD", m, {}),
        ("HEAD", f"{x}/nope", {}),
        ("GET", f"{x}/k/with/slash", {}),
        ("DELETE", f"{x}/k/with/slash", {}),
        ("GET", f"{x}/k/with/slash", {}),
        ("DELETE", m, {"params": {"map_index": 1}}),
        ("GET", f"{m}/slice", {}),
        ("PATCH", f"task-instances/{a}/skip-downstream", {"json": {"tasks": ["b", ["c", -1]]}}),
        ("PATCH", f"task-instances/{a}/state", {"json": {"state": "success", "end_date": now, "task_outlets": [],
                                                         "outlet_events": [], "rendered_map_index": None}}),
        ("PATCH", f"task-instances/{d}/run", {"content": start}),
        ("PATCH", f"task-instances/{d}/state", {"json": {"state": "failed", "end_date": now,
                                                         "rendered_map_index": "shown"}}),
    ]
    responses = []
    for method, url, kwargs in requests:
        if "content" in kwargs:  # what Client.request adds to a raw body
            kwargs = {**kwargs, "headers": {"content-type": "application/json"}}
        response = transport.handle_request(client.build_request(method, url, **kwargs))
        body = response.read()
        responses.append({
            "request": _UUID.sub("<id>", f"{method} {url} {kwargs.get('params', '')}"),
            "status": response.status_code,
            "content_range": response.headers.get("content-range"),
            "body": normalise(json.loads(body)) if body else None,
        })
    handed_over_before = getattr(transport, "_fallback", None) is not None
    # Only Airflow's app answers a bounded slice; then it answers everything.
    for method, url, kwargs in [("GET", f"{m}/slice", {"params": {"start": 1}}), ("GET", f"{x}/return_value", {})]:
        response = transport.handle_request(client.build_request(method, url, **kwargs))
        responses.append({"request": _UUID.sub("<id>", f"{method} {url}"), "status": response.status_code,
                          "body": normalise(json.loads(response.read()))})
    print(json.dumps({
        "responses": responses,
        "db": db_path,
        "handed_over_before": handed_over_before,
        "handed_over_after": getattr(transport, "_fallback", None) is not None,
    }))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (the app's loop thread), as bridge-task does


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
