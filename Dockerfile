# syntax=docker/dockerfile:1
# facerec on the CPU (ONNX Runtime, whose CPU binary ships in its npm package). The GPU variant is Dockerfile.gpu.
#   docker build -t facerec .        or        docker compose build   (docs/deployment.md)

# ---- build: every dependency, TypeScript compiled to dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` (tsc) would run before the sources are copied; no dependency needs its install
# script (sharp and @napi-rs/canvas ship prebuilt binaries as optional packages).
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && chmod +x dist/cli/main.js

# ---- runtime: production dependencies only, non-root ----
FROM node:20-bookworm-slim AS runtime
# Two malloc arenas instead of eight per core: the engine threads' freed buffers return to the pool sooner
# (bench:memory, docs/operations.md: about 10% lower RSS after bursts of large photos).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    FACEREC_HOST=0.0.0.0 \
    FACEREC_PORT=3000 \
    FACEREC_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY models ./models
# The web UI is served as plain files from src/web (src/http/app.ts resolves it from the package root).
COPY src/web ./src/web
# `facerec info` loads every model through the sha256 check of models/manifest.json and runs the engine's
# self-test on models/self-test.jpg: a corrupt or git-lfs-pointer model fails the build here, not the first request. `serve` checks again at start (each engine worker verifies
# before the port opens), so a container whose models do not verify exits at once with MODEL_CHECKSUM_MISMATCH.
# /data: the embedded database when no DATABASE_URL is given (docker run -v facerec-data:/data ...).
RUN node dist/cli/main.js info \
 && ln -s /app/dist/cli/main.js /usr/local/bin/facerec \
 && mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# slim has no curl: Node's fetch. Liveness only; /readyz (database, workers, draining) is for load balancers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FACEREC_PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["facerec", "serve"]
