#!/usr/bin/env bash
# Stop the control plane that cluster-up.sh started and remove <repo>/.cluster (data, certs, logs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
exec node "$here/cluster.mjs" down --dir="$repo/.cluster"
