#!/bin/sh
# Docker health check of the nats container. A JetStream node is healthy when JetStream is enabled;
# a node without storage (SCOPEHIVE_HIVE_JETSTREAM=false) when the server answers. Neither waits
# for the hive's other servers: a device must not be restarted because its peers are away.
set -eu

port=${SCOPEHIVE_NATS_MONITOR_PORT:-8222}
if [ "${SCOPEHIVE_HIVE_JETSTREAM:-true}" = false ]; then
    query=
else
    query='?js-enabled-only=true'
fi
exec wget -q -O /dev/null "http://127.0.0.1:$port/healthz$query"
