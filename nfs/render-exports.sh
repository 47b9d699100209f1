#!/bin/sh
# Prints the /etc/exports line of the NFSv4 share, built from the environment, or refuses values
# that would open the share wider than the lab network or hand out root:
#   SCOPEHIVE_NFS_ALLOWED  clients: IPv4/IPv6 addresses, networks in CIDR notation or host names,
#                          separated by spaces or commas (default: the private IPv4 ranges)
#   SCOPEHIVE_NFS_OPTIONS  export options (default rw,sync,no_subtree_check,root_squash)
#   SCOPEHIVE_NFS_ROOT     folder exported as the NFSv4 root (default /data)
# Refused: wildcards (`*`, `?`, `[`), netgroups, networks wider than /8 (IPv4) or /16 (IPv6),
# `no_root_squash`, `anonuid=0`/`anongid=0`, and `fsid=` (the export is always fsid=0, NFSv4's root).
# Exit status 2 with one line on stderr naming the variable when a value is refused.
# -f: client lists are split on whitespace; a `*` in them must never become a file name.
set -euf

default_allowed='10.0.0.0/8 172.16.0.0/12 192.168.0.0/16'
default_options='rw,sync,no_subtree_check,root_squash'

refuse() {
    printf 'render-exports: %s\n' "$1" >&2
    exit 2
}

is_uint() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
    esac
    [ "${#1}" -le 3 ]
}

check_ipv4() {
    old_ifs=$IFS
    IFS=.
    # shellcheck disable=SC2086 # split on dots on purpose
    set -- $1
    IFS=$old_ifs
    [ "$#" -eq 4 ] || return 1
    for octet in "$@"; do
        is_uint "$octet" && [ "$octet" -le 255 ] || return 1
    done
}

check_client() {
    client=$1
    case $client in
        *'*'* | *'?'* | *'['* | *']'*)
            refuse "SCOPEHIVE_NFS_ALLOWED: wildcard client '$client' would let any matching host mount the share; name networks instead, e.g. 192.168.1.0/24" ;;
        @*) refuse "SCOPEHIVE_NFS_ALLOWED: netgroup '$client' is not supported; name networks instead" ;;
    esac
    address=${client%/*}
    prefix=
    [ "$address" = "$client" ] || prefix=${client#*/}
    case $address in
        *:*)
            case $address in
                *[!0-9A-Fa-f:]*) refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is not an IPv6 address" ;;
            esac
            if [ -n "$prefix" ]; then
                { is_uint "$prefix" && [ "$prefix" -le 128 ]; } || refuse "SCOPEHIVE_NFS_ALLOWED: bad prefix in '$client'"
                [ "$prefix" -ge 16 ] || refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is wider than a /16; name the lab's networks"
            fi
            ;;
        *[!0-9.]*)
            [ -z "$prefix" ] || refuse "SCOPEHIVE_NFS_ALLOWED: '$client': a host name takes no prefix"
            case $address in
                -* | *[!A-Za-z0-9.-]*) refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is not an address, a network or a host name" ;;
            esac
            ;;
        *)
            check_ipv4 "$address" || refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is not an IPv4 address"
            if [ -n "$prefix" ]; then
                { is_uint "$prefix" && [ "$prefix" -le 32 ]; } || refuse "SCOPEHIVE_NFS_ALLOWED: bad prefix in '$client'"
                [ "$prefix" -ge 8 ] || refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is wider than a /8; name the lab's networks"
            fi
            ;;
    esac
}

check_options() {
    options=$1
    case $options in
        '' | ,* | *, | *,,*) refuse "SCOPEHIVE_NFS_OPTIONS: '$options' has an empty option" ;;
        *[!a-z0-9_=,:.-]*) refuse "SCOPEHIVE_NFS_OPTIONS: '$options' has characters export options never use" ;;
    esac
    old_ifs=$IFS
    IFS=,
    # shellcheck disable=SC2086 # split on commas on purpose
    set -- $options
    IFS=$old_ifs
    for option in "$@"; do
        case $option in
            no_root_squash) refuse "SCOPEHIVE_NFS_OPTIONS: no_root_squash would give every client root on the share" ;;
            anonuid=* | anongid=*)
                id=${option#*=}
                case $id in
                    '' | *[!0-9]*) refuse "SCOPEHIVE_NFS_OPTIONS: bad number in '$option'" ;;
                    *[!0]*) ;;
                    *) refuse "SCOPEHIVE_NFS_OPTIONS: $option maps anonymous clients to root" ;;
                esac
                ;;
            fsid=*) refuse "SCOPEHIVE_NFS_OPTIONS: fsid is set by the container (fsid=0, the NFSv4 root)" ;;
        esac
    done
}

render_exports() {
    root=${SCOPEHIVE_NFS_ROOT:-/data}
    allowed=${SCOPEHIVE_NFS_ALLOWED:-$default_allowed}
    options=${SCOPEHIVE_NFS_OPTIONS:-$default_options}
    case $root in
        /*) ;;
        *) refuse "SCOPEHIVE_NFS_ROOT: '$root' is not an absolute path" ;;
    esac
    case $root in
        *[!A-Za-z0-9/_.-]*) refuse "SCOPEHIVE_NFS_ROOT: '$root' has characters /etc/exports would misread" ;;
    esac
    check_options "$options"
    clients=$(printf '%s' "$allowed" | tr ',\t\n' '   ')
    line=$root
    count=0
    for client in $clients; do
        check_client "$client"
        line="$line $client($options,fsid=0)"
        count=$((count + 1))
    done
    [ "$count" -gt 0 ] || refuse "SCOPEHIVE_NFS_ALLOWED: no client named"
    printf '%s\n' "$line"
}

render_exports
