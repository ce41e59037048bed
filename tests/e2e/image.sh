#!/usr/bin/env bash
# The image, end to end: split the bundled ETL example, build the image bridge emitted for it, check
# how it runs (uid 50000, read-only root, exit codes), then run the example with
# `bridge run --engine podman` and require the same report as the host-process run; one more container
# of the image reads a connection and a Variable through Airflow's LocalFilesystemBackend from a file
# "mounted from a Secret" (read-only), configured by environment as --env-from-configmap gives it.
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

step "a secrets backend in a Secret volume (LocalFilesystemBackend), in a container of the image"
# The project files of another split (tests/data/pods/secrets_dag.py, whose task records what it read)
# mounted where the image keeps its own; the Secret's stand-in at the path --secret-volume names.
"$bridge" split tests/data/pods/secrets_dag.py -o "$work/secrets-split" --image "$image" \
  --env-from-configmap airflow-secrets-backend --secret-volume airflow-secrets:/var/secrets/airflow \
  --argo-ui-url https://argo.example.com >/dev/null || fail "split of tests/data/pods/secrets_dag.py"
mkdir -p "$work/airflow-secrets" "$work/secrets-pod/record"
echo '{"warehouse": "postgres://etl:file-pass-1@warehouse.internal:5432/sales"}' >"$work/airflow-secrets/connections.json"
echo '{"region": "eu-north"}' >"$work/airflow-secrets/variables.json"
chmod -R a+rX "$work/airflow-secrets" "$work/secrets-split"   # a Secret volume's files are 0644 on Kubernetes
chmod -R a+rwX "$work/secrets-pod"                              # the pod's emptyDir at /tmp
backend=(
  -e AIRFLOW__SECRETS__BACKEND=airflow.secrets.local_filesystem.LocalFilesystemBackend
  -e 'AIRFLOW__SECRETS__BACKEND_KWARGS={"connections_file_path": "/var/secrets/airflow/connections.json", "variables_file_path": "/var/secrets/airflow/variables.json"}'
  -e BRIDGE_ARGO_UI_URL=https://argo.example.com -e BRIDGE_ARGO_WORKFLOW=data/secrets-e2e -e ARGO_NODE_ID=secrets-e2e-42
  -e BRIDGE_TEST_RECORD=/tmp/record
)
engine run "${secure[@]}" --user 50000:0 -v "$work/secrets-pod:/tmp" -v "$work/secrets-split:/opt/bridge:ro" \
  -v "$work/airflow-secrets:/var/secrets/airflow:ro" "${backend[@]}" "$image" \
  run /opt/bridge/dags/secrets/read-secrets.py --run-date 2024-01-01 --outputs /tmp/out >"$work/secrets.log" 2>&1 \
  || { tail -30 "$work/secrets.log" >&2; fail "the secrets backend task (log: $work/secrets.log)"; }
"$py" - "$work/secrets-pod/record" <<'PY' || fail "the task did not read the backend's connection and Variable"
import json, pathlib, sys
record = pathlib.Path(sys.argv[1])
seen = json.loads((record / "task.json").read_text())
assert seen == {"host": "warehouse.internal", "login": "etl", "region": "eu-north"}, seen
link = json.loads((record / "callback.json").read_text())["log_url"]
assert link == ("https://argo.example.com/workflows/data/secrets-e2e?tab=workflow&nodeId=secrets-e2e-42"
                "&sidePanel=logs%3Asecrets-e2e-42%3Amain"), link
print("secrets backend:", seen, "log_url:", link)
PY

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
