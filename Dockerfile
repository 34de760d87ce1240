# syntax=docker/dockerfile:1
# jfdl-serve: a build stage (npm ci, tsc) and two runtime targets.
#   docker build --target cpu  -t jfdl-serve:cpu  .      (the default target: the last stage)
#   docker build --target cuda -t jfdl-serve:cuda .
# test/deploy/dockerfile.test.ts checks this file without a Docker engine and runs its install
# and build commands in a clean copy of the build context.

ARG NODE_VERSION=20
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

# ---------- node: the Node.js binary, also copied into the CUDA image ----------
FROM node:${NODE_VERSION}-bookworm-slim AS node

# ---------- build: every dependency, TypeScript compiled to dist/ ----------
FROM node AS build
WORKDIR /app
# the CPU build of onnxruntime ships inside the npm package; nothing to download here
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---------- production dependencies only (no TypeScript, tsx, test tools) ----------
FROM node AS deps-cpu
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node AS deps-cuda
WORKDIR /app
# onnxruntime-node's install script fetches its CUDA 12 execution provider
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---------- cuda: NVIDIA CUDA 12 + cuDNN 9 runtime ----------
FROM ${CUDA_IMAGE} AS cuda
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app --home-dir /app app
WORKDIR /app
ENV NODE_ENV=production \
    EXECUTION_PROVIDERS=cuda,cpu \
    MODELS_DIR=/app/models \
    HOST=0.0.0.0 \
    PORT=8080
COPY --from=deps-cuda --chown=app:app /app/node_modules ./node_modules
COPY --from=build --chown=app:app /app/dist ./dist
# package.json: "type": "module" and the version /openapi.json reports; public/: the playground page
COPY --chown=app:app package.json ./
COPY --chown=app:app public ./public
# the bundled models; mount a volume on /app/models to serve others
COPY --chown=app:app models ./models
USER app
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]

# ---------- cpu: slim Node base (default target) ----------
FROM node:${NODE_VERSION}-bookworm-slim AS cpu
WORKDIR /app
ENV NODE_ENV=production \
    EXECUTION_PROVIDERS=cpu \
    MODELS_DIR=/app/models \
    HOST=0.0.0.0 \
    PORT=8080
COPY --from=deps-cpu --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# package.json: "type": "module" and the version /openapi.json reports; public/: the playground page
COPY --chown=node:node package.json ./
COPY --chown=node:node public ./public
# the bundled models; mount a volume on /app/models to serve others
COPY --chown=node:node models ./models
USER node
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
