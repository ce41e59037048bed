"""Airflow 3: answer the task's common Execution API calls in-process, without building the API app.

On Airflow 3 the task runner (Airflow's task SDK) reports to the scheduler side through the
Execution API. `dag.test()` serves it in-process: a FastAPI/Cadwyn app behind an httpx
transport, about 2 s and 50 MB to import and build for one trivial task (docs/DESIGN.md,
"Airflow 3 in-process Execution API"). Most tasks only make a handful of calls: start
(`/run`), finish (`/state`), rendered fields (`/rtif`), XCom get/set/count/delete and
skip-downstream. `DirectTransport` answers exactly those, on their common path, with the
same statements on the same ORM models as Airflow's routes (airflow/api_fastapi/
execution_api/routes/task_instances.py and xcoms.py, 3.3), and hands every other call, and
every call off that path (a deferral, a reschedule, asset outlets, a state conflict, fail-fast
DAGs, multi-team, OpenTelemetry spans …) to Airflow's own in-process app, built on first use.
From then on the app answers everything, so no task sees a mix after an unusual call.

The client is Airflow's own (`airflow.sdk.api.client.Client`): requests and responses are
the ones the real app would see and send, parsed by the client's own models. The direct path
is used only when the installed task SDK speaks `API_VERSION`, the version these handlers
follow; any other version uses Airflow's app for every call. `BRIDGE_FULL_EXECUTION_API=1`
forces Airflow's app. tests/runtime/test_direct_api.py runs tasks both ways and compares the
databases row by row.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx

log = logging.getLogger("bridge.runtime")

# The Execution API version whose routes these handlers follow (Airflow 3.3).
API_VERSION = "2026-06-30"

_TI_PATH = re.compile(r"^/task-instances/(?P<id>[0-9a-fA-F-]{36})/(?P<action>run|state|rtif|skip-downstream)$")
_XCOM_PATH = re.compile(r"^/xcoms/(?P<dag_id>[^/]+)/(?P<run_id>[^/]+)/(?P<task_id>[^/]+)/(?P<key>.+)$")
# The sequence routes are registered before the plain XCom ones, so for GET they win (FastAPI
# matches in order): a key ending in /slice or /item/<n> is read as one of them, as Airflow does.
_XCOM_ITEM = re.compile(r"^(?P<key>.+)/item/(?P<offset>[^/]+)$")
_XCOM_SLICE = re.compile(r"^(?P<key>.+)/slice$")
_TERMINAL = ("failed", "skipped", "removed", "upstream_failed")


class Unsupported(Exception):
    """The call is not on the direct path: Airflow's own app answers it."""


def _json_response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.Response(status, content=content, headers={"content-type": "application/json", **(headers or {})})


def _not_found(message: str) -> httpx.Response:
    return _json_response(404, {"detail": {"reason": "not_found", "message": message}})


def _parse_datetime(value: str) -> datetime:
    from airflow._shared.timezones import timezone

    return timezone.coerce_datetime(datetime.fromisoformat(value))


def _query(request: httpx.Request) -> dict[str, str]:
    """Single-valued query parameters; a repeated one is off the direct path."""
    raw = parse_qs(request.url.query.decode(), keep_blank_values=True)
    if any(len(values) != 1 for values in raw.values()):
        raise Unsupported("repeated query parameter")
    return {name: values[0] for name, values in raw.items()}


def _int_param(params: dict[str, str], name: str, default: int | None) -> int | None:
    if name not in params:
        return default
    try:
        return int(params[name])
    except ValueError:
        raise Unsupported(f"{name}={params[name]!r}") from None


