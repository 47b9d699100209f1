#!/bin/sh
# This device's nats-server: renders its configuration from the environment (render-config.sh:
# a hive of one, or a member of the hive's cluster), keeps it readable by root only since it holds
# the hive secret, logs one line saying which, and hands over to nats-server.
#   SCOPEHIVE_NATS_CONFIG  where the rendered file goes (default /etc/nats/scopehive.conf)
set -eu

config=${SCOPEHIVE_NATS_CONFIG:-/etc/nats/scopehive.conf}

# Refuses unsafe settings with one line naming the variable, before anything listens.
rendered=$("$(dirname "$0")/render-config.sh") || exit 1

umask 077
mkdir -p "$(dirname "$config")"
printf '%s\n' "$rendered" >"$config"
# The first line sums the configuration up without any secret.
printf '%s nats: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(sed -n '1s/^# //p' "$config")"
exec nats-server -c "$config"
