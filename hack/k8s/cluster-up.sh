#!/usr/bin/env bash
# Start a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) on
# loopback, state in <repo>/.cluster, building the binaries first if they are missing.
# A no-op while one is running. Prints `export KUBECONFIG=…` on stdout (progress on stderr):
#   eval "$(hack/k8s/cluster-up.sh)"
# Flags go to cluster.mjs up: --apiserver-port=16443 --etcd-port=12379 --etcd-peer-port=12380
#   --controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller (empty: none)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=$("$here/build.sh")
exec node "$here/cluster.mjs" up --dir="$repo/.cluster" --bin-dir="$bin_dir" "$@"
