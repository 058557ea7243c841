# syntax=docker/dockerfile:1
# The SJE executor. Build from the repository root:
#   docker build -f dockerfiles/executor.Dockerfile -t sje-executor .
# Configure with SJE_* environment variables (SJE_AMQP_URL, ...) or mount a YAML
# file and pass --config: see docs/configuration.md.

FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 (the task-manager's embedded store) compiles from source when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@12.21.0
# Dependencies first, from the lockfile alone, so they stay cached while sources change.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile --prod=false
# The services run their build (packages/*/dist, `pnpm build`) with plain Node: no tsx at run time.
RUN pnpm build

FROM node:20-slim
WORKDIR /app
COPY --from=build --chown=node:node /app /app
# Where compose.yaml mounts the task-manager's data volume, so that /status reads the store file
# (executor.status_reads: store_first); owned by node, whichever container first fills the volume.
RUN mkdir -p /var/lib/sje && chown node:node /var/lib/sje

USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--conditions=sje-compiled", "packages/executor/dist/main.js", "--config", "config/default.yaml"]
