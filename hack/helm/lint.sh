#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `make lint`: the chart checked three ways over a matrix of values (the cases file):
#   1. `helm lint --strict` with helm 4 and helm 3 (built by hack/helm/build.sh);
#   2. `helm template` (CRDs included) at the local control plane's Kubernetes version;
#   3. every rendered object dry-run on a real API server:
#        kubectl apply --server-side --dry-run=server --validate=strict
#      into a namespace of its own per case, labelled to enforce and warn on the `restricted`
#      Pod Security Standard. A case fails on any error or on any warning the API server returns
#      (a Pod template that would violate `restricted`, a deprecated API, an unknown field).
# The monitoring.coreos.com CRDs (ServiceMonitor, PodMonitor, PrometheusRule) come from the test
# fixture test/fixtures/crds/monitoring.coreos.com-v1.yaml, applied only to a cluster that has
# none (a cluster with the Prometheus Operator's own keeps them), and removed again at the end.
#
#   hack/helm/lint.sh [--chart DIR] [--cases FILE] [--kubeconfig FILE] [--namespace-prefix NAME]
#                     [--rendered-dir DIR] [--no-dry-run]
#   --chart            default charts/imgroup
#   --cases            default hack/helm/lint-cases (its format is described in that file)
#   --kubeconfig       the API server for the dry-run. Default: the local control plane of
#                      `make cluster-up` (.cluster/), started for the run and stopped after it
#                      unless it was already running
#   --namespace-prefix namespaces are <prefix>-<case> (created, deleted at the end); default
#                      imgroup-lint-<random>
#   --rendered-dir     keep each case's rendered manifests as <dir>/<case>.yaml
#   --no-dry-run       lint and render only (no API server needed)
# Ends with one line per case on stdout; exit 1 when any case failed (its output on stderr).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../k8s/versions.env
source "$repo/hack/k8s/versions.env"
monitoring_crds=$repo/test/fixtures/crds/monitoring.coreos.com-v1.yaml
release=imgroup

chart=$repo/charts/imgroup
cases=$here/lint-cases
kubeconfig=
prefix=imgroup-lint-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
rendered_dir=
dry_run=true
while [[ $# -gt 0 ]]; do
  case $1 in
    --chart) chart=$2; shift 2 ;;
    --cases) cases=$2; shift 2 ;;
    --kubeconfig) kubeconfig=$2; shift 2 ;;
    --namespace-prefix) prefix=$2; shift 2 ;;
    --rendered-dir) rendered_dir=$2; shift 2 ;;
    --no-dry-run) dry_run=false; shift ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[[ -f $chart/Chart.yaml ]] || { echo "no chart at $chart (no Chart.yaml)" >&2; exit 2; }
[[ -f $cases ]] || { echo "no cases file $cases" >&2; exit 2; }
cases_dir=$(cd "$(dirname "$cases")" && pwd)

log() { echo "[helm-lint] $*" >&2; }

helm_bin=$("$here/build.sh")
helm4=$helm_bin/helm
helm3=$helm_bin/helm3
kubectl=$("$repo/hack/k8s/build.sh")/kubectl

