#!/usr/bin/env bash
# A whole project, end to end: split examples/warehouse/dags (helpers, SQL and shell templates, a plugin with
# a macro and an operator, an include/ folder through an absolute template_searchpath, a requirements.txt),
# build its one image, and run two of its DAGs with `bridge run --engine podman`: each report must equal
# the host run's (which tests/parity/test_project.py holds equal to `airflow dags test`).
#
#   bash tests/e2e/project.sh                 Airflow 3 (.venv-airflow3, installed if missing)
#   BRIDGE_AIRFLOW=2 bash tests/e2e/project.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source tests/e2e/podman-env.sh
line="${BRIDGE_AIRFLOW:-3}"
venv="${BRIDGE_VENV:-$root/.venv-airflow$line}"
[ -n "${BRIDGE_VENV:-}" ] || tests/install.sh "$line"
py="$venv/bin/python"
bridge="$venv/bin/bridge"
step() { echo "== e2e project: $*"; }
fail() { echo "e2e project FAILED: $*" >&2; exit 1; }

work="$root/build/e2e-project-airflow$line"
rm -rf "$work"
mkdir -p "$work"
export AIRFLOW_HOME="$work/airflow-home"
# The example's SQL runs on an in-memory SQLite database (each pod its own): the connection comes from here.
export AIRFLOW_CONN_WAREHOUSE_DB='{"conn_type": "sqlite", "host": ":memory:"}'
image="localhost/bridge/warehouse-e2e:airflow$line"

step "split examples/warehouse/dags and build its one image $image ($BRIDGE_ENGINE)"
bash tests/e2e/build-image.sh "$venv" examples/warehouse/dags "$image" "$work/split" || fail "image build"
for folder in sources plugins searchpath; do
  "$BRIDGE_ENGINE" $BRIDGE_ENGINE_FLAGS run --rm --entrypoint sh "$image" -c "test -d /opt/bridge/$folder" \
    || fail "the image has no /opt/bridge/$folder"
done

run_date="${RUN_DATE:-2024-01-02}"
for dag in warehouse_daily_orders warehouse_weekly_report; do
  step "$dag on the host (reference)"
  "$bridge" run examples/warehouse/dags --dag-id "$dag" --run-date "$run_date" --report "$work/$dag-host.json" \
    --retry-delay-scale 0 >"$work/$dag-host.log" 2>&1 || { tail -30 "$work/$dag-host.log" >&2; fail "$dag host run"; }
  step "$dag with --engine $BRIDGE_ENGINE (every task in a container of $image)"
  start=$(date +%s)
  "$bridge" run examples/warehouse/dags --dag-id "$dag" --run-date "$run_date" --report "$work/$dag-container.json" \
    --retry-delay-scale 0 --engine "$BRIDGE_ENGINE" --image "$image" --env AIRFLOW_CONN_WAREHOUSE_DB \
    >"$work/$dag-container.log" 2>&1 || { tail -40 "$work/$dag-container.log" >&2; fail "$dag container run"; }
  echo "container run: $(( $(date +%s) - start )) s"
  cmp -s "$work/$dag-host.json" "$work/$dag-container.json" \
    || { diff "$work/$dag-host.json" "$work/$dag-container.json" >&2; fail "$dag: the container report differs"; }
  "$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["state"]=="success", r; print("report:", r["dag_id"], r["state"], len(r["tasks"]), "tasks")' "$work/$dag-container.json"
done
step "passed"
