#!/bin/sh
# Prints the nats-server configuration of this device, built from the environment, or refuses
# values that would open the hive to strangers or break the configuration file:
#   SCOPEHIVE_HIVE_SEEDS      other devices of the hive: host, host:port, [IPv6] or [IPv6]:port
#                             (port 6222 by default), separated by spaces or commas. Empty: a hive
#                             of one, no cluster at all. One list for the whole fleet is fine: a
#                             server recognises its own address and skips it.
#   SCOPEHIVE_HIVE_SECRET     the routes' password, the same on every device (required with seeds;
#                             at least 24 characters of A-Z a-z 0-9 + / = . _ ~ -, e.g. from
#                             `openssl rand -base64 32`)
#   SCOPEHIVE_HIVE_ADVERTISE  host[:port] the other devices reach this one at (required with seeds:
#                             inside a container nats-server would announce an address only the
#                             device itself can reach, and the routes it gossips would fail)
#   SCOPEHIVE_HIVE_NAME       cluster name (default scopehive)
#   SCOPEHIVE_HIVE_TLS_CERT, SCOPEHIVE_HIVE_TLS_KEY, SCOPEHIVE_HIVE_TLS_CA
#                             TLS for the routes, mutually verified: all three files or none
#   SCOPEHIVE_HIVE_JETSTREAM  true (default) or false: a node that routes messages but stores
#                             nothing, as NATS recommends for all but three or five nodes of a large hive
#   SCOPEHIVE_NODE_NAME       server name, unique in the hive (default BALENA_DEVICE_UUID; required
#                             with seeds, since JetStream clustering tracks its peers by name)
# Test and advanced settings (the compose file publishes and exposes the defaults):
#   SCOPEHIVE_NATS_HOST (0.0.0.0), SCOPEHIVE_NATS_PORT (4222, clients: app network only),
#   SCOPEHIVE_HIVE_PORT (6222, routes), SCOPEHIVE_NATS_MONITOR_PORT (8222),
#   SCOPEHIVE_NATS_STORE (/data/jetstream, the JetStream file store)
# The first line is a comment summing up the configuration without any secret, for the log.
# Exit status 2 with one line on stderr naming the variable when a value is refused; the line never
# repeats the secret.
# -f: seed lists are split on whitespace; a `*` in them must never become a file name.
set -euf

default_route_port=6222

# One line, whatever the refused value holds.
refuse() {
    printf 'render-config: %s\n' "$(printf '%s' "$1" | tr '\n\r' '  ')" >&2
    exit 2
}

check_port() {
    case $2 in
        '' | *[!0-9]*) refuse "$1: '$2' is not a port number" ;;
    esac
    if [ "${#2}" -gt 5 ] || [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
        refuse "$1: '$2' is not a port number (1-65535)"
    fi
}

# A host name or an IPv4 address; an IPv6 address in brackets.
check_host() {
    case $2 in
        \[*\])
            inner=${2#\[}
            inner=${inner%\]}
            case $inner in
                *:*:*) ;;
                *) refuse "$1: '$2' is not an IPv6 address" ;;
            esac
            case $inner in
                *[!0-9A-Fa-f:.]*) refuse "$1: '$2' is not an IPv6 address" ;;
            esac
            ;;
        '' | -* | .* | *[!A-Za-z0-9.-]*) refuse "$1: '$2' is not a host name or an address" ;;
    esac
    [ "${#2}" -le 253 ] || refuse "$1: host name longer than 253 characters"
}

# host, host:port, [v6] or [v6]:port → "host:port", with the route port by default.
host_port() {
    name=$1
    value=$2
    case $value in
        *://*) refuse "$name: '$value': give host or host:port, without a scheme" ;;
        *@*) refuse "$name: '$value': give host or host:port; the hive's credentials come from SCOPEHIVE_HIVE_SECRET" ;;
        \[*\]) host=$value port=$default_route_port ;;
        \[*\]:*) host=${value%:*} port=${value##*:} ;;
        *:*:*) refuse "$name: '$value': write an IPv6 address in brackets, e.g. [fd00::1]:6222" ;;
        *:*) host=${value%:*} port=${value#*:} ;;
        *) host=$value port=$default_route_port ;;
    esac
    check_host "$name" "$host"
    check_port "$name" "$port"
    printf '%s:%s' "$host" "$port"
}

