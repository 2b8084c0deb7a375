# streamclust container image.
#
#   CPU (default):  docker build -t streamclust .
#   GPU (CUDA):     docker build -t streamclust:gpu \
#                     --build-arg RUNTIME_BASE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 .
#                   docker run --gpus all streamclust:gpu --source kafka --brokers kafka:9092 --topic events
#
# The GPU variant only swaps the runtime base for one with CUDA 11.2 and cuDNN 8.1, which
# @tensorflow/tfjs-node-gpu 4.x is built against; the backend selection then picks the GPU
# build of the native addon first (and logs why if it cannot). Both native packages download
# libtensorflow during `npm ci`, so the build needs internet access; without it they are
# skipped (optional dependencies) and the image runs on the wasm backend.

ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_BASE=node:20-bookworm-slim

# --- build: compile TypeScript (dev dependencies, no install scripts needed) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

# --- production dependencies only (optional native TensorFlow addons included) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS node
FROM ${RUNTIME_BASE} AS runtime
# The CUDA base has no Node.js: take the same node binary the dependencies were installed with.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN (getent group streamclust || groupadd --system --gid 10001 streamclust) \
 && (id -u streamclust 2>/dev/null || useradd --system --uid 10001 --gid streamclust --home-dir /app streamclust)
WORKDIR /app
ENV NODE_ENV=production \
    STREAMCLUST_HTTP__HOST=0.0.0.0
COPY --chown=streamclust:streamclust package.json ./
COPY --from=deps --chown=streamclust:streamclust /app/node_modules ./node_modules
COPY --from=build --chown=streamclust:streamclust /app/dist ./dist
COPY --chown=streamclust:streamclust config ./config
RUN mkdir -p /app/out && chown streamclust:streamclust /app/out
USER streamclust
EXPOSE 9464
ENTRYPOINT ["node", "dist/src/cli.js", "run"]
CMD []
