#!/usr/bin/env bash
# End to end: the BigQuery example through `bridge run`, against a local BigQuery emulator.
#   bash tests/e2e/bigquery.sh [AIRFLOW_VENV]     (or BRIDGE_VENV=...; default .venv-airflow3)
# Installs the pinned emulator (requirements/bigquery-emulator.txt) into .venv-crucible, starts
# it on a free loopback port, seeds it (tests/e2e/bigquery_seed.py), runs
# examples/bigquery_trends/github_hn_trends.py for 2024-01-01 and 2024-01-02 on the host-process
# engine, and checks both reports and the result tables (tests/e2e/bigquery_check.py).
# Exit 0 only when everything matched. Decisions and limits: docs/E2E.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${1:-${BRIDGE_VENV:-$root/.venv-airflow3}}"
[ -d "$(dirname "$venv")" ] && venv="$(cd "$(dirname "$venv")" && pwd)/$(basename "$venv")"
cd "$root"
project=bridge-e2e
dataset=github_trends
dag=examples/bigquery_trends/github_hn_trends.py
run_timeout=600 # seconds per `bridge run` (one takes about a minute)

fail() {
  echo "bigquery e2e: FAILED: $*" >&2
  exit 1
}
say() { echo "== bigquery e2e: $*"; }

# The Airflow venv (Airflow 3; Airflow 2 passes too): .venv-airflow2/3 are made by tests/install.sh.
case "$venv" in
  "$root/.venv-airflow2" | "$root/.venv-airflow3")
    [ -x "$venv/bin/python" ] || bash "$root/tests/install.sh" "${venv: -1}"
    ;;
esac
[ -x "$venv/bin/python" ] || fail "no Python at $venv/bin/python: pass an Airflow 3 venv as \$1 or \$BRIDGE_VENV"
"$venv/bin/python" -c "import airflow, google.cloud.bigquery, airflow.providers.google.cloud.operators.bigquery" ||
  fail "$venv must have Airflow and apache-airflow-providers-google (bash tests/install.sh 3 makes .venv-airflow3)"
[ -x "$venv/bin/bridge" ] || fail "$venv has no bridge command (pip install -e . into it)"

# The emulator's own venv, reused while its pinned requirements are unchanged.
emu="$root/.venv-crucible"
req="$root/requirements/bigquery-emulator.txt"
want="$(sha256sum "$req" | cut -c1-16)"
if [ ! -f "$emu/.bridge-installed" ] || [ "$(cat "$emu/.bridge-installed")" != "$want" ]; then
  say "installing the emulator into $emu"
  rm -rf "$emu"
  python3 -c 'import sys; assert sys.version_info >= (3, 11), "crucible-emulator needs Python >= 3.11"'
  python3 -m venv "$emu"
  "$emu/bin/pip" install -q -r "$req" 2>&1 | { grep -v "^WARNING: Location" || true; }
  "$emu/bin/crucible" serve --help >/dev/null
  echo "$want" >"$emu/.bridge-installed"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/bridge-bq-e2e.XXXXXX")"
emulator_pid=""
cleanup() {
  local rc=$?
  if [ -n "$emulator_pid" ] && kill -0 "$emulator_pid" 2>/dev/null; then
    kill "$emulator_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$emulator_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$emulator_pid" 2>/dev/null || true
  fi
  if [ "$rc" -eq 0 ]; then
    rm -rf "$work"
  else
    echo "bigquery e2e: logs kept in $work (emulator.log, run-*.log, report-*.json)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$("$emu/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
say "starting crucible-emulator on 127.0.0.1:$port"
"$emu/bin/crucible" serve --dialect bigquery --host 127.0.0.1 --port "$port" >"$work/emulator.log" 2>&1 &
emulator_pid=$!
for i in $(seq 60); do
  if "$emu/bin/python" -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/_crucible/health', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log" >&2; fail "the emulator exited at start"; }
  [ "$i" -lt 60 ] || { cat "$work/emulator.log" >&2; fail "the emulator did not answer its health check within 30 s"; }
  sleep 0.5
done

# What points the Google provider at the emulator (docs/E2E.md): google-cloud-bigquery's
# BIGQUERY_EMULATOR_HOST, an anonymous google_cloud_default connection, and the deferrable
# code path of the operators (their non-deferrable BigQueryCheckOperator reads results through
# the discovery API client, which has no endpoint setting the connection can change).
export BIGQUERY_EMULATOR_HOST="http://127.0.0.1:$port"
export AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT="{\"conn_type\": \"google_cloud_platform\", \"extra\": {\"project\": \"$project\", \"is_anonymous\": true}}"
export AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True
export AIRFLOW_HOME="$work/airflow-home"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" # this checkout's bridge, whatever the venv has
export PATH="$venv/bin:$PATH"
unset GOOGLE_APPLICATION_CREDENTIALS GOOGLE_CLOUD_UNIVERSE_DOMAIN

# The pre-migrated database every task copies, made once as an image build does (docs/DESIGN.md).
export BRIDGE_DB_TEMPLATE="$work/airflow.db"
"$venv/bin/bridge-task" prepare >"$work/prepare.log" 2>&1 || { cat "$work/prepare.log" >&2; fail "bridge-task prepare"; }

say "seeding"
"$venv/bin/python" tests/e2e/bigquery_seed.py "$project" "$dataset" || fail "seeding the emulator (see $work/emulator.log)"

# BQ_CONTAINERS=1: the second date runs every task in a container of the DAG's built image
# (bridge run --engine, docs/IMAGE.md), the first on host processes; one table check covers both.
day2_engine=()
if [ -n "${BQ_CONTAINERS:-}" ]; then
  source tests/e2e/podman-env.sh
  image="localhost/bridge/github-hn-trends-e2e:latest"
  say "building the example's image $image ($BRIDGE_ENGINE)"
  # Not the venv's exact versions: gcloud-aio-auth 5.6.0 (this venv's) needs Python >= 3.11.3 and
  # the debootstrap base has Debian's 3.11.2; pip resolves the provider's range for it instead.
  BUILD_CONSTRAINTS=0 bash tests/e2e/build-image.sh "$venv" "$dag" "$image" "$work/image-split" || fail "image build"
  day2_engine=(--engine "$BRIDGE_ENGINE" --image "$image" --env BIGQUERY_EMULATOR_HOST --env AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE)
fi

reports=()
for day in 2024-01-01 2024-01-02; do
  engine_args=()
  [ "$day" = 2024-01-01 ] || engine_args=("${day2_engine[@]}")
  say "bridge run $dag --run-date $day ${engine_args[*]}"
  report="$work/report-$day.json"
  set +e
  timeout -s INT -k 60 "$run_timeout" "$venv/bin/bridge" run "$dag" --run-date "$day" \
    -p "project=$project" -p "dataset=$dataset" --retry-delay-scale 0 --report "$report" "${engine_args[@]}" \
    >"$work/run-$day.log" 2>&1
  rc=$?
  set -e
  tail -n 12 "$work/run-$day.log"
  [ "$rc" -ne 124 ] || fail "bridge run for $day did not finish within $run_timeout s"
  [ -f "$report" ] || fail "bridge run for $day exited $rc without writing $report (see $work/run-$day.log)"
  [ "$rc" -eq 0 ] || fail "bridge run for $day exited $rc: see the table above, $report and $work/run-$day.log"
  reports+=("$report")
done

say "checking the reports and the result tables"
"$venv/bin/python" tests/e2e/bigquery_check.py "$project" "$dataset" "${reports[@]}" || fail "results differ from the expected ones (above)"
say "passed"
