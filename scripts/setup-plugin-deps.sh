#!/usr/bin/env bash
# `npm test` runs this after setup-test-deps.sh: the Grafana app plugin is its own npm project (its
# toolchain stays out of the root install), so its locked dependencies are installed on first use and
# again whenever its lock file changes. With them in place it only looks.
set -euo pipefail

plugin="$(cd "$(dirname "$0")/.." && pwd)/grafana/plugins/scopehive-app"
if [ ! -f "$plugin/node_modules/.package-lock.json" ] || [ "$plugin/package-lock.json" -nt "$plugin/node_modules/.package-lock.json" ]; then
  echo "scopehive: installing the Grafana app plugin's dependencies (npm ci in grafana/plugins/scopehive-app)" >&2
  (cd "$plugin" && npm ci --no-audit --no-fund >/dev/null)
fi
