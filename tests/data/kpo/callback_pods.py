"""Task callbacks of native pods, runnable on this machine (their commands are `sh`):
tests/local/test_kpo_run.py runs it with `bridge run` and compares what the callbacks recorded
with what Airflow's own callbacks record for the same DAG under `airflow dags test`.

The oracle is the same DAG with KPO_SKIP_ORACLE=bash in the environment: every pod becomes a
BashOperator running the same command, with the same skip_on_exit_code, retries and callbacks
(Airflow calls the callbacks of both operators alike). Each callback appends one JSON line to
$KPO_CALLBACK_RECORD: which callback, the task, its try_number and the exception's type.
"""

import json
import os
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

try:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task
    from airflow.operators.bash import BashOperator

RECORD = os.environ.get("KPO_CALLBACK_RECORD", "/tmp/kpo-callbacks.jsonl")
# Fails its first try, then succeeds (the marker is left by the first try).
FLAKY = f'test -f "{RECORD}.flaky" && exit 0; touch "{RECORD}.flaky"; exit 1'


def recorder(kind):
    def record(context):
        ti = context["ti"]
        exception = context.get("exception")
        line = {"callback": kind, "task": ti.task_id, "try": ti.try_number,
                "exception": type(exception).__name__ if exception is not None else None}
        with open(RECORD, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, sort_keys=True) + "\n")

    record.__name__ = f"on_{kind}"
    return record


def runs(task_id, command, **kwargs):
    """A task running `command` in `sh` (a pod, or the oracle's BashOperator)."""
    if os.environ.get("KPO_SKIP_ORACLE") == "bash":
        return BashOperator(task_id=task_id, bash_command=command, **kwargs)
    return KubernetesPodOperator(task_id=task_id, image="alpine:3.20", cmds=["sh", "-c", command], **kwargs)


with DAG(
    "kpo_callbacks",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    schedule=None,
    # The common pattern: one alerting callback for every task.
    default_args={"on_failure_callback": recorder("failure"), "retry_delay": timedelta(seconds=0)},
) as dag:
    ok = runs("ok", "exit 0", on_success_callback=recorder("success"))
    # Fails both tries: the failure callback once, at the last try.
    broken = runs("broken", "exit 3", retries=1)
    # Succeeds at its second try.
    flaky = runs("flaky", FLAKY, retries=2, on_success_callback=recorder("success"))
    quiet = runs("quiet", "exit 100", skip_on_exit_code=100, on_skipped_callback=recorder("skipped"))
    # Rendered for the run first, then its callback fires (the exit code comes from params).
    rendered = runs("rendered", "exit {{ params.code }}", params={"code": 4})

    @task(trigger_rule="all_done")
    def after():
        return "runs"

    [ok, broken, flaky, quiet, rendered] >> after()
