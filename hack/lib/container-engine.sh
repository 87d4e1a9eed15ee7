#!/usr/bin/env bash
# Sourced by hack/image.sh and hack/kind/e2e.sh: pick the container engine.
#   container_engine   prints `docker` or `podman` (IMGROUP_CONTAINER_ENGINE chooses when both
#                      are there; default docker), or explains on stderr and returns 1 when none
#                      answers. A client without a running engine (a docker CLI with no daemon)
#                      does not count.
container_engine() {
  local candidates=(docker podman) engine
  if [[ -n ${IMGROUP_CONTAINER_ENGINE:-} ]]; then candidates=("$IMGROUP_CONTAINER_ENGINE"); fi
  for engine in "${candidates[@]}"; do
    command -v "$engine" >/dev/null || continue
    if "$engine" info >/dev/null 2>&1; then echo "$engine"; return 0; fi
    echo "$engine is installed but its engine does not answer (\`$engine info\` failed): start it (e.g. the Docker daemon) and re-run" >&2
    return 1
  done
  echo "no container engine: this needs Docker or Podman (neither \`docker\` nor \`podman\` is on PATH)." >&2
  echo "Without one, \`make test\` and \`make e2e\` run everything on a local control plane with pods as local processes." >&2
  return 1
}
