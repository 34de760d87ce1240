# syntax=docker/dockerfile:1
# jfdl-serve: a build stage (npm ci, tsc), production-only dependency stages, the application
# files both targets share, and two runtime targets.
#   docker build --target cpu  -t jfdl-serve:cpu  .      (the default target: the last stage)
#   docker build --target cuda -t jfdl-serve:cuda .
# With podman, add --format docker (keeps the HEALTHCHECK). Where registry images cannot be
# pulled, NODE_IMAGE names a local stand-in (scripts/container/base-image.sh makes one):
#   podman build --format docker --build-arg NODE_IMAGE=localhost/jfdl-node-base:… --target cpu .
# test/deploy/dockerfile.test.ts checks this file as text; test/system/container.test.ts
# (npm run test:container) builds the cpu target and runs it.

# the Node.js 20 base: the official slim image, or any image with node and npm in /usr/local
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

# ---------- node: the Node.js base, also the source of the node binary in the CUDA image ----------
FROM ${NODE_IMAGE} AS node

# ---------- build: every dependency, TypeScript compiled to dist/ ----------
FROM node AS build
WORKDIR /app
# the CPU build of onnxruntime ships inside the npm package; nothing to download here
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# npm's download cache outlives the layer, so a changed lock file re-downloads only what changed
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---------- production dependencies only (no TypeScript, tsx, test tools) ----------
# onnxruntime-node ships its native library for every OS and CPU (≈ 290 MB); only this
# platform's is kept (≈ 45 MB).
FROM node AS deps-cpu
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --omit=dev --no-audit --no-fund \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 ! -path "*/linux/$(node -p process.arch)" -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin -type d -empty -delete

FROM node AS deps-cuda
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node's install script fetches its CUDA 12 execution provider (from NuGet, outside
# the npm registry). It is run explicitly, since npm versions differ in whether they run
# dependencies' install scripts.
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && node node_modules/onnxruntime-node/script/install.js \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 ! -path "*/linux/$(node -p process.arch)" -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin -type d -empty -delete

# ---------- app: what both runtime targets carry besides node_modules ----------
FROM scratch AS app
COPY --from=build /app/dist /app/dist
# package.json: "type": "module" and the version /openapi.json reports; public/: the playground page
COPY package.json /app/
COPY public /app/public
# the bundled models; mount a volume on /app/models to serve others
COPY models /app/models

# ---------- cuda: NVIDIA CUDA 12 + cuDNN 9 runtime ----------
FROM ${CUDA_IMAGE} AS cuda
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# files stay root-owned and read-only to the service's user: it never writes to its own code
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid app --no-create-home --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
ENV NODE_ENV=production \
    EXECUTION_PROVIDERS=cuda,cpu \
    MODELS_DIR=/app/models \
    HOST=0.0.0.0 \
    PORT=8080
COPY --from=deps-cuda /app/node_modules ./node_modules
COPY --from=app /app ./
# numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]

# ---------- cpu: slim Node base (default target) ----------
FROM node AS cpu
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid app --no-create-home --home-dir /app --shell /usr/sbin/nologin app
WORKDIR /app
ENV NODE_ENV=production \
    EXECUTION_PROVIDERS=cpu \
    MODELS_DIR=/app/models \
    HOST=0.0.0.0 \
    PORT=8080
COPY --from=deps-cpu /app/node_modules ./node_modules
COPY --from=app /app ./
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
