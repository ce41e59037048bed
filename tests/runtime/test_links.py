"""ti.log_url without an Airflow webserver (bridge/runtime/links.py): the Argo UI, a link of the user's, or a placeholder."""

from __future__ import annotations

from types import SimpleNamespace

from bridge.runtime.links import log_url

# The fields Airflow's task instance has on both lines (models.TaskInstance, the SDK's RuntimeTaskInstance).
TI = SimpleNamespace(dag_id="etl", task_id="load", run_id="scheduled__2024-01-01T00:00:00+00:00", map_index=-1, try_number=2)
POD = {"ARGO_NODE_ID": "etl-x7k2p-1234567890", "ARGO_WORKFLOW_NAME": "etl-x7k2p"}


def test_the_argo_ui_node_page_with_its_logs_panel() -> None:
    environ = {**POD, "BRIDGE_ARGO_UI_URL": "https://argo.example.com", "BRIDGE_ARGO_WORKFLOW": "data/etl-x7k2p"}
    assert log_url(TI, environ) == (
        "https://argo.example.com/workflows/data/etl-x7k2p?tab=workflow&nodeId=etl-x7k2p-1234567890"
        "&sidePanel=logs%3Aetl-x7k2p-1234567890%3Amain"
    )


def test_a_link_of_the_users_own_wins_and_names_the_fields() -> None:
    environ = {**POD, "BRIDGE_ARGO_UI_URL": "https://argo.example.com", "BRIDGE_ARGO_WORKFLOW": "data/etl-x7k2p",
               "BRIDGE_LOG_URL": "https://logs.example.com/?q={workflow}+{node_id}&t={task_id}&n={try_number}&r={run_id}&u={unknown}"}
    assert log_url(TI, environ) == (
        "https://logs.example.com/?q=etl-x7k2p+etl-x7k2p-1234567890&t=load&n=2"
        "&r=scheduled__2024-01-01T00%3A00%3A00%2B00%3A00&u={unknown}"
    )


def test_without_the_ui_address_a_placeholder_that_says_what_to_do() -> None:
    url = log_url(TI, POD)
    assert url.startswith("https://argo-ui-url-not-set.invalid/split-with--argo-ui-url?workflow=etl-x7k2p&node_id=")
    assert "task_id=load" in url
    assert log_url(TI, {}).startswith("https://argo-ui-url-not-set.invalid/")  # not even Argo's variables
