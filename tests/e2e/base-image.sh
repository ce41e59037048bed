#!/usr/bin/env bash
# Make a Python 3.11 base image without a registry: debootstrap Debian bookworm (python3, pip),
# then `podman import` it. Prints the image reference. Reuses the image when it already exists.
#   bash tests/e2e/base-image.sh [REF]      (default localhost/bridge-base:bookworm)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/podman-env.sh"
ref="${1:-localhost/bridge-base:bookworm}"
engine() { "$BRIDGE_ENGINE" $BRIDGE_ENGINE_FLAGS "$@"; }
if engine image exists "$ref" 2>/dev/null; then
  echo "$ref"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "base-image.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
root="$(mktemp -d /var/tmp/bridge-base.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "base-image.sh: debootstrap bookworm into $root ..." >&2
debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
  bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
chmod 755 "$root"  # mktemp made it 0700: the image's / must be traversable by uid 50000
# What python:3.11-slim gives: `python` and `pip` on PATH, pip allowed to install into the system Python
# (Debian marks it externally managed; the image is a single-purpose environment), no apt lists or caches.
ln -sf python3 "$root/usr/bin/python"
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" -c . | engine import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$ref" >/dev/null
echo "$ref"
