#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `make kind-e2e`, for machines with Docker or Podman: the user's path on a real cluster of
# containers. Not run by `make test` (the development machine and CI have no container engine;
# there `make e2e` runs the same steps on a local control plane with pods as local processes).
#   1. build the image (hack/image.sh) and kind (hack/kind/build.sh), helm (hack/helm/build.sh);
#   2. create a kind cluster (or reuse one of that name) and load the image into it;
#   3. `helm install` the chart into a namespace that enforces the restricted Pod Security
#      Standard, with image.repository/tag set to the image just built;
#   4. `kubectl apply` charts/imgroup/examples/small.yaml into a second restricted namespace and
#      wait for the ImGroupCluster to be Ready;
#   5. port-forward the gate Service and run the smoke client: `imgroup bench --target … --messages
#      100`, which exits 1 when a message is lost.
# Environment: KIND_CLUSTER (default imgroup-e2e), KEEP_CLUSTER=1 keeps the cluster afterwards,
# IMGROUP_CONTAINER_ENGINE=podman to choose Podman, READY_TIMEOUT (default 10m).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../lib/container-engine.sh
source "$repo/hack/lib/container-engine.sh"

cluster=${KIND_CLUSTER:-imgroup-e2e}
ready_timeout=${READY_TIMEOUT:-10m}
operator_ns=imgroup-system
cluster_ns=imgroup-demo
release=imgroup
example=$repo/charts/imgroup/examples/small.yaml

log() { echo "[kind-e2e] $*" >&2; }

engine=$(container_engine)
if [[ $engine == podman ]]; then export KIND_EXPERIMENTAL_PROVIDER=podman; fi
[[ -f $example ]] || { log "missing $example"; exit 1; }

kind=$("$repo/hack/kind/build.sh")/kind
helm=$("$repo/hack/helm/build.sh")/helm
kubectl=$("$repo/hack/k8s/build.sh")/kubectl
(cd "$repo" && npx tsc -p tsconfig.json)   # the smoke client runs from dist/
image=$("$repo/hack/image.sh")
repository=${image%:*}
tag=${image##*:}

work=$(mktemp -d "${TMPDIR:-/tmp}/imgroup-kind-e2e.XXXXXX")
kubeconfig=$work/kubeconfig
forward_pid=
created_cluster=false
cleanup() {
  if [[ -n $forward_pid ]]; then kill "$forward_pid" 2>/dev/null || true; fi
  if $created_cluster && [[ ${KEEP_CLUSTER:-} != 1 ]]; then
    log "deleting kind cluster $cluster (KEEP_CLUSTER=1 keeps it)"
    "$kind" delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

if "$kind" get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "reusing kind cluster $cluster"
  "$kind" export kubeconfig --name "$cluster" --kubeconfig "$kubeconfig" >/dev/null 2>&1
else
  log "creating kind cluster $cluster"
  created_cluster=true
  "$kind" create cluster --name "$cluster" --kubeconfig "$kubeconfig" --wait 180s >&2
fi

log "loading $image into the cluster's nodes"
"$engine" save -o "$work/image.tar" "$image"
"$kind" load image-archive "$work/image.tar" --name "$cluster" >&2

for ns in "$operator_ns" "$cluster_ns"; do
  k create namespace "$ns" --dry-run=client -o yaml | k apply -f - >/dev/null
  k label --overwrite namespace "$ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
done

log "helm install $release (image $image)"
"$helm" upgrade --install "$release" "$repo/charts/imgroup" --kubeconfig "$kubeconfig" \
  --namespace "$operator_ns" --set "image.repository=$repository" --set "image.tag=$tag" \
  --wait --timeout 5m >&2

log "applying $(basename "$example")"
k apply -n "$cluster_ns" -f "$example" >&2
name=$(k get -n "$cluster_ns" -f "$example" -o jsonpath='{.metadata.name}')
log "waiting up to $ready_timeout for ImGroupCluster $name to be Ready"
k wait -n "$cluster_ns" "imgroupcluster/$name" --for=condition=Ready --timeout="$ready_timeout" >&2
k get -n "$cluster_ns" "imgroupcluster/$name" >&2

secret=$(k get -n "$cluster_ns" "imgroupcluster/$name" -o jsonpath='{.spec.auth.secretRef.name}')
secret=${secret:-$name-auth}
secret_value() { k get -n "$cluster_ns" secret "$secret" -o jsonpath="{.data.$1}" | base64 -d; }
admin_token=$(secret_value admin-token)
jwt_secret=$(secret_value jwt-secret)
service_port=$(k get -n "$cluster_ns" service "$name-gate" -o jsonpath='{.spec.ports[0].port}')

k port-forward -n "$cluster_ns" "service/$name-gate" ":$service_port" >"$work/port-forward.log" 2>&1 &
forward_pid=$!
local_port=
for _ in $(seq 1 100); do   # kubectl prints the local port it chose once it listens
  local_port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$work/port-forward.log" | head -n 1)
  [[ -n $local_port ]] && break
  kill -0 "$forward_pid" 2>/dev/null || { cat "$work/port-forward.log" >&2; log "kubectl port-forward exited"; exit 1; }
  sleep 0.2
done
[[ -n $local_port ]] || { log "kubectl port-forward did not start listening"; exit 1; }

log "smoke client: imgroup bench against service/$name-gate (127.0.0.1:$local_port)"
IMGROUP_ADMIN_TOKEN=$admin_token IMGROUP_JWT_SECRET=$jwt_secret node "$repo/bin/imgroup.js" bench \
  --target "http://127.0.0.1:$local_port" --messages 100 --groups 2 --group-size 10 --online 1 \
  --senders 2 --workers 1
log "ok: helm install, ImGroupCluster Ready, 100 messages with none lost"
