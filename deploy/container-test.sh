#!/usr/bin/env bash
# make container-test: build the image from deploy/Dockerfile with podman and prove it works.
#
# Needs no container registry: the base image is built here once with debootstrap (Debian
# minbase + python3 + venv + this host's extra CA certificates, so pip works behind a
# TLS-inspecting proxy) and cached with podman's storage under .cache/container/.
# Podman runs with runc, host networking (loopback only) and explicit ulimits, which is what
# works inside an unprivileged CI container without systemd or a CNI network.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${LACGW_CONTAINER_CACHE:-$ROOT/.cache/container}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
# The tools import lacsandbox (local Redis, the sandbox), which lives in the checkout, not the wheel.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
SUITE=${LACGW_DEBIAN_SUITE:-bookworm}
MIRROR=${LACGW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE_IMAGE=localhost/lacgw-base:$SUITE
IMAGE=localhost/lac-gateway:test
# overlay is fast and small; vfs (full copies per layer, several GB) works where overlay cannot.
DRIVER=${LACGW_PODMAN_STORAGE_DRIVER:-overlay}
# runc may only lower limits here: it fails with "error setting rlimit type 6/7: operation not
# permitted" when asked for more than this shell's hard limit (and, for nproc, even at it).
NOFILE=$(ulimit -Hn); NPROC=$(ulimit -Hu)
[ "$NOFILE" = unlimited ] || [ "$NOFILE" -gt 65536 ] && NOFILE=65536
[ "$NPROC" = unlimited ] || [ "$NPROC" -gt 4096 ] && NPROC=4096
ULIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")

say() { printf '\n== %s\n' "$*"; }

pm() {
  podman --runtime runc --root "$CACHE/storage" --runroot "$CACHE/run" \
    --storage-driver "$DRIVER" --cgroup-manager cgroupfs --events-backend file "$@"
}

install_tools() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || [ -x /usr/sbin/runc ] || missing+=(runc)
  command -v debootstrap >/dev/null || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "container-test: missing ${missing[*]}; install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

build_base() {
  if pm image exists "$BASE_IMAGE"; then
    return 0
  fi
  say "building base image $BASE_IMAGE (debootstrap $SUITE minbase)"
  local rootfs="$CACHE/rootfs"
  rm -rf "$rootfs"
  PATH=$PATH:/usr/sbin:/sbin debootstrap --variant=minbase \
    --include=python3,python3-venv,ca-certificates,passwd "$SUITE" "$rootfs" "$MIRROR" >/dev/null
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null
  fi
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*
  # pip keeps its own CA list; point it at the system one that now holds the extra CAs.
  tar -C "$rootfs" -c . | pm import \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

build_image() {
  say "building $IMAGE from deploy/Dockerfile"
  local context="$CACHE/context"
  rm -rf "$context"
  mkdir -p "$context/deploy"
  cp "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/constraints.txt" "$context/"
  cp -r "$ROOT/gateway" "$context/gateway"
  cp "$ROOT/deploy/Dockerfile" "$ROOT/deploy/healthcheck.py" "$context/deploy/"
  find "$context" -name '__pycache__' -type d -prune -exec rm -rf {} +
  pm build --format docker --network host "${ULIMITS[@]}" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    -f "$context/deploy/Dockerfile" -t "$IMAGE" "$context"
}

mkdir -p "$CACHE"
install_tools
build_base
build_image
say "running the image next to Redis and the sandbox"
PODMAN_ARGS="--runtime runc --root $CACHE/storage --runroot $CACHE/run --storage-driver $DRIVER \
--cgroup-manager cgroupfs --events-backend file" \
  "$PYTHON" "$ROOT/deploy/tools/container_check.py" --image "$IMAGE" "${ULIMITS[@]}"
# Intermediate build-stage images are not needed once the image is tagged.
pm image prune --force >/dev/null
