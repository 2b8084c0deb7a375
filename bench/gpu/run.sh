#!/usr/bin/env bash
# The trainer engine benchmark on a GPU machine: builds the GPU build of the native TensorFlow
# addon from the registries (npm run setup:native -- --gpu: the `tensorflow` 2.12 wheel and the
# CUDA 11.8 / cuDNN 8.6 runtime wheels nvidia-*-cu11, no libtensorflow download), checks that it
# sees the GPU, and runs `npm run bench -- engine`, which puts the tensorflow backend beside wasm
# in one table.
#
# Needs: an NVIDIA GPU with its driver (libcuda comes with the driver, everything else from
# PyPI), python3 with pip, make and g++. Usage: bash bench/gpu/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v nvidia-smi >/dev/null 2>&1 || { echo "bench/gpu: nvidia-smi not found: no NVIDIA GPU here" >&2; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run setup:native -- --gpu
# TensorFlow dlopens the CUDA libraries; they are staged beside libtensorflow, which its RUNPATH
# ($ORIGIN) covers. The loader path is set too, for the libraries cuDNN opens in turn.
export LD_LIBRARY_PATH="$PWD/node_modules/@tensorflow/tfjs-node-gpu/deps/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

npm run build --silent
node --input-type=module -e "
  const tf = await import('@tensorflow/tfjs');
  const { selectBackend, describeChoice } = await import('./dist/src/model/backend.js');
  const choice = await selectBackend(tf, 'tensorflow');
  console.log(describeChoice(choice));
  if (!choice.gpu) { console.error('bench/gpu: the native addon loaded but sees no GPU (check the driver: nvidia-smi)'); process.exit(3); }
"

npx tsx bench/index.ts engine "$@"
