# syntax=docker/dockerfile:1
# The support-tunnel api: built with tsc in one stage, run from a small image with
# production dependencies only, as the unprivileged `node` user.
#   docker build -t support-tunnel-api .
#   docker run -e DATABASE_URL=postgres://... -p 8080:8080 support-tunnel-api

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: every dependency (TypeScript included), then compile common and api
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# npm ci checks the lockfile against every workspace's manifest
COPY package.json package-lock.json tsconfig.base.json ./
COPY testkit/package.json testkit/
COPY common/package.json common/
COPY api/package.json api/
COPY device/package.json device/
COPY admin/package.json admin/
COPY infra/package.json infra/
COPY scripts/lab/package.json scripts/lab/
COPY scripts/bench/package.json scripts/bench/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY common/ common/
COPY api/ api/
# the production build: no specs, no test helpers, no lab or testkit
RUN npx tsc -b api/tsconfig.build.json \
 && find common/dist api/dist -name '*.tsbuildinfo' -delete

# --- deps: production dependencies of the api and common only
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/testkit/package.json testkit/
COPY --from=build /app/common/package.json common/
COPY --from=build /app/api/package.json api/
COPY --from=build /app/device/package.json device/
COPY --from=build /app/admin/package.json admin/
COPY --from=build /app/infra/package.json infra/
COPY --from=build /app/scripts/lab/package.json scripts/lab/
COPY --from=build /app/scripts/bench/package.json scripts/bench/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
      --workspace @support-tunnel/api --workspace @support-tunnel/common \
 && mkdir -p common/node_modules api/node_modules \
 && npm cache clean --force

# --- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/common/node_modules common/node_modules
COPY --from=deps /app/api/node_modules api/node_modules
COPY --from=build /app/common/package.json common/
COPY --from=build /app/common/dist common/dist
COPY --from=build /app/api/package.json api/
COPY --from=build /app/api/dist api/dist
# Files stay root-owned and read-only to the process; it writes nothing but logs.
USER node
EXPOSE 8080
# slim has no curl: ask node itself
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "api/dist/bin.js", "serve"]
