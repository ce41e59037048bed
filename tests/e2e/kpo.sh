#!/usr/bin/env bash
# KubernetesPodOperator tasks as native pods, in real containers: tests/data/kpo/xcom_pods.py runs with
# `bridge run --engine podman`. Its TaskFlow tasks run in the image bridge emitted for the DAG; its
# two KubernetesPodOperator tasks run in their own image (built here on the debootstrap base:
# no Airflow, no bridge in it), the first with arguments rendered from `ds` and an upstream's XCom
# (its render step runs in the DAG's image), writing /airflow/xcom/return.json, which a TaskFlow
# task and the second pod's templates read; a third exits with its skip_on_exit_code, which skips
# it and its all_success downstream. The report must equal the host-process run's.
#
#   bash tests/e2e/kpo.sh                  Airflow 3 (.venv-airflow3, installed if missing)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source tests/e2e/podman-env.sh
line="${BRIDGE_AIRFLOW:-3}"
venv="${BRIDGE_VENV:-$root/.venv-airflow$line}"
[ -n "${BRIDGE_VENV:-}" ] || tests/install.sh "$line"
bridge="$venv/bin/bridge"
engine() { "$BRIDGE_ENGINE" $BRIDGE_ENGINE_FLAGS "$@"; }
step() { echo "== e2e kpo: $*"; }
fail() { echo "e2e kpo FAILED: $*" >&2; exit 1; }

work="$root/build/e2e-kpo-airflow$line"
rm -rf "$work"
mkdir -p "$work"
export AIRFLOW_HOME="$work/airflow-home"
dag=tests/data/kpo/xcom_pods.py
run_date=2024-01-02

base="${BASE_IMAGE:-}"
[ -n "$base" ] || base="$(bash tests/e2e/base-image.sh)"
tools=localhost/bridge-kpo-tools:1
step "the pods' own image $tools (on $base: a shell, no Python packages of ours)"
printf 'FROM %s\nRUN echo bridge-kpo-tools > /etc/kpo-tools\n' "$base" | engine build --network host -t "$tools" -f - "$work" >"$work/tools.log" 2>&1 \
  || { tail -20 "$work/tools.log" >&2; fail "tools image build"; }
engine run --rm --entrypoint sh "$tools" -c 'test -f /etc/kpo-tools && ! command -v bridge-task' \
  || fail "the tools image has bridge-task in it"

image="localhost/bridge/kpo-xcom:airflow$line"
step "split $dag and build its image $image"
BRIDGE_KPO_IMAGE="$tools" bash tests/e2e/build-image.sh "$venv" "$dag" "$image" "$work/split" || fail "image build"

step "bridge run on the host (reference)"
BRIDGE_KPO_IMAGE="$tools" "$bridge" run "$dag" --run-date "$run_date" --report "$work/host.json" >"$work/host.log" 2>&1 \
  || { tail -30 "$work/host.log" >&2; fail "host run"; }
step "bridge run --engine $BRIDGE_ENGINE"
start=$(date +%s)
BRIDGE_KPO_IMAGE="$tools" "$bridge" run "$dag" --run-date "$run_date" --report "$work/container.json" \
  --engine "$BRIDGE_ENGINE" --image "$image" >"$work/container.log" 2>&1 \
  || { tail -40 "$work/container.log" >&2; fail "container run (log: $work/container.log)"; }
echo "container run: $(( $(date +%s) - start )) s"
cmp -s "$work/host.json" "$work/container.json" \
  || { diff "$work/host.json" "$work/container.json" >&2; fail "the container run's report differs from the host run's"; }
logs="$(sed -n 's/.*logs in \([^;]*\).*/\1/p' "$work/container.log" | tail -1)"
# The pods ran in their own image (its marker file), the second one with the first one's XCom.
grep -q "again: 2024-01-02:42 bridge-kpo-tools" "$logs/again.pod.log" \
  || fail "the second pod did not run in $tools with the first pod's XCom ($logs/again.pod.log)"
grep -q "quiet: bridge-kpo-tools" "$logs/quiet.pod.log" || fail "the skipping pod did not run in $tools ($logs/quiet.pod.log)"
"$venv/bin/python" -c '
import json, sys
r = json.load(open(sys.argv[1]))
skipped = {t for t, s in r["tasks"].items() if s != "success"}
assert r["state"] == "success" and skipped == {"quiet", "never"} and r["tasks"]["quiet"] == "skipped", r
print("report:", r)' "$work/container.json"
step "passed"
