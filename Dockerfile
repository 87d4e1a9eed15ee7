# The one imgroup image: one executable, the role as its subcommand (`imgroup operator`,
# `imgroup gate`, `imgroup logic`, …), configured by flags and IMGROUP_* environment variables.
# Runs as a numeric non-root user (so `runAsNonRoot` can verify it) and writes nothing to its
# filesystem: it runs with `readOnlyRootFilesystem: true` and no volumes but those the operator
# mounts. Node.js 24 (LTS).
# `make image` builds it with Docker or Podman (hack/image.sh; tag imgroup:<package.json version>);
# the development machine has neither, so `make test` runs the same code as local processes.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY runtime ./runtime
COPY operator ./operator
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="imgroup" \
      org.opencontainers.image.description="Group-chat backend: gates, logic nodes and their Kubernetes operator" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production IMGROUP_MODE=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
USER 65532:65532
EXPOSE 8080 8180 9090 9190
ENTRYPOINT ["node", "/app/bin/imgroup.js"]
CMD ["--help"]
