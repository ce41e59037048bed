"""Names and numbers that several parts of bridge must agree on, each stated once. Pure: no imports."""

# The no-op node (and its template) that ends every emitted Workflow: its phase is the Airflow
# DagRun state (bridge.semantics.verdict_depends). Named after what it stands for, so the Argo UI
# reads "airflow-dagrun: Failed" where Airflow would show a failed DagRun.
VERDICT_NAME = "airflow-dagrun"

# The uid every bridge pod and image runs as: the official apache/airflow image's `airflow` user,
# so files and volumes prepared for Airflow's own images (fsGroup 0, uid 50000) work unchanged.
AIRFLOW_UID = 50000

# Where a pod writes the files Argo reads back as output parameters (xcom.json, state, branch;
# run-date and run-id in the CronWorkflow's first step). Under /tmp because /tmp is the only
# writable path of a bridge pod (an emptyDir; the root filesystem is read-only).
OUTPUTS_DIR = "/tmp/bridge/out"

# The annotation holding a DAG's schedule as one line of JSON (ScheduleSpec.to_json), on the Workflow,
# the CronWorkflow and the CronJob alike: what `bridge logical-date --timetable`, `bridge submit`
# and a person reading any of the three can use.
TIMETABLE_ANNOTATION = "bridge.dev/timetable"

# bridge-task's exit code when Airflow failed the task for good although tries remain
# (AirflowFailException, a sensor's timeout): the task templates' retryStrategy.expression
# tells Argo not to retry on it (docs/SEMANTICS.md, "Retries and callbacks").
EXIT_FAILED_NO_RETRY = 4
# Argo's retry variables are strings (Argo docs/variables.md, "lastRetry").
NO_RETRY_EXPRESSION = f"lastRetry.exitCode != '{EXIT_FAILED_NO_RETRY}'"

# The Workflow's exit handler (spec.onExit) and its template, only for a DAG with DAG-level
# callbacks: one pod after the run that calls the DAG's on_success_callback or on_failure_callback
# (`bridge-task dag-callback`, docs/SEMANTICS.md "DAG-level callbacks").
EXIT_HANDLER_NAME = "airflow-dag-callback"

# A task with outlets: the asset (dataset) events Airflow recorded when it succeeded, written by
# bridge-task beside xcom.json and read back by Argo as the task's output `a`; consumer DAGs'
# schedules read them from the producer's Workflow (docs/SCHEDULES.md, "Assets"). The Workflow
# of a DAG with outlets carries one label per asset, `ASSET_LABEL_PREFIX<digest of its URI>`.
ASSET_EVENTS_FILE = "assets.json"
ASSET_OUTPUT = "a"
ASSET_LABEL_PREFIX = "assets.bridge.dev/"
# An asset-triggered run's Workflow: when it was triggered (annotation; the next run consumes the
# events after it) and the events it consumes (a Workflow parameter its pods pass to bridge-task).
ASSET_TRIGGERED = "bridge.dev/asset-triggered"
ASSET_EVENTS_PARAMETER = "asset-events"
