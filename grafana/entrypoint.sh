#!/bin/sh
# Starts Grafana only with an admin password from the environment: no admin/admin on a lab
# network. Set GF_SECURITY_ADMIN_PASSWORD (or GF_SECURITY_ADMIN_PASSWORD__FILE) as a balena fleet
# or device variable.
set -eu

password=${GF_SECURITY_ADMIN_PASSWORD:-}
if [ -z "$password" ] && [ -n "${GF_SECURITY_ADMIN_PASSWORD__FILE:-}" ] && [ -r "$GF_SECURITY_ADMIN_PASSWORD__FILE" ]; then
    password=$(cat "$GF_SECURITY_ADMIN_PASSWORD__FILE")
fi
if [ -z "$password" ]; then
    echo "grafana: GF_SECURITY_ADMIN_PASSWORD is not set; set it as a fleet or device variable (Grafana will not start with a default password)" >&2
    exit 1
fi
if [ "$password" = admin ] || [ "${#password}" -lt 8 ]; then
    echo "grafana: GF_SECURITY_ADMIN_PASSWORD is too weak (\"admin\" or shorter than 8 characters); choose another" >&2
    exit 1
fi

exec /run.sh "$@"
