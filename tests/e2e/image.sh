#!/usr/bin/env bash
# The image, end to end: split the bundled ETL example, build the image bridge emitted for it, check
# how it runs (uid 50000, read-only root, exit codes), then run the example with
# `bridge run --engine podman` and require the same report as the host-process run.
#
#   bash tests/e2e/image.sh                 Airflow 3 (.venv-airflow3, installed if missing)
#   BRIDGE_AIRFLOW=2 bash tests/e2e/image.sh
#
# Base image: BASE_IMAGE when set (with Docker and a registry: BASE_IMAGE=python:3.11-slim
# BRIDGE_ENGINE=docker BRIDGE_ENGINE_FLAGS=""), else a Debian bookworm image made here with
# debootstrap (tests/e2e/base-image.sh; made once per machine). See docs/IMAGE.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source tests/e2e/podman-env.sh
line="${BRIDGE_AIRFLOW:-3}"
venv="${BRIDGE_VENV:-$root/.venv-airflow$line}"
[ -n "${BRIDGE_VENV:-}" ] || tests/install.sh "$line"
py="$venv/bin/python"
bridge="$venv/bin/bridge"
engine() { "$BRIDGE_ENGINE" $BRIDGE_ENGINE_FLAGS "$@"; }
step() { echo "== e2e: $*"; }
fail() { echo "e2e FAILED: $*" >&2; exit 1; }

work="$root/build/e2e-airflow$line"
rm -rf "$work"
mkdir -p "$work"
export AIRFLOW_HOME="$work/airflow-home"
image="localhost/bridge/etl-e2e:airflow$line"

step "split examples/etl/etl.py and build its image $image ($BRIDGE_ENGINE)"
bash tests/e2e/build-image.sh "$venv" examples/etl/etl.py "$image" "$work/split" || fail "image build"

step "the image runs as uid 50000, gid 0, with a read-only root"
secure=(--rm --read-only --cap-drop ALL --security-opt no-new-privileges --network host)
[ "$BRIDGE_ENGINE" = podman ] && secure+=(--read-only-tmpfs=false)
who=$(engine run "${secure[@]}" --entrypoint id "$image" -u):$(engine run "${secure[@]}" --entrypoint id "$image" -g)
[ "$who" = "50000:0" ] || fail "the image's user is $who, not 50000:0"
engine run "${secure[@]}" --entrypoint sh "$image" -c 'touch /opt/bridge/x 2>/dev/null' \
  && fail "the root filesystem is writable"

step "exit codes pass through the entrypoint"
task="/opt/bridge/dags/etl/extract.py"
set +e
engine run "${secure[@]}" -v "$work:/tmp" "$image" run "$task" >/dev/null 2>&1; usage=$?
engine run "${secure[@]}" -v "$work:/tmp" "$image" run /opt/bridge/dags/etl/nope.py --run-date 2024-01-01 >/dev/null 2>&1; missing=$?
set -e
[ "$usage" = 2 ] || fail "bridge-task without --run-date exited $usage, expected 2"
[ "$missing" != 0 ] || fail "bridge-task on a missing task file exited 0"

step "the container launcher against the image (tests/e2e/test_container.py)"
BRIDGE_E2E_IMAGE="$image" "$py" -m pytest -q -p no:cacheprovider tests/e2e/test_container.py \
  || fail "tests/e2e/test_container.py"

run_date="${RUN_DATE:-2024-01-01}"
step "bridge run on the host (reference)"
"$bridge" run examples/etl/etl.py --run-date "$run_date" --report "$work/host.json" --parallelism 2 >"$work/host.log" 2>&1 \
  || { tail -30 "$work/host.log" >&2; fail "host run"; }
step "bridge run --engine $BRIDGE_ENGINE (every task in a container of $image)"
start=$(date +%s)
"$bridge" run examples/etl/etl.py --run-date "$run_date" --report "$work/container.json" --parallelism 2 \
  --engine "$BRIDGE_ENGINE" --image "$image" >"$work/container.log" 2>&1 \
  || { tail -40 "$work/container.log" >&2; fail "container run (log: $work/container.log)"; }
echo "container run: $(( $(date +%s) - start )) s"
cmp -s "$work/host.json" "$work/container.json" \
  || { diff "$work/host.json" "$work/container.json" >&2; fail "the container run's report differs from the host run's"; }
"$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["state"]=="success", r; print("report:", r["state"], len(r["tasks"]), "tasks")' "$work/container.json"
step "passed"
