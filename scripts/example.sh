#!/usr/bin/env bash
# Install bridge with Airflow 3 into .venv-airflow3 and run the bundled ETL example the way Argo would:
# split into single-task DAG files and a Workflow, then run every task as its own process.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
line="${BRIDGE_AIRFLOW:-3}"
"$root/tests/install.sh" "$line"
venv="$root/.venv-airflow$line"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$root/build/airflow-home}"
mkdir -p "$AIRFLOW_HOME"
"$venv/bin/bridge" run "$root/examples/etl/etl.py" --run-date "${RUN_DATE:-2024-01-01}" --report "$root/build/etl-report.json"
echo "report: $root/build/etl-report.json"