# A name that lands in the configuration file: letters, digits, `.`, `_` and `-` only.
check_name() {
    case $2 in
        '') refuse "$1: empty" ;;
        -* | *[!A-Za-z0-9._-]*) refuse "$1: '$2' may only hold letters, digits, '.', '_' and '-'" ;;
    esac
    [ "${#2}" -le 64 ] || refuse "$1: longer than 64 characters"
}

# Never named in a refusal: the variable and the reason only.
check_secret() {
    secret=$1
    [ -n "$secret" ] || refuse "SCOPEHIVE_HIVE_SECRET is not set: a hive's routes must authenticate; generate one with \`openssl rand -base64 32\` and set the same on every device of the hive"
    case $secret in
        *[!A-Za-z0-9+/=._~-]*) refuse "SCOPEHIVE_HIVE_SECRET has characters other than A-Z a-z 0-9 + / = . _ ~ -; generate one with \`openssl rand -base64 32\`" ;;
    esac
    [ "${#secret}" -ge 24 ] || refuse "SCOPEHIVE_HIVE_SECRET is too weak (shorter than 24 characters); generate one with \`openssl rand -base64 32\`"
    first=$(printf '%.1s' "$secret")
    case $secret in
        *[!"$first"]*) ;;
        *) refuse "SCOPEHIVE_HIVE_SECRET is too weak (one repeated character); generate one with \`openssl rand -base64 32\`" ;;
    esac
}

