#!/usr/bin/env bash
# Builds the native TensorFlow backend (@tensorflow/tfjs-node, or -gpu with --gpu) from the
# TensorFlow C library inside a PyPI wheel, for machines that cannot reach the host the package's
# own install script downloads libtensorflow from.
#
# Why this works: the `tensorflow-cpu` (or `tensorflow`) wheel ships libtensorflow_cc.so.2, which
# exports the TensorFlow C API (TF_*, TFE_*) the addon binds to and needs no Python, beside
# libtensorflow_framework.so.2 and the C headers. Staged where the addon's binding.gyp expects
# libtensorflow (deps/lib, deps/include), `npm rebuild` compiles the addon against it.
#
# Usage: npm run setup:native [-- --gpu] [-- --wheel FILE] [-- --force]
#   --gpu         the GPU build: @tensorflow/tfjs-node-gpu against the `tensorflow` wheel, with
#                 the CUDA 11.8 / cuDNN 8.6 runtime libraries from PyPI's nvidia-*-cu11 packages
#   --wheel FILE  use this TensorFlow wheel instead of fetching one (fully offline installs;
#                 for --gpu, the nvidia-* wheels are then looked for in the same directory)
#   --force       rebuild even if the addon is already built against the same wheel
# Environment: STREAMCLUST_TF_VERSION (default 2.12.0), STREAMCLUST_NATIVE_CACHE (default
# <repo>/.cache/native), PIP (default: python3 -m pip).
#
# Idempotent: a finished build is stamped; a second run only checks that the addon loads.
# `npm ci` removes the addon again (the package is an optional dependency whose own install
# fails offline), so run this after every `npm ci`. Nothing here is needed by `npm start`:
# without it the backend choice falls back to wasm and says why.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
cd "$repo_root"

variant=cpu
wheel_file=""
force=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --gpu) variant=gpu ;;
    --cpu) variant=cpu ;;
    --force) force=1 ;;
    --wheel)
      wheel_file="${2:?--wheel needs a file}"
      shift
      ;;
    -h | --help)
      sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup:native: unknown argument '$1' (expected --gpu, --wheel FILE or --force)" >&2
      exit 2
      ;;
  esac
  shift
done

tf_version="${STREAMCLUST_TF_VERSION:-2.12.0}"
# The addon's package version must match @tensorflow/tfjs in package-lock.json.
tfjs_version="$(node -p "require('./package-lock.json').packages['node_modules/@tensorflow/tfjs'].version")"
cache="${STREAMCLUST_NATIVE_CACHE:-$repo_root/.cache/native}"
read -r -a pip <<<"${PIP:-python3 -m pip}"

if [[ $variant == gpu ]]; then
  package=@tensorflow/tfjs-node-gpu
  wheel_name=tensorflow
  other=@tensorflow/tfjs-node
else
  package=@tensorflow/tfjs-node
  wheel_name=tensorflow-cpu
  other=@tensorflow/tfjs-node-gpu
fi
pkg_dir="$repo_root/node_modules/$package"
stamp_value="$package@$tfjs_version $wheel_name==$tf_version node-abi-$(node -p process.versions.modules)"
stamp="$pkg_dir/deps/.streamclust-native"

say() { printf 'setup:native: %s\n' "$*" >&2; }
die() {
  say "$*"
  exit 1
}

probe() {
  # Loads the addon in a fresh process and runs one op: what the backend selection will do.
  TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}" node --input-type=module -e "
    const tf = await import('$package');
    const r = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync());
    if (tf.getBackend() !== 'tensorflow' || r[0] !== 3) throw new Error('backend ' + tf.getBackend() + ' computed ' + r[0]);
    const v = tf.version['tfjs-node'] ?? tf.version['tfjs-node-gpu'];
    const gpu = tf.backend().isUsingGpuDevice === true;
    console.error('setup:native: $package ' + v + ' loads: backend tensorflow on ' + (gpu ? 'GPU' : 'CPU') + ', libtensorflow ' + tf.backend().binding.TF_Version);
  "
}

[[ -d node_modules ]] || die "node_modules is missing: run \`npm ci\` first, then this script."

