# Sourced by the e2e scripts: how podman runs on a machine without a container daemon or systemd
# (root, nested in a sandbox). On a workstation with a working podman or Docker, nothing here is needed:
# set BRIDGE_ENGINE=docker (or podman) and BRIDGE_ENGINE_FLAGS="" before running tests/e2e/image.sh.
e2e_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$e2e_dir/containers.conf}"
export BRIDGE_ENGINE="${BRIDGE_ENGINE:-podman}"
if [ -z "${BRIDGE_ENGINE_FLAGS+set}" ]; then
  # Global flags go before the podman subcommand (bridge run --engine podman inserts them too).
  # Storage of its own (kept between runs on this machine: the base image is made once), overlay
  # when the kernel allows it here, else vfs (every layer and container a full copy: slow).
  driver="${BRIDGE_STORAGE_DRIVER:-}"
  store="${BRIDGE_CONTAINER_STORE:-/var/lib/bridge-containers}"
  if [ -z "$driver" ]; then
    driver=vfs
    if podman --root "$store/overlay" --runroot "/run/bridge-containers/overlay" --storage-driver overlay \
         --runtime runc --cgroup-manager cgroupfs info >/dev/null 2>&1; then
      driver=overlay
    fi
  fi
  export BRIDGE_ENGINE_FLAGS="--runtime runc --cgroup-manager cgroupfs --storage-driver $driver --root $store/$driver --runroot /run/bridge-containers/$driver"
fi