def _bool_param(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise Unsupported(f"{name}={value!r}")


def _at_position(query: Any, offset: int) -> Any:
    """The XCom query from the `offset`-th value in map-index order (negative: from the end)."""
    from airflow.models.xcom import XComModel

    query = query.order_by(None)
    if offset >= 0:
        return query.order_by(XComModel.map_index.asc()).offset(offset)
    return query.order_by(XComModel.map_index.desc()).offset(-1 - offset)


def _xcom_not_found(dag_id: str, run_id: str, task_id: str, key: str, where: str) -> httpx.Response:
    return _not_found(f"XCom with key={key!r} {where} not found for task {task_id!r} in DAG run {run_id!r} of {dag_id!r}")


def direct_path_available() -> str | None:
    """None when the direct path may be used, else why not (logged once by the caller)."""
    from airflow.configuration import conf
    from airflow.sdk.api.datamodels._generated import API_VERSION as client_version

    if client_version != API_VERSION:
        return f"the task SDK speaks Execution API {client_version}, bridge's direct path follows {API_VERSION}"
    if conf.getboolean("core", "multi_team", fallback=False):
        return "multi-team mode"
    if conf.getboolean("traces", "otel_on", fallback=False):
        return "OpenTelemetry traces are on (Airflow's app emits the task spans)"
    return None


class DirectTransport(httpx.BaseTransport):
    """An httpx transport: common calls answered directly, the rest by Airflow's app (`fallback()`)."""

    def __init__(self, fallback: Callable[[], httpx.BaseTransport]) -> None:
        self._make_fallback = fallback
        self._fallback: httpx.BaseTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._fallback is None:
            try:
                return self._direct(request)
            except Unsupported as why:
                log.info("bridge: %s %s goes to Airflow's Execution API app (%s)",
                         request.method, request.url.path, why)
                self._fallback = self._make_fallback()
        return self._fallback.handle_request(request)

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()

    # ------------------------------------------------------------------ routing

    def _direct(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if match := _TI_PATH.match(path):
            handler = {
                ("PATCH", "run"): self._ti_run,
                ("PATCH", "state"): self._ti_update_state,
                ("PUT", "rtif"): self._ti_put_rtif,
                ("PATCH", "skip-downstream"): self._ti_skip_downstream,
            }.get((method, match["action"]))
            if handler is None:
                raise Unsupported("no direct handler")
            from uuid import UUID

            return handler(UUID(match["id"]), self._body(request))
        if match := _XCOM_PATH.match(path):
            where = (match["dag_id"], match["run_id"], match["task_id"])
            if method == "GET" and (item := _XCOM_ITEM.match(match["key"])):
                return self._xcom_item(*where, item["key"], item["offset"], request)
            if method == "GET" and (sliced := _XCOM_SLICE.match(match["key"])):
                return self._xcom_slice(*where, sliced["key"], request)
            xcom_handler = {"GET": self._xcom_get, "POST": self._xcom_set, "HEAD": self._xcom_head,
                            "DELETE": self._xcom_delete}.get(method)
            if xcom_handler is None:
                raise Unsupported("no direct handler")
            return xcom_handler(*where, match["key"], request)
        raise Unsupported("no direct handler")

    @staticmethod
    def _body(request: httpx.Request) -> Any:
        content = request.read()
        if not content:
            return None
        try:
            return json.loads(content)
        except ValueError:
            raise Unsupported("body is not JSON") from None

    @staticmethod
    def _session() -> Any:
        from airflow.utils.session import create_session

        return create_session(scoped=False)  # what the routes' SessionDep opens

    # ------------------------------------------------------------------ task instances

    def _ti_run(self, ti_id: Any, payload: Any) -> httpx.Response:
        """PATCH /task-instances/{id}/run: QUEUED (or RESTARTING) -> RUNNING, and the run context."""
        from airflow._shared.timezones import timezone
        from airflow.models.dag import DagModel
        from airflow.models.dagrun import DagRun as DR
        from airflow.models.log import Log
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.models.taskreschedule import TaskReschedule
        from airflow.models.xcom import XComModel
        from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import and_, func, select, update
        from sqlalchemy.orm import joinedload

        fields = {"state", "hostname", "unixname", "pid", "start_date"}
        if not isinstance(payload, dict) or not set(payload) <= fields or payload.get("state", "running") != "running":
            raise Unsupported("unexpected run payload")
        data = dict(payload)
        data["state"] = TaskInstanceState.RUNNING
        if "start_date" in data:
            data["start_date"] = _parse_datetime(data["start_date"])
        with self._session() as session:
            ti = session.execute(
                select(TI.state, TI.dag_id, TI.run_id, TI.task_id, TI.map_index, TI.try_number, TI.max_tries,
                       TI.start_date, TI.next_method, TI.next_kwargs, DR.logical_date, DagModel.owners)
                .select_from(TI)
                .join(DR, and_(TI.dag_id == DR.dag_id, TI.run_id == DR.run_id))
                .join(DagModel, TI.dag_id == DagModel.dag_id)
                .where(TI.id == ti_id)
            ).one_or_none()
            if ti is None or ti.state not in (TaskInstanceState.QUEUED, TaskInstanceState.RESTARTING):
                raise Unsupported("task instance missing or not queued")
            if ti.next_kwargs:
                raise Unsupported("resuming from a deferral")
            session.add(Log(
                event=TaskInstanceState.RUNNING.value, task_id=ti.task_id, dag_id=ti.dag_id, run_id=ti.run_id,
                map_index=ti.map_index, try_number=ti.try_number, logical_date=ti.logical_date, owner=ti.owners,
                extra=json.dumps({"host_name": payload["hostname"]}) if payload.get("hostname") else None,
            ))
            session.execute(
                update(TI).where(TI.id == ti_id).values(data).values(
                    end_date=None, hostname=payload.get("hostname"), unixname=payload.get("unixname"),
                    pid=payload.get("pid"), state=TaskInstanceState.RUNNING, last_heartbeat_at=timezone.utcnow(),
                    retry_delay_override=None, retry_reason=None,
                )
            )
            dr = session.scalars(
                select(DR).filter_by(dag_id=ti.dag_id, run_id=ti.run_id).options(joinedload(DR.consumed_asset_events))
            ).unique().one()
            if dr.consumed_asset_events:
                raise Unsupported("the run consumed asset events")
            xcom_query = select(XComModel.key).where(
                XComModel.dag_id == ti.dag_id, XComModel.task_id == ti.task_id, XComModel.run_id == ti.run_id)
            if ti.map_index >= 0:
                xcom_query = xcom_query.where(XComModel.map_index == ti.map_index)
            xcom_keys = list(session.scalars(xcom_query))
            reschedules = session.scalar(
                select(func.count(TaskReschedule.id)).where(TaskReschedule.ti_id == ti_id)) or 0
            dag_run = DagRun(
                dag_id=dr.dag_id, run_id=dr.run_id, logical_date=dr.logical_date,
                data_interval_start=dr.data_interval_start, data_interval_end=dr.data_interval_end,
                run_after=dr.run_after, start_date=dr.start_date, end_date=dr.end_date,
                clear_number=dr.clear_number, run_type=dr.run_type, state=dr.state, conf=dr.conf,
                triggering_user_name=dr.triggering_user_name, consumed_asset_events=[],
                partition_key=dr.partition_key, partition_date=dr.partition_date, note=None, team_name=None,
            )
            context = TIRunContext(
                dag_run=dag_run, task_reschedule_count=reschedules, max_tries=ti.max_tries, variables=[],
                connections=[], xcom_keys_to_clear=xcom_keys,
                should_retry=_is_eligible_to_retry(ti.state, ti.try_number, ti.max_tries),
            )
            body = context.model_dump_json(exclude_unset=True)
        return _json_response(200, body)

    def _ti_update_state(self, ti_id: Any, payload: Any) -> httpx.Response:
        """PATCH /task-instances/{id}/state to success (no assets), up_for_retry, or failed/skipped/removed/upstream_failed.

        up_for_retry is Airflow 3.3's TIRetryStatePayload branch: the finished try goes to
        task_instance_history and the row gets the next try's id (`prepare_db_for_next_try`)."""
        from airflow.models.dag import DagModel
        from airflow.models.dagrun import DagRun as DR
        from airflow.models.log import Log
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import and_, select, update

        if not isinstance(payload, dict) or "end_date" not in payload:
            raise Unsupported("unexpected state payload")
        state = payload.get("state")
        allowed = {"state", "end_date", "rendered_map_index"}
        if state == "success":
            allowed |= {"task_outlets", "outlet_events"}
            if payload.get("task_outlets") or payload.get("outlet_events"):
                raise Unsupported("asset outlets")
        elif state == "up_for_retry":
            allowed |= {"retry_delay_seconds", "retry_reason"}
        elif state not in _TERMINAL:
            raise Unsupported(f"state {state!r}")
        if not set(payload) <= allowed:
            raise Unsupported("unexpected state payload fields")
        end_date = _parse_datetime(payload["end_date"])
        rendered = payload.get("rendered_map_index")
        if rendered is not None and not isinstance(rendered, str):
            raise Unsupported("rendered_map_index is not a string")
        with self._session() as session:
            row = session.execute(
                select(TI.state, TI.try_number, TI.dag_id, TI.task_id, TI.run_id, TI.map_index, TI.hostname,
                       DR.logical_date, DagModel.owners, DagModel.fail_fast)
                .select_from(TI)
                .join(DR, and_(TI.dag_id == DR.dag_id, TI.run_id == DR.run_id))
                .join(DagModel, TI.dag_id == DagModel.dag_id)
                .where(TI.id == ti_id)
            ).one_or_none()
            if row is None or row.state != TaskInstanceState.RUNNING:
                raise Unsupported("task instance missing or not running")
            if state == "failed" and row.fail_fast:
                raise Unsupported("fail_fast DAG")
            updated = TaskInstanceState(state)
            data: dict[str, Any] = {"state": updated, "end_date": end_date}
            if "rendered_map_index" in payload:
                data["_rendered_map_index"] = rendered
            query = update(TI).where(TI.id == ti_id).values(data)
            query = TI.duration_expression_update(end_date, query, session.bind)
            query = query.values(state=updated, next_method=None, next_kwargs=None)
            if updated == TaskInstanceState.UP_FOR_RETRY:
                query = self._prepare_next_try(session, ti_id, payload, end_date, query)
            session.execute(query)
            session.add(Log(
                event=updated.value, task_id=row.task_id, dag_id=row.dag_id, run_id=row.run_id,
                map_index=row.map_index, try_number=row.try_number, logical_date=row.logical_date,
                owner=row.owners, extra=json.dumps({"host_name": row.hostname}) if row.hostname else None,
            ))
            session.commit()
        return _json_response(204)

    @staticmethod
    def _prepare_next_try(session: Any, ti_id: Any, payload: dict[str, Any], end_date: datetime, query: Any) -> Any:
        """The route's up_for_retry steps: snapshot the finished try, archive it, keep the retry overrides."""
        from airflow.models.taskinstance import TaskInstance as TI

        delay = payload.get("retry_delay_seconds")
        reason = payload.get("retry_reason")
        if delay is not None and not isinstance(delay, (int, float)):
            raise Unsupported("retry_delay_seconds is not a number")
        if reason is not None and not isinstance(reason, str):
            raise Unsupported("retry_reason is not a string")
        reason = reason[:500] if reason else None
        ti = session.get(TI, ti_id, with_for_update={"of": TI})
        if ti is not None:
            # Before archiving, so that task_instance_history gets the finished try's values.
            ti.retry_delay_override = delay
            ti.retry_reason = reason
            ti.end_date = end_date
            ti.set_duration()
            if "rendered_map_index" in payload:
                ti._rendered_map_index = payload["rendered_map_index"]
            ti.prepare_db_for_next_try(session=session)
        return query.values(retry_delay_override=delay, retry_reason=reason)

    def _ti_put_rtif(self, ti_id: Any, payload: Any) -> httpx.Response:
        """PUT /task-instances/{id}/rtif: store the rendered template fields."""
        from airflow.models.taskinstance import TaskInstance as TI
        from sqlalchemy import select

        if not isinstance(payload, dict):
            raise Unsupported("unexpected rtif payload")
        with self._session() as session:
            ti = session.scalar(select(TI).where(TI.id == ti_id))
            if ti is None:
                raise Unsupported("task instance missing")
            ti.update_rtif(payload, session=session)
        return _json_response(201, {"message": "Rendered task instance fields successfully set"})

    def _ti_skip_downstream(self, ti_id: Any, payload: Any) -> httpx.Response:
        """PATCH /task-instances/{id}/skip-downstream: skip the listed tasks not already running or done."""
        from airflow._shared.timezones import timezone
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.utils.state import TaskInstanceState
        from sqlalchemy import or_, select, tuple_, update

        tasks = payload.get("tasks") if isinstance(payload, dict) and set(payload) == {"tasks"} else None
        if not isinstance(tasks, list):
            raise Unsupported("unexpected skip-downstream payload")
        task_ids = []
        for task in tasks:
            if isinstance(task, str):
                task_ids.append((task, -1))
            elif isinstance(task, list) and len(task) == 2 and isinstance(task[0], str) and type(task[1]) is int:
                task_ids.append((task[0], task[1]))
            else:
                raise Unsupported("unexpected skip-downstream entry")
        now = timezone.utcnow()
        with self._session() as session:
            row = session.execute(select(TI.dag_id, TI.run_id).where(TI.id == ti_id)).one_or_none()
            if row is None:
                raise Unsupported("task instance missing")
            if task_ids:
                session.execute(
                    update(TI)
                    .where(
                        TI.dag_id == row.dag_id, TI.run_id == row.run_id, tuple_(TI.task_id, TI.map_index).in_(task_ids),
                        or_(TI.state.is_(None), TI.state.not_in(
                            [TaskInstanceState.RUNNING, TaskInstanceState.SUCCESS, TaskInstanceState.FAILED])),
                    )
                    .values(state=TaskInstanceState.SKIPPED, start_date=now, end_date=now)
                    .execution_options(synchronize_session=False)
                )
        return _json_response(204)

    # ------------------------------------------------------------------ xcom

    def _xcom_get(self, dag_id: str, run_id: str, task_id: str, key: str, request: httpx.Request) -> httpx.Response:
        """GET /xcoms/{dag_id}/{run_id}/{task_id}/{key}: one stored value (404 when none)."""
        from airflow.models.xcom import XComModel
        from airflow.sdk.api.datamodels._generated import XComResponse

        params = _query(request)
        if not set(params) <= {"map_index", "include_prior_dates", "offset"}:
            raise Unsupported("unexpected query parameter")
        map_index = _int_param(params, "map_index", -1)
        offset = _int_param(params, "offset", None)
        query = XComModel.get_many(run_id=run_id, key=key, task_ids=task_id, dag_ids=dag_id,
                                   include_prior_dates=_bool_param(params, "include_prior_dates"))
        if offset is not None:
            query = _at_position(query.where(XComModel.value.is_not(None)), offset)
        else:
            query = query.where(XComModel.map_index == map_index)
        with self._session() as session:
            result = session.scalars(query.limit(1)).first()
            if result is None:
                where = f"map_index={map_index}" if offset is None else f"offset={offset}"
                return _xcom_not_found(dag_id, run_id, task_id, key, where)
            body = XComResponse(key=key, value=result.value).model_dump_json()
        return _json_response(200, body)

    def _xcom_item(self, dag_id: str, run_id: str, task_id: str, key: str, offset: str,
                   request: httpx.Request) -> httpx.Response:
        """GET /xcoms/.../item/{offset}: the value at a position among the map indexes (404 when none)."""
        from airflow.models.xcom import XComModel

        position = _int_param({"offset": offset}, "offset", None)
        assert position is not None  # the offset is given: a number, or Unsupported
        if _query(request):
            raise Unsupported("query parameters on an item read")
        query = _at_position(XComModel.get_many(run_id=run_id, key=key, task_ids=task_id, dag_ids=dag_id), position)
        with self._session() as session:
            result = session.scalars(query.limit(1)).first()
            if result is None:
                return _xcom_not_found(dag_id, run_id, task_id, key, f"offset={position}")
            body = json.dumps(result.value)
        return _json_response(200, body)

    def _xcom_slice(self, dag_id: str, run_id: str, task_id: str, key: str, request: httpx.Request) -> httpx.Response:
        """GET /xcoms/.../slice without bounds (what `xcom_pull` and `XCom.get_all` ask): every value in
        map-index order. A bounded or stepped slice goes to Airflow's app."""
        from airflow.models.xcom import XComModel

        params = _query(request)
        if not set(params) <= {"include_prior_dates", "step"} or params.get("step", "1") != "1":
            raise Unsupported("a bounded or stepped slice")
        query = XComModel.get_many(run_id=run_id, key=key, task_ids=task_id, dag_ids=dag_id,
                                   include_prior_dates=_bool_param(params, "include_prior_dates"))
        query = query.order_by(None).order_by(XComModel.map_index.asc())
        with self._session() as session:
            values = list(session.scalars(query.with_only_columns(XComModel.value)))
        return _json_response(200, json.dumps(values))

    def _xcom_set(self, dag_id: str, run_id: str, task_id: str, key: str, request: httpx.Request) -> httpx.Response:
        """POST /xcoms/...: store a value the task SDK already serialised (and a TaskMap for mapped_length)."""
        from airflow.configuration import conf
        from airflow.models.taskmap import TaskMap
        from airflow.models.xcom import XComModel

        params = _query(request)
        if not set(params) <= {"map_index", "dag_result", "mapped_length"}:
            raise Unsupported("unexpected query parameter")
        map_index = _int_param(params, "map_index", -1)
        mapped_length = _int_param(params, "mapped_length", None)
        dag_result = _bool_param(params, "dag_result")
        value = self._body(request)
        if mapped_length is not None and mapped_length > conf.getint("core", "max_map_length", fallback=1024):
            raise Unsupported("mapped length over max_map_length")
        with self._session() as session:
            if mapped_length is not None:
                session.merge(TaskMap(dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index,
                                      length=mapped_length, keys=None))
            try:
                XComModel.set(key=key, value=value, run_id=run_id, task_id=task_id, dag_id=dag_id,
                              map_index=map_index, serialize=False, dag_result=dag_result, session=session)
            except (ValueError, TypeError) as exc:
                session.rollback()
                raise Unsupported(f"XCom.set refused it: {exc}") from None
        return _json_response(201, {"message": "XCom successfully set"})

    def _xcom_head(self, dag_id: str, run_id: str, task_id: str, key: str, request: httpx.Request) -> httpx.Response:
        """HEAD /xcoms/...: the number of (mapped) values, in Content-Range."""
        from airflow.models.xcom import XComModel
        from airflow.utils.db import get_query_count

        if _query(request):
            raise Unsupported("query parameters on HEAD")
        query = XComModel.get_many(run_id=run_id, key=key, task_ids=task_id, dag_ids=dag_id)
        with self._session() as session:
            count = get_query_count(query, session=session)
        return _json_response(200, headers={"Content-Range": f"map_indexes {count}"})

    def _xcom_delete(self, dag_id: str, run_id: str, task_id: str, key: str, request: httpx.Request) -> httpx.Response:
        """DELETE /xcoms/...: remove one value (the task clears its own keys when it starts)."""
        from airflow.models.xcom import XComModel
        from sqlalchemy import delete

        params = _query(request)
        if not set(params) <= {"map_index"}:
            raise Unsupported("unexpected query parameter")
        map_index = _int_param(params, "map_index", -1)
        with self._session() as session:
            session.execute(delete(XComModel).where(
                XComModel.key == key, XComModel.run_id == run_id, XComModel.task_id == task_id,
                XComModel.dag_id == dag_id, XComModel.map_index == map_index,
            ))
        return _json_response(200, {"message": f"XCom with key: {key} successfully deleted."})


def _is_eligible_to_retry(state: str, try_number: int, max_tries: int) -> bool:
    """The route's rule: a RESTARTING task may always retry; otherwise while tries remain."""
    if state == "restarting":
        return True
    return max_tries != 0 and try_number <= max_tries
