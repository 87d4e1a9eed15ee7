#!/usr/bin/env bash
# Sourced by hack/helm/build.sh and hack/kind/build.sh: build command-line tools from their Go
# modules through the module proxy into ${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}/<dir>/bin, the
# way hack/k8s/build.sh builds the control plane.
#
#   gmb_begin <dir> <stamp> <binary>... -- "$@"   parse --print-bin-dir / --force; exit 0 printing
#                                                 the bin dir when a complete build for <stamp> is
#                                                 there; else take the lock and open a build dir
#   gmb_build <name> <module> <version> <package> <ldflags>
#                                                 go build <package> in a throwaway module that
#                                                 requires only <module>@<version>
#   gmb_finish                                    stamp the build and rename it into place
#
# Idempotent: a complete bin/ (every binary executable, VERSIONS = the stamp) is left alone and the
# run is quiet but for the bin dir on stdout. A build goes into a temp dir next to bin/ and is
# renamed into place only when every binary is built, so a failed or interrupted build leaves
# nothing that looks complete. Concurrent runs wait for one another (flock). Progress on stderr.

gmb_log() { echo "[${GMB_TAG:-go-build}] $*" >&2; }

gmb_complete() {
  [[ -f $GMB_BIN/VERSIONS && $(cat "$GMB_BIN/VERSIONS") == "$GMB_STAMP" ]] || return 1
  local b
  for b in "${GMB_BINARIES[@]}"; do [[ -x $GMB_BIN/$b ]] || return 1; done
}

gmb_begin() {
  local dir=$1
  GMB_STAMP=$2
  shift 2
  GMB_BINARIES=()
  while [[ $# -gt 0 && $1 != -- ]]; do GMB_BINARIES+=("$1"); shift; done
  [[ ${1:-} == -- ]] && shift
  GMB_TAG=${dir%%-v[0-9]*}-build
  GMB_ROOT=${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}/$dir
  GMB_BIN=$GMB_ROOT/bin

  local force=false
  case ${1:-} in
    --print-bin-dir) echo "$GMB_BIN"; exit 0 ;;
    --force) force=true ;;
    '') ;;
    *) echo "usage: $0 [--print-bin-dir|--force]" >&2; exit 2 ;;
  esac
  if ! $force && gmb_complete; then echo "$GMB_BIN"; exit 0; fi

  command -v go >/dev/null || PATH=/usr/local/go/bin:$PATH
  command -v go >/dev/null || { gmb_log "go is needed to build ${GMB_BINARIES[*]} (Go >= 1.26)"; exit 1; }
  mkdir -p "$GMB_ROOT"
  exec 9>"$GMB_ROOT/.lock"
  flock 9
  if ! $force && gmb_complete; then echo "$GMB_BIN"; exit 0; fi   # built by a concurrent run meanwhile

  rm -rf "$GMB_ROOT"/.build.*   # left by an interrupted build (we hold the lock)
  GMB_WORK=$(mktemp -d "$GMB_ROOT/.build.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the path is fixed
  trap "rm -rf '$GMB_WORK'" EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$GMB_WORK/bin"
  export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false -trimpath" CGO_ENABLED=0
  gmb_log "building $GMB_STAMP into $GMB_BIN"
}

gmb_build() {
  local name=$1 module=$2 version=$3 pkg=$4 ldflags=$5 start=$SECONDS
  local mod_dir=$GMB_WORK/mod-$name
  mkdir -p "$mod_dir"
  # A module of our own that requires only the tool's module: Go's minimal version selection then
  # picks exactly the dependency versions the tool's own go.mod names (go.sum is written by -mod=mod).
  printf 'module imgroup.local/%s-build\n\ngo 1.26\n\nrequire %s %s\n' "$name" "$module" "$version" >"$mod_dir/go.mod"
  gmb_log "go build $name ($pkg@$version)"
  if ! (cd "$mod_dir" && go build -ldflags "$ldflags" -o "$GMB_WORK/bin/$name" "$pkg") >"$GMB_WORK/$name.log" 2>&1; then
    cat "$GMB_WORK/$name.log" >&2
    gmb_log "building $name failed"
    exit 1
  fi
  gmb_log "built $name in $((SECONDS - start))s ($(du -h "$GMB_WORK/bin/$name" | cut -f1))"
}

gmb_finish() {
  echo "$GMB_STAMP" >"$GMB_WORK/bin/VERSIONS"
  rm -rf "$GMB_ROOT/bin.old"
  if [[ -d $GMB_BIN ]]; then mv "$GMB_BIN" "$GMB_ROOT/bin.old"; fi
  mv "$GMB_WORK/bin" "$GMB_BIN"
  rm -rf "$GMB_ROOT/bin.old"
  gmb_log "done: $GMB_BIN"
  echo "$GMB_BIN"
}
