# imgroup — the two commands:
#   make run    install what is missing, build, start a whole local cluster on loopback
#   make test   install what is missing, build, run the whole test suite
#   make e2e    the end-to-end suite: the chart, the operator and the whole system as pods
#   make faults / make soak   the fault suite and the soak (README "Reliability")
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_MODULES_STAMP := node_modules/.imgroup-stamp
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_PACKAGES := redis-server prometheus
VITEST_ARGS ?=
RUN_ARGS ?=

.PHONY: help run test e2e faults soak deps system-deps node-deps build typecheck clean docs crds k8s-bins helm-bins lint image kind-e2e cluster-up cluster-down

help:
	@echo "make run    start a local cluster (Redis Cluster 3+3, 2 logic nodes, 2 gates) on loopback"
	@echo "make test   run the whole test suite (unit + integration against real processes)"
	@echo "make e2e    the end-to-end suite: everything as pods on a local control plane (test/e2e)"
	@echo "make faults the fault suite (test/faults): kills, pauses, cuts under load; rewrites README's Reliability table (FAULTS_README=0: not)"
	@echo "make soak   SOAK_MINUTES (default 10) of load, churn and a fault a minute; rewrites README's Soak figures (not in CI)"
	@echo "make build  compile TypeScript to dist/"
	@echo "make cluster-up / cluster-down  a local Kubernetes control plane on loopback (.cluster/kubeconfig)"
	@echo "make lint   helm lint --strict, helm template over a values matrix, server-side dry-run of every object"
	@echo "make image / kind-e2e  (Docker or Podman only) build the image; install the chart on a kind cluster"

run: deps build
	node bin/imgroup.js dev $(RUN_ARGS)

test: deps build typecheck k8s-bins helm-bins
	npx vitest run --project unit --project integration --project operator $(VITEST_ARGS)

# Issue 12's fault suite, one scenario file at a time, each with its own Redis Cluster; then the
# README "Reliability" table from its report (.faults/, or FAULTS_REPORT_DIR) unless FAULTS_README=0.
FAULTS_REPORT_DIR ?= .faults
export FAULTS_REPORT_DIR
faults: deps build typecheck
	@mkdir -p $(FAULTS_REPORT_DIR) && find $(FAULTS_REPORT_DIR) -maxdepth 1 -name '*.json' ! -name soak.json -delete
	npx vitest run --project faults $(VITEST_ARGS)
	@if [ "$${FAULTS_README:-1}" != 0 ]; then node hack/faults/reliability-readme.mjs faults; fi

# Minutes (SOAK_MINUTES, default 10) of half the measured maximum rate, churn and a fault a minute.
soak: deps build typecheck
	npx vitest run --project soak $(VITEST_ARGS)
	@if [ "$${FAULTS_README:-1}" != 0 ]; then node hack/faults/reliability-readme.mjs soak; fi

# The operator (chart's Deployment, in-cluster config, chart RBAC), Redis, logic and gates as pods
# of a local control plane with kube-controller-manager, kube-scheduler and the test node agent.
e2e: deps build typecheck k8s-bins helm-bins
	npx vitest run --project e2e $(VITEST_ARGS)

deps: system-deps node-deps

# redis-server (Redis 7 for sharded pub/sub) and promtool/prometheus come from Debian's packages.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y --no-install-recommends $$missing || \
	    { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; } || \
	    { echo "could not install$$missing with apt-get; install it and re-run" >&2; exit 1; }; \
	fi; \
	redis-server --version | grep -qE 'v=(7|8|9)\.' || { echo "redis-server 7 or newer is needed (sharded pub/sub)" >&2; exit 1; }

# npm ci when node_modules was installed from another package.json/package-lock.json (compared by
# content, not by time: a fresh checkout or worktree has new file times but needs no reinstall).
node-deps:
	@want=$$(cat package.json package-lock.json | sha256sum | cut -c1-64); \
	if [ "$$(cat $(NODE_MODULES_STAMP) 2>/dev/null)" != "$$want" ]; then \
	  npm ci --no-audit --no-fund && echo "$$want" > $(NODE_MODULES_STAMP); \
	fi

build: node-deps
	npx tsc -p tsconfig.json

# Sources, tests and support code (the build only compiles runtime/ and operator/).
typecheck: node-deps
	npx tsc -p tsconfig.test.json

# etcd, kube-apiserver, kubectl, kube-controller-manager, kube-scheduler, built once from their Go
# modules into ${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}/k8s-<version>/bin (cold: see README).
k8s-bins:
	@hack/k8s/build.sh >/dev/null

# helm 4 (and helm 3, to lint with both), built once from their Go modules into
# ${IMGROUP_CACHE_DIR:-$HOME/.cache/imgroup}/helm-<version>/bin (versions in hack/helm/versions.env).
helm-bins:
	@hack/helm/build.sh >/dev/null

# The chart over the values matrix of hack/helm/lint-cases: helm lint --strict (helm 4 and 3),
# helm template, and a server-side dry-run of every rendered object on the local control plane
# (started for the run unless `make cluster-up` runs one).
lint: helm-bins k8s-bins
	@hack/helm/lint.sh

# Machines with Docker or Podman only (not run by `make test`; this repo's CI has neither):
# the one image, and the chart installed on a kind cluster with the small example and a smoke run.
image:
	@hack/image.sh

kind-e2e: node-deps
	@hack/kind/e2e.sh

# Local control plane on 127.0.0.1 (state in .cluster/); prints `export KUBECONFIG=...`.
cluster-up: k8s-bins
	@hack/k8s/cluster-up.sh

cluster-down:
	@hack/k8s/cluster-down.sh

clean:
	rm -rf dist node_modules

# Regenerate the configuration table in README.md from the option specs, and the Helm values table
# from charts/imgroup/values.yaml (its `# --` comments) and values.schema.json.
docs: build
	node --input-type=module -e "import { readFileSync, writeFileSync } from 'node:fs'; import { configReference, spliceReadme } from './dist/runtime/cli/config-reference.js'; writeFileSync('README.md', spliceReadme(readFileSync('README.md', 'utf8'), configReference()));"
	node --input-type=module -e "import { readFileSync, writeFileSync } from 'node:fs'; import { spliceReadme } from './dist/runtime/cli/config-reference.js'; import { VALUES_END, VALUES_START, valuesReference } from './dist/runtime/cli/values-reference.js'; const table = valuesReference(readFileSync('charts/imgroup/values.yaml', 'utf8'), JSON.parse(readFileSync('charts/imgroup/values.schema.json', 'utf8'))); writeFileSync('README.md', spliceReadme(readFileSync('README.md', 'utf8'), table, { start: VALUES_START, end: VALUES_END }));"

# Regenerate the ImGroupCluster CRD (charts/imgroup/files/crds/, wrapped by templates/crds.yaml) from
# its TypeScript schema in operator/api/.
crds: build
	node --input-type=module -e "import { mkdirSync, writeFileSync } from 'node:fs'; import { dirname } from 'node:path'; import { CRD_PATH, renderCrdYaml } from './dist/operator/api/crd-yaml.js'; mkdirSync(dirname(CRD_PATH), { recursive: true }); writeFileSync(CRD_PATH, renderCrdYaml());"
