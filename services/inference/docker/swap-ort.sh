#!/usr/bin/env bash
# Replaces the locked onnxruntime-common and onnxruntime-node in node_modules ($2) by the GPU
# build's tarballs in $1, when there are any (Jetson); on x86-64 $1 is empty and nothing changes.
set -euo pipefail
from="$1"
modules="$2"
for pkg in common node; do
  tarball="$(find "$from" -name "onnxruntime-${pkg}-*.tgz" -print -quit)"
  [[ -n "$tarball" ]] || continue
  rm -rf "${modules}/onnxruntime-${pkg}"
  mkdir -p "${modules}/onnxruntime-${pkg}"
  tar -xzf "$tarball" -C "${modules}/onnxruntime-${pkg}" --strip-components 1
  echo "swap-ort.sh: onnxruntime-${pkg} from $(basename "$tarball")"
done
