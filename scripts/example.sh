#!/usr/bin/env bash
# Install bridge with Airflow 3 into .venv-airflow3 and run the main job on the bundled ETL example.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
line="${BRIDGE_AIRFLOW:-3}"
"$root/tests/install.sh" "$line"
venv="$root/.venv-airflow$line"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$root/build/airflow-home}"
mkdir -p "$AIRFLOW_HOME"
"$venv/bin/bridge" split "$root/examples/etl/etl.py" -o "$root/build/etl"
