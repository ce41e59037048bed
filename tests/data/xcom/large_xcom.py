"""A value over Argo's 256 KiB parameter limit: `produce` returns 600,000 characters, `consume` checks each.

Without an object-store XCom backend the producer's document cannot be an Argo parameter (bridge-task
exits 3); with Airflow's own XComObjectStorageBackend (common-io provider) the value goes to the
store and the document carries only its path (docs/SEMANTICS.md, "Large values").
"""

import pendulum
from airflow import DAG

try:
    from airflow.sdk import task
except ImportError:  # Airflow 2
    from airflow.decorators import task

SIZE = 600_000


def payload() -> str:
    return "".join(chr(ord("a") + i % 26) for i in range(SIZE))


with DAG("large_xcom", start_date=pendulum.datetime(2024, 1, 1), schedule=None):

    @task
    def produce() -> str:
        return payload()

    @task
    def consume(value: str) -> int:
        if value != payload():
            raise ValueError(f"received {len(value)} characters, not the {SIZE} pushed")
        return len(value)

    consume(produce())
