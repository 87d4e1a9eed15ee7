#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `make image`: build the one imgroup image (Dockerfile) with Docker or Podman, whichever runs
# (IMGROUP_CONTAINER_ENGINE=podman to choose). The tag is ${IMAGE:-imgroup}:<package.json version>,
# the chart's default image.tag (its appVersion). Prints the image reference on stdout.
#   hack/image.sh            IMAGE=registry.example/imgroup hack/image.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=lib/container-engine.sh
source "$here/lib/container-engine.sh"

engine=$(container_engine)
version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
image=${IMAGE:-imgroup}:$version
echo "[image] $engine build -t $image $repo" >&2
"$engine" build -t "$image" "$repo" >&2
echo "$image"
