"""Airflow parity corpus: short-circuits with and without ignore_downstream_trigger_rules."""

import pendulum
from _compat import DAG, EmptyOperator, ShortCircuitOperator, task

with DAG("parity_short_circuit", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None) as dag:

    @task.short_circuit
    def gate_all():
        return False

    stop_all = gate_all()
    a = EmptyOperator(task_id="all_a")
    b = EmptyOperator(task_id="all_b")
    c = EmptyOperator(task_id="all_c_all_done", trigger_rule="all_done")
    stop_all >> a >> b >> c

    stop_direct = ShortCircuitOperator(
        task_id="gate_direct", python_callable=lambda: False, ignore_downstream_trigger_rules=False
    )
    d = EmptyOperator(task_id="direct_d")
    e = EmptyOperator(task_id="direct_e_all_done", trigger_rule="all_done")
    stop_direct >> d >> e

    go = ShortCircuitOperator(task_id="gate_open", python_callable=lambda: True)
    go >> EmptyOperator(task_id="open_a") >> EmptyOperator(task_id="open_b")