if [[ $force -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$stamp_value" ]] && probe; then
  say "already built ($stamp_value); --force rebuilds"
  exit 0
fi

for tool in python3 make g++; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' is not on PATH; building the addon needs python3, make and a C++ compiler (Debian: apt-get install python3 python3-pip make g++)."
done

# Node's own headers, so node-gyp compiles without downloading them. Debian's nodejs and the
# official images both keep them under <prefix>/include/node.
node_prefix="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
nodedir="${npm_config_nodedir:-$node_prefix}"
[[ -f "$nodedir/include/node/node_api.h" ]] ||
  die "Node.js headers not found under $nodedir/include/node (Debian: apt-get install libnode-dev; or set npm_config_nodedir to a Node.js source or headers directory)."

# --- 1. the wheel (pip's cache makes a second fetch cheap) ---
mkdir -p "$cache/wheels"
if [[ -z "$wheel_file" ]]; then
  wheel_file="$(compgen -G "$cache/wheels/${wheel_name//-/_}-$tf_version-*.whl" | head -n 1 || true)"
fi
if [[ -z "$wheel_file" ]]; then
  say "fetching the $wheel_name $tf_version wheel with pip (about $([[ $variant == gpu ]] && echo 590 || echo 230) MB, once) ..."
  # The wheel is only unpacked, never imported, so it is chosen for a fixed Python ABI whatever
  # python3 is here; --no-deps: TensorFlow's Python dependencies are not needed.
  "${pip[@]}" download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 --dest "$cache/wheels" "$wheel_name==$tf_version" ||
    die "pip could not fetch $wheel_name==$tf_version; with no access to the Python package index, copy the wheel here and pass --wheel FILE."
  wheel_file="$(compgen -G "$cache/wheels/${wheel_name//-/_}-$tf_version-*.whl" | head -n 1)"
fi
[[ -f "$wheel_file" ]] || die "wheel not found: $wheel_file"

# --- 2. the C library and headers, unpacked once per wheel ---
staged="$cache/$(basename "$wheel_file" .whl)"
if [[ ! -f "$staged/.complete" ]]; then
  say "unpacking the TensorFlow C library from $(basename "$wheel_file") ..."
  rm -rf "$staged"
  python3 - "$wheel_file" "$staged" <<'PY'
import os, shutil, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
libs = {"tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"}
# The C API headers and what they include (tf_tstring.h reaches into core/platform and tsl).
headers = tuple(
    "tensorflow/include/tensorflow/" + d for d in ("c/", "core/platform/", "tsl/c/", "tsl/platform/")
)
found = set()
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if name in libs:
            target = os.path.join(dest, "lib", os.path.basename(name))
            found.add(name)
        elif name.startswith(headers) and name.endswith(".h"):
            target = os.path.join(dest, "include", name[len("tensorflow/include/"):])
        else:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
missing = libs - found
if missing:
    sys.exit(f"setup:native: {wheel} has no {', '.join(sorted(missing))}: not a TensorFlow 2.x Linux wheel?")
PY
  touch "$staged/.complete"
fi

# --- 3. the npm package, installed without its download script ---
installed_version="$(node -p "try { require('$package/package.json').version } catch { '' }")"
if [[ "$installed_version" != "$tfjs_version" ]]; then
  say "installing $package@$tfjs_version without install scripts ..."
  # --no-save keeps package.json and the lock file as they are.
  npm install --no-save --ignore-scripts --no-audit --no-fund "$package@$tfjs_version" >&2
fi
# npm installs every missing optional dependency with it; the other native package has no addon
# then, and the backend selection would try it first. Only a built one may stay.
other_dir="$repo_root/node_modules/$other"
if [[ -d "$other_dir" && ! -f "$other_dir/deps/.streamclust-native" ]] &&
  ! compgen -G "$other_dir/lib/napi-v*/tfjs_binding.node" >/dev/null; then
  say "removing $other: installed with no native addon"
  rm -rf "$other_dir"
fi

# --- 4. stage libtensorflow where binding.gyp looks for it ---
# binding.gyp links -ltensorflow -ltensorflow_framework from deps/lib with rpath
# $ORIGIN/../../deps/lib; scripts/install.js checks for libtensorflow.so.2.9.1 (the version it
# would download) to skip the download. The loader then asks for the libraries' own sonames
# (libtensorflow_cc.so.2, libtensorflow_framework.so.2): every name points at the one file.
rm -rf "$pkg_dir/deps"
mkdir -p "$pkg_dir/deps/lib"
cp -R "$staged/include" "$pkg_dir/deps/include"
for lib in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
  # Hard links where the cache shares the file system: no second 580 MB copy.
  ln -f "$staged/lib/$lib" "$pkg_dir/deps/lib/$lib" 2>/dev/null || cp "$staged/lib/$lib" "$pkg_dir/deps/lib/$lib"
done
(
  cd "$pkg_dir/deps/lib"
  for name in libtensorflow.so libtensorflow.so.2 libtensorflow.so.2.9.1; do ln -sf libtensorflow_cc.so.2 "$name"; done
  for name in libtensorflow_framework.so libtensorflow_framework.so.2.9.1; do ln -sf libtensorflow_framework.so.2 "$name"; done
)

# --- 5. GPU: the CUDA runtime libraries TensorFlow 2.12 was built against, from PyPI ---
if [[ $variant == gpu ]]; then
  cuda_wheels=(nvidia-cuda-runtime-cu11==11.8.89 nvidia-cublas-cu11==11.11.3.6 nvidia-cufft-cu11==10.9.0.58
    nvidia-curand-cu11==10.3.0.86 nvidia-cusolver-cu11==11.4.1.48 nvidia-cusparse-cu11==11.7.5.86
    nvidia-cudnn-cu11==8.6.0.163 nvidia-cuda-nvrtc-cu11==11.8.89)
  find_links=()
  [[ -n "${wheel_file:-}" ]] && find_links=(--find-links "$(dirname "$wheel_file")")
  say "fetching the CUDA 11.8 / cuDNN 8.6 runtime wheels ..."
  "${pip[@]}" download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 "${find_links[@]}" --dest "$cache/wheels" "${cuda_wheels[@]}" ||
    die "pip could not fetch the nvidia-*-cu11 wheels (${cuda_wheels[*]})"
  python3 - "$cache/wheels" "$pkg_dir/deps/lib" "${cuda_wheels[@]}" <<'PY'
import glob, os, shutil, sys, zipfile
wheels, dest, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
for spec in specs:
    name, version = spec.split("==")
    files = glob.glob(os.path.join(wheels, f"{name.replace('-', '_')}-{version}-*.whl"))
    if not files:
        sys.exit(f"setup:native: no wheel for {spec} in {wheels}")
    with zipfile.ZipFile(files[0]) as z:
        for info in z.infolist():
            if "/lib/" in info.filename and ".so" in os.path.basename(info.filename):
                with z.open(info) as src, open(os.path.join(dest, os.path.basename(info.filename)), "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
PY
  say "CUDA libraries staged in $pkg_dir/deps/lib (found through the addon's rpath; the NVIDIA driver must be installed on the host)"
fi

# --- 6. build the addon ---
say "building the $package addon against $wheel_name $tf_version (nodedir $nodedir) ..."
started=$SECONDS
# build_from_source: node-pre-gyp would first try to download a prebuilt addon from the same
# unreachable host.
npm_config_nodedir="$nodedir" npm_config_build_from_source=true \
  npm rebuild --foreground-scripts --no-audit --no-fund "$package" >"$cache/build.log" 2>&1 || {
  cat "$cache/build.log" >&2
  die "building the addon failed (log above, kept in $cache/build.log)"
}
compgen -G "$pkg_dir/lib/napi-v*/tfjs_binding.node" >/dev/null || {
  cat "$cache/build.log" >&2
  die "npm rebuild finished but no tfjs_binding.node was built (log above)"
}
say "built in $((SECONDS - started)) s"
probe || die "the addon was built but does not load (see the error above)"
echo "$stamp_value" >"$stamp"
say "done: model.backend auto now picks tensorflow ($package)"
