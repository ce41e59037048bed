"""Airflow 3: where the in-process task's Execution API calls go.

`prepare_execution_api` points Airflow's in-process supervisor at bridge's direct transport
(`bridge.runtime.direct_api`), which answers the common calls itself, and builds Airflow's
own app only when another call needs it; that app is trimmed to the API versions a local
client speaks (`_trimmed_api`). Airflow is imported inside the functions.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import Any

log = logging.getLogger("bridge.runtime")

FULL_API_ENV = "BRIDGE_FULL_EXECUTION_API"


def _trimmed_bundle(full: Any, keep: int) -> Any:
    """The Execution API version bundle cut to the newest `keep` versions (+ one change-less oldest)."""
    from cadwyn import HeadVersion, Version, VersionBundle

    kept = list(full.versions[:keep])
    for version in kept:
        for change in version.changes:
            change._bound_version_bundle = None  # cadwyn binds each change to one bundle
    return VersionBundle(HeadVersion(), *kept, Version(full.versions[keep].value))


def _rebind(bundle: Any) -> None:
    """Bind the changes of `bundle`'s versions back to it (undo a failed trim)."""
    for version in bundle.versions:
        for change in version.changes:
            change._bound_version_bundle = bundle


def _trimmed_api() -> Any:
    """Airflow 3: the in-process Execution API app serving only the versions a local client uses.

    `dag.test()` builds a FastAPI/Cadwyn app per task and per trigger, and Cadwyn generates
    routers for every API version it knows (about 3 s). The in-process client always speaks
    the newest version, so bridge keeps the two newest versions (which restore the routes
    the newest one moved). Anything unexpected falls back to Airflow's own full app.
    """
    from airflow.api_fastapi.execution_api import versions
    from airflow.api_fastapi.execution_api.app import InProcessExecutionAPI

    full = versions.bundle
    try:
        versions.bundle = _trimmed_bundle(full, keep=2)
        api = InProcessExecutionAPI()
        api.app._cadwyn_initialize()  # generate the routers now, where errors are catchable
        return api
    except Exception as exc:  # noqa: BLE001 (any surprise: use Airflow's own full app)
        log.info("bridge: full Execution API (trimmed one failed: %s)", exc)
        _rebind(full)
        return InProcessExecutionAPI()
    finally:
        versions.bundle = full


def prepare_execution_api() -> None:
    """Airflow 3: the task's Execution API calls go to bridge's direct transport, Airflow's app on demand.

    `bridge.runtime.direct_api` answers the common calls without building the FastAPI app;
    the first other call builds Airflow's app once (trimmed to the newest versions) and it
    answers from then on, for the task and for its inline trigger. `BRIDGE_FULL_EXECUTION_API=1`
    uses Airflow's full, untrimmed app for everything, as `dag.test()` does.
    """
    from airflow.sdk.execution_time import supervisor

    if getattr(supervisor.InProcessTestSupervisor, "_bridge", False):
        return  # already done in this process
    supervisor.InProcessTestSupervisor._bridge = True
    if os.environ.get(FULL_API_ENV):
        why_not: str | None = "BRIDGE_FULL_EXECUTION_API is set"  # Airflow's own app, as Airflow caches it
    else:
        supervisor.in_process_api_server = lru_cache(maxsize=None)(_trimmed_api)
        from bridge.runtime import direct_api

        why_not = direct_api.direct_path_available()
    if why_not is not None:
        log.info("bridge: Airflow's Execution API app answers every call (%s)", why_not)
        return
    original = supervisor.InProcessTestSupervisor._api_client  # a staticmethod: a plain function here

    def _api_client(dag: Any = None) -> Any:
        def fallback() -> Any:
            return original(dag)._transport  # Airflow's client for this dag: its app's transport

        client = supervisor.InProcessTestSupervisor._Client(
            base_url=None, token="", dry_run=True, transport=direct_api.DirectTransport(fallback)
        )
        client.base_url = "http://in-process.invalid./"
        return client

    supervisor.InProcessTestSupervisor._api_client = staticmethod(_api_client)
