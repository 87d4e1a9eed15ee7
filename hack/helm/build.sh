#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds helm once, from its Go module through the module proxy:
#   helm   from helm.sh/helm/v4 at HELM_VERSION   (the current major)
#   helm3  from helm.sh/helm/v3 at HELM3_VERSION  (the chart is linted with both)
# into ${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}/helm-<HELM_VERSION>/bin (versions in versions.env).
# Each is built in a throwaway module that requires only helm's module, so its dependencies are
# the versions helm's own go.mod names; `helm version` reports the pinned version, and helm's
# default Kubernetes version (for `helm template` without a cluster) follows the client-go it
# was built with, as in helm's own release builds.
#
# Idempotent and quiet when built: prints only the bin dir. See hack/lib/go-module-build.sh.
#   hack/helm/build.sh                 build if missing, print the bin dir
#   hack/helm/build.sh --print-bin-dir print the bin dir only (built or not)
#   hack/helm/build.sh --force         rebuild even if present
# From empty Go caches this compiles for minutes: `nice -n 19 hack/helm/build.sh` on a busy machine.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=../lib/go-module-build.sh
source "$here/../lib/go-module-build.sh"

gmb_begin "helm-$HELM_VERSION" "helm=$HELM_VERSION helm3=$HELM3_VERSION" helm helm3 -- "$@"
for build in "helm v4 $HELM_VERSION" "helm3 v3 $HELM3_VERSION"; do
  read -r name major version <<<"$build"
  module=helm.sh/helm/$major
  gmb_build "$name" "$module" "$version" "$module/cmd/helm" \
    "-s -w -X $module/internal/version.version=$version -X $module/internal/version.metadata= -X $module/internal/version.gitTreeState=clean"
done
gmb_finish
