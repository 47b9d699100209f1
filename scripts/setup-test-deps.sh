#!/usr/bin/env bash
# `npm test` runs this first (the "pretest" script): the tests start real programs, and a fresh Debian
# machine lacks them. Whatever is missing is installed from Debian when this runs as root; otherwise it
# prints the one command to run and fails. With everything present it only looks, so it costs nothing.
set -euo pipefail

# The programs the tests run, as program:debian-package. A new tool is one more word on this line.
tools="nats-server:nats-server prometheus:prometheus promtool:prometheus shellcheck:shellcheck imagej:imagej xvfb-run:xvfb xauth:xauth chromium:chromium"

# Debian puts some servers in /usr/sbin, which is not on an ordinary user's PATH; the tests look there too.
found() {
  PATH="$PATH:/usr/sbin:/usr/local/sbin:/usr/local/bin:/usr/bin:/sbin:/bin" command -v "$1" >/dev/null 2>&1
}

missing_packages() {
  local pair packages=""
  for pair in $tools; do
    if ! found "${pair%%:*}"; then
      case " $packages " in
        *" ${pair#*:} "*) ;;
        *) packages="$packages ${pair#*:}" ;;
      esac
    fi
  done
  echo "${packages# }"
}

packages=$(missing_packages)
[ -z "$packages" ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "scopehive: the tests need Debian packages that are not installed; run: sudo apt-get install -y --no-install-recommends $packages" >&2
  exit 1
fi

echo "scopehive: installing what the tests need from Debian: $packages" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086 # one word per package
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "scopehive: apt-get could not install $packages (its output is above)" >&2
  exit 1
fi

still=$(missing_packages)
if [ -n "$still" ]; then
  echo "scopehive: installed, yet still not found on PATH: $still" >&2
  exit 1
fi
