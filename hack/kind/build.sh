#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds kind (sigs.k8s.io/kind at KIND_VERSION, versions.env) once, from its Go module through
# the module proxy, into ${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}/kind-<KIND_VERSION>/bin.
# kind itself needs a container engine (Docker or Podman) to create clusters: see hack/kind/e2e.sh.
#
# Idempotent and quiet when built: prints only the bin dir. See hack/lib/go-module-build.sh.
#   hack/kind/build.sh [--print-bin-dir|--force]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=../lib/go-module-build.sh
source "$here/../lib/go-module-build.sh"

gmb_begin "kind-$KIND_VERSION" "kind=$KIND_VERSION" kind -- "$@"
gmb_build kind sigs.k8s.io/kind "$KIND_VERSION" sigs.k8s.io/kind "-s -w"
gmb_finish
