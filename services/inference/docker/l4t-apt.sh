#!/usr/bin/env bash
# NVIDIA's Jetson apt repositories of the image's L4T release (SCOPEHIVE_L4T, e.g. r36.4) and SoC
# (SCOPEHIVE_SOC, t234 Orin / t194 Xavier): the same packages JetPack installs on a devkit, so the
# CUDA driver library matches the balenaOS kernel of that L4T release. Sourced by the other scripts.
set -euo pipefail

l4t_apt() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends ca-certificates curl gnupg
  curl -fsSL https://repo.download.nvidia.com/jetson/jetson-ota-public.asc \
    | gpg --dearmor -o /usr/share/keyrings/nvidia-jetson.gpg
  local repo
  for repo in common "${SCOPEHIVE_SOC}"; do
    echo "deb [signed-by=/usr/share/keyrings/nvidia-jetson.gpg] https://repo.download.nvidia.com/jetson/${repo} ${SCOPEHIVE_L4T} main"
  done >/etc/apt/sources.list.d/nvidia-l4t.list
  # nvidia-l4t-core's pre-install would otherwise try to update the boot firmware of a devkit.
  mkdir -p /opt/nvidia/l4t-packages
  touch /opt/nvidia/l4t-packages/.nv-l4t-disable-boot-fw-update-in-preinstall
  apt-get update
}
