#!/usr/bin/env bash
# Builds the local control plane's binaries once, from their Go modules through the module proxy:
#   etcd                      from go.etcd.io/etcd/server/v3 at ETCD_VERSION
#   kube-apiserver, kubectl,  from k8s.io/kubernetes at K8S_VERSION, in a throwaway module that
#   kube-controller-manager,  pins every k8s.io/* staging module to the matching v0.x.y
#   kube-scheduler
# into ${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}/k8s-<K8S_VERSION>/bin (versions in versions.env).
#
# Idempotent: with a complete bin/ for these versions it does nothing. A build goes into a temp
# dir next to bin/ and is renamed into place only when every binary is built, so a failed or
# interrupted build leaves nothing that looks complete. Concurrent runs wait for one another.
#
#   hack/k8s/build.sh                 build if missing, print the bin dir
#   hack/k8s/build.sh --print-bin-dir print the bin dir only (built or not)
#   hack/k8s/build.sh --force         rebuild even if present
# Compiling is CPU-heavy: `nice -n 19 hack/k8s/build.sh` keeps a busy machine responsive.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}
root=$cache/k8s-$K8S_VERSION
bin=$root/bin
binaries=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler)
stamp="k8s=$K8S_VERSION etcd=$ETCD_VERSION binaries=${binaries[*]}"

log() { echo "[k8s-build] $*" >&2; }

complete() {
  [[ -f $bin/VERSIONS && $(cat "$bin/VERSIONS") == "$stamp" ]] || return 1
  local b
  for b in "${binaries[@]}"; do [[ -x $bin/$b ]] || return 1; done
}

force=false
case ${1:-} in
  --print-bin-dir) echo "$bin"; exit 0 ;;
  --force) force=true ;;
  '') ;;
  *) echo "usage: $0 [--print-bin-dir|--force]" >&2; exit 2 ;;
esac

if ! $force && complete; then echo "$bin"; exit 0; fi

command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH
command -v go >/dev/null || { log "go is needed to build the control plane (Go >= 1.26)"; exit 1; }
mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if ! $force && complete; then echo "$bin"; exit 0; fi   # built by a concurrent run meanwhile

rm -rf "$root"/.build.*   # left by an interrupted build (we hold the lock)
work=$(mktemp -d "$root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$work/bin" "$work/etcd" "$work/k8s"
export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false -trimpath" CGO_ENABLED=0
log "building $stamp into $bin (cold, empty Go caches: about 10 minutes on 2 cores)"

timed_build() { # name, module dir, ldflags, package; go's output (module downloads…) only on failure
  local name=$1 dir=$2 ldflags=$3 pkg=$4 start=$SECONDS
  log "go build $name ($pkg)"
  if ! (cd "$dir" && go build -ldflags "$ldflags" -o "$work/bin/$name" "$pkg") >"$work/$name.log" 2>&1; then
    cat "$work/$name.log" >&2
    log "building $name failed"
    exit 1
  fi
  log "built $name in $((SECONDS - start))s ($(du -h "$work/bin/$name" | cut -f1))"
}

# etcd: the server module's root package is etcd's main.
cat >"$work/etcd/go.mod" <<MOD
module imgroup.local/etcd-build

go 1.26

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
timed_build etcd "$work/etcd" "-s -w" go.etcd.io/etcd/server/v3

# Kubernetes: its go.mod requires the staging modules (k8s.io/api, k8s.io/client-go, …) at v0.0.0,
# replaced by ./staging/src/…, which a module dependency cannot use. Pin each to v0.<minor>.<patch>.
kube_mod=$(cd "$work/k8s" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
[[ -f $kube_mod ]] || { log "could not download k8s.io/kubernetes@$K8S_VERSION's go.mod"; exit 1; }
staging_version=v0.${K8S_VERSION#v1.}
{
  echo "module imgroup.local/k8s-build"
  echo
  echo "go 1.26"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/.*$#\t\1 => \1 '"$staging_version"'#p' "$kube_mod"
  echo ")"
} >"$work/k8s/go.mod"
[[ $(grep -c ' => ' "$work/k8s/go.mod") -gt 20 ]] || { log "found too few staging modules in $kube_mod"; exit 1; }

IFS=. read -r major minor _ <<<"${K8S_VERSION#v}"
kube_ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done
for name in kube-apiserver kubectl kube-controller-manager kube-scheduler; do
  timed_build "$name" "$work/k8s" "$kube_ldflags" "k8s.io/kubernetes/cmd/$name"
done

echo "$stamp" >"$work/bin/VERSIONS"
rm -rf "$root/bin.old"
[[ -d $bin ]] && mv "$bin" "$root/bin.old"
mv "$work/bin" "$bin"
rm -rf "$root/bin.old"
log "done: $bin"
echo "$bin"
