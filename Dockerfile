# streamclust container image, with the native TensorFlow backend built from the TensorFlow
# wheel on the Python package index (scripts/native/setup.sh): nothing is downloaded from the
# libtensorflow host, which the native packages' own install scripts would need.
#
#   CPU (default):  docker build -t streamclust .
#   GPU (CUDA):     docker build -t streamclust:gpu --build-arg NATIVE=gpu .
#                   docker run --gpus all streamclust:gpu --source kafka --brokers kafka:9092 --topic events
#   wasm only:      docker build -t streamclust:wasm --build-arg NATIVE=none .
#
# The GPU variant builds @tensorflow/tfjs-node-gpu against the `tensorflow` 2.12 wheel and stages
# the CUDA 11.8 / cuDNN 8.6 runtime libraries from PyPI's nvidia-*-cu11 wheels beside it, so the
# runtime base needs no CUDA of its own: only the host's NVIDIA driver, which `--gpus all`
# (the NVIDIA container toolkit) mounts. The backend selection logs which backend it chose and
# on which device: without a visible GPU the GPU build runs on the CPU and says so. Neither
# variant could be built where this was written (no Docker engine there).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript (dev dependencies, no install scripts needed) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

# --- production dependencies, and the native addon built from the TensorFlow wheel ---
FROM ${NODE_IMAGE} AS deps
ARG NATIVE=cpu
# python3 + pip fetch and unpack the wheel, make + g++ compile the addon against Node's headers
# (the official node images keep them under /usr/local/include/node).
RUN if [ "$NATIVE" != none ]; then \
      apt-get update && apt-get install -y --no-install-recommends python3 python3-pip make g++ \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY package.json package-lock.json ./
# The optional native packages fail their own install here (no libtensorflow download) and are
# dropped; setup.sh installs the one it builds without its install script.
RUN npm ci --omit=dev --no-audit --no-fund
COPY scripts/native ./scripts/native
RUN if [ "$NATIVE" != none ]; then \
      npm_config_omit=dev PIP="python3 -m pip" STREAMCLUST_NATIVE_CACHE=/tmp/native \
        bash scripts/native/setup.sh --$NATIVE \
      && rm -rf /tmp/native /root/.cache/pip; \
    fi \
 && npm cache clean --force

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
RUN (getent group streamclust || groupadd --system --gid 10001 streamclust) \
 && (id -u streamclust 2>/dev/null || useradd --system --uid 10001 --gid streamclust --home-dir /app streamclust)
WORKDIR /app
ENV NODE_ENV=production \
    STREAMCLUST_HTTP__HOST=0.0.0.0
COPY --chown=streamclust:streamclust package.json ./
# node_modules carries the addon and libtensorflow (found through the addon's rpath).
COPY --from=deps --chown=streamclust:streamclust /app/node_modules ./node_modules
COPY --from=build --chown=streamclust:streamclust /app/dist ./dist
COPY --chown=streamclust:streamclust config ./config
RUN mkdir -p /app/out && chown streamclust:streamclust /app/out
USER streamclust
EXPOSE 9464
ENTRYPOINT ["node", "dist/src/cli.js", "run"]
CMD []
