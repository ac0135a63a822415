#!/usr/bin/env bash
# A local base image for the serving-image tests: Debian bookworm's Python 3.11 with venv,
# made with mmdebstrap from Debian's mirror and imported into the Docker engine, because no image
# can be pulled from a registry on the CI machines. Usage: tests/docker/base-image.sh [TAG]
# (default aispec-test-base:bookworm). Needs root, mmdebstrap and a running Docker engine.
set -euo pipefail
tag="${1:-aispec-test-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag: already present"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# `essential` + python3 and libstdc++ (numpy and onnxruntime link it, as in python:3.11-slim): no apt, docs, man pages or locales (the serving image needs none of them).
mmdebstrap --quiet --variant=essential \
  --include=python3,python3-venv,python-is-python3,passwd,ca-certificates,libstdc++6 \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  bookworm "$tmp/rootfs.tar" "$mirror"
docker import --change 'CMD ["python3"]' "$tmp/rootfs.tar" "$tag" >/dev/null
docker image inspect --format '{{.RepoTags}} {{.Size}} bytes' "$tag"
