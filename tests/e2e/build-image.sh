#!/usr/bin/env bash
# Split a DAG and build the image bridge emitted for it, the way a user would, here.
#   bash tests/e2e/build-image.sh VENV DAG_FILE IMAGE SPLIT_DIR
# VENV: a venv with Airflow and bridge (its exact versions become the image's constraints).
# Base image: BASE_IMAGE when set, else tests/e2e/base-image.sh (debootstrap, made once per machine).
# Prints one line: the image's size and build time. See docs/IMAGE.md.
set -euo pipefail
[ "$#" -eq 4 ] || { echo "usage: build-image.sh VENV DAG_FILE IMAGE SPLIT_DIR" >&2; exit 2; }
venv="$1" dag="$2" image="$3" split="$4"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tests/e2e/podman-env.sh"
engine() { "$BRIDGE_ENGINE" $BRIDGE_ENGINE_FLAGS "$@"; }
py="$venv/bin/python"

base="${BASE_IMAGE:-}"
[ -n "$base" ] || base="$(bash "$root/tests/e2e/base-image.sh")"

rm -rf "$split"
"$venv/bin/bridge" split "$dag" -o "$split" --image "$image" >/dev/null
# bridge is not on PyPI yet: its wheel goes where the Dockerfile looks first (images/wheels/).
"$py" -m pip wheel --quiet --no-deps -w "$split/images/wheels" "$root" >/dev/null
# Pin every dependency to what the tests ran with (the emitted recipe pins only direct requirements).
# BUILD_CONSTRAINTS=0: only the recipe's own pins, pip resolves the rest for the base image's Python
# (needed when the venv's Python is newer than the base's: Debian bookworm has 3.11.2).
constraints=()
if [ "${BUILD_CONSTRAINTS:-1}" != 0 ]; then
  "$py" -m pip list --format=freeze --exclude-editable | grep -v -i '^airflow-argo-bridge' >"$split/images/constraints.txt"
  constraints=(--build-arg "PIP_CONSTRAINTS=/opt/bridge/images/constraints.txt")
fi

# Behind a TLS-inspecting proxy pip in the build needs this machine's CA bundle (RUN steps only;
# nothing of it stays in the image). BUILD_CA_BUNDLE="" turns it off.
ca="${BUILD_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}"
build_extra=()
[ -n "$ca" ] && [ -f "$ca" ] && build_extra+=(--volume "$ca:/etc/ssl/certs/ca-certificates.crt:ro")
start=$(date +%s)
log="$split.build.log"
engine build --network host "${build_extra[@]}" --build-arg "BASE_IMAGE=$base" "${constraints[@]}" \
  -f "$split/images/Dockerfile" -t "$image" "$split" >"$log" 2>&1 \
  || { tail -40 "$log" >&2; echo "build-image.sh: the build failed (log: $log)" >&2; exit 1; }
engine image prune -f >/dev/null 2>&1 || true  # the previous build of this tag, now dangling
size=$(engine image inspect --format '{{.Size}}' "$image")
echo "image $image (base $base): $((size / 1000000)) MB, built in $(( $(date +%s) - start )) s"
