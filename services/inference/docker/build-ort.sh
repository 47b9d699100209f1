#!/usr/bin/env bash
# Builds ONNX Runtime ${SCOPEHIVE_ORT} with the CUDA and TensorRT execution providers and its Node
# binding for the image's JetPack, and packs onnxruntime-common and onnxruntime-node into $1.
# Without SCOPEHIVE_L4T (x86-64) it leaves $1 empty.
#
# Why compile: no prebuilt libonnxruntime with CUDA/TensorRT exists for aarch64. Microsoft's GPU
# archives and the NuGet GPU package are linux-x64 only; the Jetson Zoo / jetson-ai-lab builds are
# Python wheels, whose runtime is linked into the Python module (no libonnxruntime.so for a Node
# binding to link against). So this builds the library and binding together, once per JetPack.
# Time: hours, not minutes. The CUDA provider's kernels dominate; only the device's own CUDA
# architecture is built and the attention kernels (unused by YOLO) are off, which roughly halves
# it. Expect about 1.5-3 h on an AGX Orin class builder (12 cores) and longer on 8 cores; at least
# 16 GB of memory with swap (nvcc peaks near 2 GB per job, hence the job count below). These are
# estimates from the number of sources, not measured here (no Jetson in this repository's CI).
# ONNX Runtime's build.py refuses to run as root without --allow_running_as_root; image builds
# run as root, so it is passed.
set -euo pipefail
out="$1"
mkdir -p "$out"
[[ -n "${SCOPEHIVE_L4T:-}" ]] || exit 0
: "${SCOPEHIVE_ORT:?}" "${SCOPEHIVE_CUDA:?}" "${SCOPEHIVE_CUDA_ARCH:?}" "${SCOPEHIVE_BUILD_PACKAGES:?}"

here="$(dirname "$0")"
# shellcheck disable=SC1091 # l4t-apt.sh, beside this script in the image
source "$here/l4t-apt.sh"
l4t_apt
# shellcheck disable=SC2086 # the package list is a word list on purpose
apt-get install -y --no-install-recommends git build-essential python3 python3-pip python3-dev \
  ${SCOPEHIVE_BUILD_PACKAGES}
# ONNX Runtime needs CMake >= 3.26; Ubuntu 20.04/22.04 ship 3.16/3.22.
pip3 install --no-cache-dir cmake==3.28.6 packaging==24.1 wheel==0.44.0

export PATH="/opt/node/bin:/usr/local/cuda-${SCOPEHIVE_CUDA}/bin:${PATH}"
ln -sf /opt/node/lib/node_modules/npm/bin/npm-cli.js /opt/node/bin/npm

git clone --depth 1 --recursive --branch "v${SCOPEHIVE_ORT}" https://github.com/microsoft/onnxruntime /src/ort
cd /src/ort
node "$here/ort-node-ep-options.mjs" js/node/src/session_options_helper.cc

jobs=$(( $(nproc) < 8 ? $(nproc) : 8 ))
./build.sh --allow_running_as_root --config Release --update --build --parallel "$jobs" --nvcc_threads 1 \
  --skip_tests --build_shared_lib --build_nodejs \
  --use_cuda --cuda_home "/usr/local/cuda-${SCOPEHIVE_CUDA}" --cudnn_home /usr/lib/aarch64-linux-gnu \
  --use_tensorrt --tensorrt_home /usr/lib/aarch64-linux-gnu \
  --cmake_extra_defines "CMAKE_CUDA_ARCHITECTURES=${SCOPEHIVE_CUDA_ARCH}" onnxruntime_BUILD_UNIT_TESTS=OFF \
  onnxruntime_USE_FLASH_ATTENTION=OFF onnxruntime_USE_MEMORY_EFFICIENT_ATTENTION=OFF

# The binding loads the provider libraries from its own folder.
binding="$(find js/node/bin -name onnxruntime_binding.node -print -quit)"
[[ -n "$binding" ]] || { echo "build-ort.sh: no onnxruntime_binding.node was built" >&2; exit 1; }
cp build/Linux/Release/libonnxruntime_providers_shared.so \
  build/Linux/Release/libonnxruntime_providers_cuda.so \
  build/Linux/Release/libonnxruntime_providers_tensorrt.so "$(dirname "$binding")/"
(cd js/common && npm pack --pack-destination "$out")
(cd js/node && npm pack --pack-destination "$out")
cd /
rm -rf /src/ort /var/lib/apt/lists/*