work=$(mktemp -d "${TMPDIR:-/tmp}/imgroup-helm-lint.XXXXXX")
created_namespaces=()
installed_fixture_crds=false
stop_cluster=false
cleanup() {
  if [[ ${#created_namespaces[@]} -gt 0 ]]; then
    "$kubectl" --kubeconfig "$kubeconfig" delete namespace --wait=false --ignore-not-found "${created_namespaces[@]}" >/dev/null 2>&1 || true
  fi
  if $installed_fixture_crds && ! $stop_cluster; then   # leave a cluster we did not start as we found it
    "$kubectl" --kubeconfig "$kubeconfig" delete --timeout=60s --ignore-not-found -f "$monitoring_crds" >/dev/null 2>&1 || true
  fi
  if $stop_cluster; then "$repo/hack/k8s/cluster-down.sh" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the API server ------------------------------------------------------------------------------
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

if $dry_run && [[ -z $kubeconfig ]]; then
  kubeconfig=$repo/.cluster/kubeconfig
  if ! [[ -f $kubeconfig ]] || ! k get --raw /readyz >/dev/null 2>&1; then
    log "starting the local control plane (hack/k8s/cluster-up.sh) for the dry-run"
    stop_cluster=true
    "$repo/hack/k8s/cluster-up.sh" >/dev/null
  fi
fi

if $dry_run; then
  missing=()
  for crd in servicemonitors podmonitors prometheusrules; do
    k get crd "$crd.monitoring.coreos.com" >/dev/null 2>&1 || missing+=("$crd.monitoring.coreos.com")
  done
  if [[ ${#missing[@]} -eq 3 ]]; then
    log "no monitoring.coreos.com CRDs on the API server: applying the test fixture $(basename "$monitoring_crds")"
    installed_fixture_crds=true
    k apply --server-side --field-manager=imgroup-helm-lint -f "$monitoring_crds" >/dev/null
    k wait --for=condition=Established --timeout=60s "${missing[@]/#/crd/}" >/dev/null
  elif [[ ${#missing[@]} -gt 0 ]]; then
    log "the API server has some monitoring.coreos.com CRDs but not ${missing[*]}: install them (the Prometheus Operator's) first"
    exit 1
  fi
fi

# --- the cases -----------------------------------------------------------------------------------
# One case per line: <name> [helm flags...]; `#` starts a comment. In the flags, @CASES_DIR@ is
# the cases file's directory and @NAMESPACE@ the case's namespace. helm lint gets every flag but
# --api-versions (it has none); helm template gets them all.
failed=0
summary=()
fail() { # case, message, output file
  failed=$((failed + 1))
  summary+=("FAIL $1: $2")
  log "case $1: $2"
  if [[ -s ${3:-} ]]; then sed 's/^/    /' "$3" >&2; fi
}

while read -r -u 3 name rest || [[ -n ${name:-} ]]; do
  [[ -z ${name:-} || $name == \#* ]] && continue
  [[ $name =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || { fail "$name" "case names are lowercase DNS labels"; continue; }
  ns=$prefix-$name
  [[ ${#ns} -le 53 ]] || { fail "$name" "namespace $ns is too long (at most 53 characters: room for suffixes)"; continue; }
  rest=${rest%%#*}
  rest=${rest//@CASES_DIR@/$cases_dir}
  rest=${rest//@NAMESPACE@/$ns}
  read -r -a flags <<<"$rest"
  lint_flags=()
  for ((i = 0; i < ${#flags[@]}; i++)); do
    case ${flags[i]} in
      --api-versions | -a) i=$((i + 1)) ;;
      --api-versions=*) ;;
      *) lint_flags+=("${flags[i]}") ;;
    esac
  done
  out=$work/$name.out

  ok=true
  for helm in "$helm4" "$helm3"; do
    if ! "$helm" lint --strict --quiet --kube-version "$K8S_VERSION" --namespace "$ns" "$chart" "${lint_flags[@]}" >"$out" 2>&1; then
      fail "$name" "$(basename "$helm") lint --strict failed" "$out"
      ok=false
      break
    fi
  done
  $ok || continue

  manifest=$work/$name.yaml
  if ! "$helm4" template "$release" "$chart" --namespace "$ns" --kube-version "$K8S_VERSION" --include-crds "${flags[@]}" >"$manifest" 2>"$out"; then
    fail "$name" "helm template failed" "$out"
    continue
  fi
  if [[ -n $rendered_dir ]]; then mkdir -p "$rendered_dir" && cp "$manifest" "$rendered_dir/$name.yaml"; fi
  if ! $dry_run; then
    summary+=("ok   $name: helm lint --strict (helm 4, helm 3), helm template")
    continue
  fi

  # The case's namespace is the default of a kubeconfig of its own, not a -n flag: kubectl refuses
  # -n for a manifest whose objects name other namespaces (namespaced mode's watched namespace),
  # as helm does not.
  case_kubeconfig=$work/$name.kubeconfig
  cp "$kubeconfig" "$case_kubeconfig"
  "$kubectl" --kubeconfig "$case_kubeconfig" config set-context --current --namespace "$ns" >/dev/null
  kc() { "$kubectl" --kubeconfig "$case_kubeconfig" "$@"; }

  # Every namespace the rendered objects are in (objects without one go to the case's), created
  # here when missing. `kubectl create --dry-run=client` prints them without reading or storing
  # anything on the server (apply would diff against live objects such as an installed CRD).
  if ! kc create --dry-run=client --validate=false -f "$manifest" \
    -o go-template='{{if .items}}{{range .items}}{{.metadata.namespace}}{{"\n"}}{{end}}{{else}}{{.metadata.namespace}}{{"\n"}}{{end}}' \
    >"$work/$name.namespaces" 2>"$out"; then
    fail "$name" "the rendered manifest is not a list of Kubernetes objects" "$out"
    continue
  fi
  mapfile -t namespaces < <({ echo "$ns"; cat "$work/$name.namespaces"; } | grep -v '^<no value>$' | grep . | sort -u)
  for n in "${namespaces[@]}"; do
    k get namespace "$n" >/dev/null 2>&1 && continue
    k create namespace "$n" >/dev/null
    created_namespaces+=("$n")
    k label namespace "$n" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/warn=restricted >/dev/null
  done

  # --force-conflicts: a dry-run checks the objects, not who owns their fields on this server
  # (a CRD applied by an earlier install or a test is not a reason to fail).
  if ! kc apply --server-side --dry-run=server --force-conflicts --validate=strict --field-manager=helm \
    -f "$manifest" >"$work/$name.applied" 2>"$out"; then
    fail "$name" "the API server rejected objects (server-side dry-run)" "$out"
    continue
  fi
  if grep -q . "$out"; then
    fail "$name" "the API server warned (server-side dry-run)" "$out"
    continue
  fi
  objects=$(grep -c . "$work/$name.applied" || true)
  if [[ $objects -eq 0 ]]; then
    fail "$name" "rendered no objects"
    continue
  fi
  summary+=("ok   $name: helm lint --strict (helm 4, helm 3), helm template, $objects objects accepted by the API server (server-side dry-run)")
done 3<"$cases"

printf '%s\n' "${summary[@]}"
if [[ ${#summary[@]} -eq 0 ]]; then echo "no cases in $cases" >&2; exit 1; fi
[[ $failed -eq 0 ]]
