"""`bridge-task`: run one task of a single-task DAG file on a throwaway Airflow.

`cli` parses the command; `runner` does one run (environment via `env`, before Airflow is
imported; the database template; the output files); `taskfile` loads the task's DAG,
`database` creates the DagRun and seeds and reads its rows, `loop` runs the task, and on
Airflow 3 `execution_api` and `direct_api` serve the task's Execution API calls in-process.
`compat` holds the Airflow 2 / 3 differences, `hooks` captures branch decisions, `xcom` the
XCom documents.
"""