check_file() {
    case $2 in
        /*) ;;
        *) refuse "$1: '$2' is not an absolute path" ;;
    esac
    case $2 in
        *[!A-Za-z0-9/_.-]*) refuse "$1: '$2' has characters a file path here never uses" ;;
    esac
    if [ ! -f "$2" ] || [ ! -r "$2" ]; then
        refuse "$1: '$2' is not a readable file"
    fi
}

# The secret in a route URL: `/` is the one character of its set that a URL's user part cannot hold.
url_secret() {
    printf '%s' "$1" | sed 's|/|%2F|g'
}

host=${SCOPEHIVE_NATS_HOST:-0.0.0.0}
client_port=${SCOPEHIVE_NATS_PORT:-4222}
route_port=${SCOPEHIVE_HIVE_PORT:-$default_route_port}
monitor_port=${SCOPEHIVE_NATS_MONITOR_PORT:-8222}
store=${SCOPEHIVE_NATS_STORE:-/data/jetstream}
jetstream=${SCOPEHIVE_HIVE_JETSTREAM:-true}
cluster_name=${SCOPEHIVE_HIVE_NAME:-scopehive}
node_name=${SCOPEHIVE_NODE_NAME:-${BALENA_DEVICE_UUID:-}}
seeds=$(printf '%s' "${SCOPEHIVE_HIVE_SEEDS:-}" | tr ',\t\n\r' '    ')

check_host SCOPEHIVE_NATS_HOST "$host"
case $host in
    \[*) refuse "SCOPEHIVE_NATS_HOST: '$host': listen on an IPv4 address or a host name" ;;
esac
check_port SCOPEHIVE_NATS_PORT "$client_port"
check_port SCOPEHIVE_HIVE_PORT "$route_port"
check_port SCOPEHIVE_NATS_MONITOR_PORT "$monitor_port"
case $store in
    /*) ;;
    *) refuse "SCOPEHIVE_NATS_STORE: '$store' is not an absolute path" ;;
esac
case $store in
    *[!A-Za-z0-9/_.-]*) refuse "SCOPEHIVE_NATS_STORE: '$store' has characters a file path here never uses" ;;
esac
case $jetstream in
    true | false) ;;
    *) refuse "SCOPEHIVE_HIVE_JETSTREAM: '$jetstream' is neither true nor false" ;;
esac
[ -z "$node_name" ] || check_name "SCOPEHIVE_NODE_NAME (or BALENA_DEVICE_UUID)" "$node_name"

routes=
route_count=0
for seed in $seeds; do
    routes="$routes $(host_port SCOPEHIVE_HIVE_SEEDS "$seed")"
    route_count=$((route_count + 1))
done

if [ "$route_count" -gt 0 ]; then
    check_name SCOPEHIVE_HIVE_NAME "$cluster_name"
    [ -n "$node_name" ] || refuse "SCOPEHIVE_NODE_NAME is not set (nor BALENA_DEVICE_UUID): a hive's servers need a stable name, unique in the hive"
    [ -n "${SCOPEHIVE_HIVE_ADVERTISE:-}" ] || refuse "SCOPEHIVE_HIVE_ADVERTISE is not set: name the address the other devices reach this one at (its LAN address, host or host:port)"
    advertise=$(host_port SCOPEHIVE_HIVE_ADVERTISE "$SCOPEHIVE_HIVE_ADVERTISE")
    secret=${SCOPEHIVE_HIVE_SECRET:-}
    check_secret "$secret"
    tls_cert=${SCOPEHIVE_HIVE_TLS_CERT:-}
    tls_key=${SCOPEHIVE_HIVE_TLS_KEY:-}
    tls_ca=${SCOPEHIVE_HIVE_TLS_CA:-}
    if [ -n "$tls_cert$tls_key$tls_ca" ]; then
        for pair in "SCOPEHIVE_HIVE_TLS_CERT:$tls_cert" "SCOPEHIVE_HIVE_TLS_KEY:$tls_key" "SCOPEHIVE_HIVE_TLS_CA:$tls_ca"; do
            [ -n "${pair#*:}" ] || refuse "${pair%%:*} is not set: TLS for the hive takes SCOPEHIVE_HIVE_TLS_CERT, SCOPEHIVE_HIVE_TLS_KEY and SCOPEHIVE_HIVE_TLS_CA together"
            check_file "${pair%%:*}" "${pair#*:}"
        done
        tls=on
    else
        tls=off
    fi
    printf '# hive %s as %s: %s seed route(s), advertised as %s, TLS %s, JetStream %s\n' \
        "$cluster_name" "$node_name" "$route_count" "$advertise" "$tls" "$jetstream"
else
    printf '# a hive of one (SCOPEHIVE_HIVE_SEEDS is empty): no cluster, JetStream %s\n' "$jetstream"
fi

[ -z "$node_name" ] || printf 'server_name: "%s"\n' "$node_name"
printf 'host: "%s"\nport: %s\n' "$host" "$client_port"
# A result travels back to its origin with its annotated image in one message (shared/src/hive/results.ts):
# NATS's default of 1 MB would leave larger images out.
printf 'max_payload: 8MB\n'
printf 'http: "%s:%s"\n' "$host" "$monitor_port"
if [ "$jetstream" = true ]; then
    printf 'jetstream {\n  store_dir: "%s"\n}\n' "$store"
fi
[ "$route_count" -gt 0 ] || exit 0

encoded=$(url_secret "$secret")
cat <<EOF
cluster {
  name: "$cluster_name"
  host: "$host"
  port: $route_port
  advertise: "$advertise"
  # Clients stay on this device's app network: never tell them the other devices' addresses.
  no_advertise: true
  authorization {
    user: "hive"
    password: "$secret"
    timeout: 2
  }
  routes: [
EOF
for route in $routes; do
    printf '    "nats-route://hive:%s@%s"\n' "$encoded" "$route"
done
printf '  ]\n'
if [ "$tls" = on ]; then
    cat <<EOF
  tls {
    cert_file: "$tls_cert"
    key_file: "$tls_key"
    ca_file: "$tls_ca"
    verify: true
    timeout: 2
  }
EOF
fi
printf '}\n'
