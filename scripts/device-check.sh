#!/usr/bin/env bash
# The device check, run inside the inference container after `balena push`:
#   balena ssh <device> inference   then   scripts/device-check.sh [--runs 200] [--json]
# Prints, for every model in the models folder, the execution provider that loaded, the time its
# first session took to open (the TensorRT engine build on a first start), images per second over
# the runs (bare ONNX Runtime and the pipeline) and GPU memory; compare with the README's targets.
# Runs anywhere the repository is installed (on a CPU-only machine: the CPU provider).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/device-check/main.ts "$@"
