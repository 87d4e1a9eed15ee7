# The imgroup runtime image: one executable, `imgroup gate|logic|…`, configured by IMGROUP_*
# environment variables. Runs as non-root and needs no writable root filesystem.
# (No Docker engine exists on the development machine; this file is built by CI/release elsewhere.)
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY runtime ./runtime
COPY operator ./operator
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:24-bookworm-slim
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
