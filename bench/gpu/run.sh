#!/usr/bin/env bash
# The trainer engine benchmark on a GPU machine: installs the GPU build of the native
# TensorFlow addon, checks that it sees the GPU, and runs `npm run bench -- engine` with the
# tensorflow backend beside wasm and cpu, so the table compares them in one run.
#
# Needs: an NVIDIA GPU with its driver, CUDA 11.2 and cuDNN 8.1 libraries on the loader path
# (what @tensorflow/tfjs-node-gpu 4.x is built against), and internet access for the install
# (it downloads libtensorflow). Usage: bash bench/gpu/run.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v nvidia-smi >/dev/null 2>&1 || { echo "bench/gpu: nvidia-smi not found: no NVIDIA GPU here" >&2; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

if ! node -e "require.resolve('@tensorflow/tfjs-node-gpu')" 2>/dev/null; then
  echo "bench/gpu: installing @tensorflow/tfjs-node-gpu (downloads libtensorflow)"
  npm install --no-save --no-audit --no-fund @tensorflow/tfjs-node-gpu@4.22.0
fi

npm run build --silent
node --input-type=module -e "
  const tf = await import('@tensorflow/tfjs');
  const { selectBackend, describeChoice } = await import('./dist/src/model/backend.js');
  const choice = await selectBackend(tf, 'tensorflow');
  console.log(describeChoice(choice));
  if (!choice.gpu) { console.error('bench/gpu: the native addon loaded but sees no GPU (check CUDA/cuDNN)'); process.exit(3); }
"

npx tsx bench/index.ts engine "$@"
