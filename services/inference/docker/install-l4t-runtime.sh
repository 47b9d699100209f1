#!/usr/bin/env bash
# The final image's GPU runtime on Jetson: the L4T CUDA driver library, CUDA, cuDNN and TensorRT
# runtime libraries of the stack (SCOPEHIVE_RUNTIME_PACKAGES, no compilers), tegrastats
# (nvidia-l4t-tools) for scripts/device-check.sh, and the `node` user (uid 1000, as in the official
# Node image) in `video`, the group of the GPU device nodes. Nothing to do on x86-64.
set -euo pipefail
[[ -n "${SCOPEHIVE_L4T:-}" ]] || exit 0
# shellcheck disable=SC1091 # l4t-apt.sh, beside this script in the image
source "$(dirname "$0")/l4t-apt.sh"
l4t_apt
# shellcheck disable=SC2086 # the package list is a word list on purpose
apt-get install -y --no-install-recommends ${SCOPEHIVE_RUNTIME_PACKAGES}
apt-get purge -y curl gnupg
apt-get autoremove -y
rm -rf /var/lib/apt/lists/*
useradd --uid 1000 --user-group --groups video --create-home --shell /usr/sbin/nologin node
