#!/bin/sh
# Prints the /etc/exports line of the NFSv4 share, built from the environment, or refuses values
# that would open the share wider than the lab network or hand out root:
#   SCOPEHIVE_NFS_ALLOWED  clients: IPv4/IPv6 addresses, networks in CIDR notation or host names,
#                          separated by spaces or commas (default: the private IPv4 ranges)
#   SCOPEHIVE_NFS_OPTIONS  export options (default rw,sync,no_subtree_check,root_squash)
#   SCOPEHIVE_NFS_ROOT     folder exported as the NFSv4 root: the data volume (default /data) or a
#                          folder inside it
# Usage: render-exports.sh [data-volume]   (the volume's mount point, default /data; an argument,
# not a variable, so that no setting can move the export out of the volume)
# Refused: a root outside the data volume, with `.`/`..` parts or through a symbolic link;
# wildcards (`*`, `?`, `[`), netgroups; private IPv4 networks (10/8, 172.16/12, 192.168/16) wider
# than their range, any other IPv4 network wider than a /24; IPv6 unique-local or link-local
# networks wider than a /16, any other IPv6 network wider than a /64; `insecure` (lets any user on
# a client mount from an unprivileged port), `no_root_squash`, `anonuid=0`/`anongid=0`, and `fsid=`
# (the export is always fsid=0, NFSv4's root). Root is squashed: `root_squash` is added when neither
# it nor `all_squash` is given.
# Exit status 2 with one line on stderr naming the variable when a value is refused.
# -f: client lists are split on whitespace; a `*` in them must never become a file name.
set -euf

default_allowed='10.0.0.0/8 172.16.0.0/12 192.168.0.0/16'
default_options='rw,sync,no_subtree_check,root_squash'
volume=${1:-/data}

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

# The widest prefix allowed for an IPv4 network at this address: its private range's (RFC 1918),
# else /24 (university labs do use public addresses, but never a whole provider's block).
ipv4_widest_prefix() {
    first=${1%%.*}
    rest=${1#*.}
    second=${rest%%.*}
    if [ "$first" -eq 10 ]; then
        echo 8
    elif [ "$first" -eq 172 ] && [ "$second" -ge 16 ] && [ "$second" -le 31 ]; then
        echo 12
    elif [ "$first" -eq 192 ] && [ "$second" -eq 168 ]; then
        echo 16
    else
        echo 24
    fi
}

# Unique-local (fc00::/7) or link-local (fe80::/10): the IPv6 counterparts of private networks.
ipv6_local() {
    case $1 in
        [Ff][CcDd][0-9A-Fa-f][0-9A-Fa-f]:* | [Ff][Ee][89AaBb][0-9A-Fa-f]:*) return 0 ;;
    esac
    return 1
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
                if ipv6_local "$address"; then
                    [ "$prefix" -ge 16 ] || refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is wider than a /16; name the lab's networks"
                else
                    [ "$prefix" -ge 64 ] || refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is a public network wider than a /64; name the lab's subnet or single hosts"
                fi
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
                widest=$(ipv4_widest_prefix "$address")
                if [ "$prefix" -lt "$widest" ]; then
                    if [ "$widest" -eq 24 ]; then
                        refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is a public network wider than a /24; name the lab's /24 (or narrower) or single hosts"
                    fi
                    refuse "SCOPEHIVE_NFS_ALLOWED: '$client' is wider than the private range it is in (/$widest); name the lab's networks"
                fi
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
            insecure) refuse "SCOPEHIVE_NFS_OPTIONS: insecure would let any user on a client mount the share from an unprivileged port" ;;
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

# The exported folder must be the data volume or a folder inside it, named plainly: no `.` or `..`
# parts, and no symbolic link on the way (a link in the volume could point anywhere in the container).
check_root() {
    root=$1
    case $root in
        /*) ;;
        *) refuse "SCOPEHIVE_NFS_ROOT: '$root' is not an absolute path" ;;
    esac
    case $root in
        *[!A-Za-z0-9/_.-]*) refuse "SCOPEHIVE_NFS_ROOT: '$root' has characters /etc/exports would misread" ;;
    esac
    case $root in
        "$volume" | "$volume"/*) ;;
        *) refuse "SCOPEHIVE_NFS_ROOT: '$root' is outside the data volume; export $volume or a folder inside it" ;;
    esac
    case $root/ in
        */./* | */../* | *//*) refuse "SCOPEHIVE_NFS_ROOT: '$root' has empty, '.' or '..' parts; name the folder plainly" ;;
    esac
    path=$volume
    rest=${root#"$volume"}
    while :; do
        [ ! -L "$path" ] || refuse "SCOPEHIVE_NFS_ROOT: '$path' is a symbolic link; export a real folder of the data volume"
        rest=${rest#/}
        [ -n "$rest" ] || break
        path=$path/${rest%%/*}
        case $rest in
            */*) rest=${rest#*/} ;;
            *) rest= ;;
        esac
    done
}

# Root stays squashed even when the options leave it out.
with_root_squash() {
    case ,$1, in
        *,root_squash,* | *,all_squash,*) printf '%s' "$1" ;;
        *) printf '%s,root_squash' "$1" ;;
    esac
}

render_exports() {
    root=${SCOPEHIVE_NFS_ROOT:-$volume}
    [ "$root" = / ] || root=${root%/}
    allowed=${SCOPEHIVE_NFS_ALLOWED:-$default_allowed}
    options=${SCOPEHIVE_NFS_OPTIONS:-$default_options}
    check_root "$root"
    check_options "$options"
    options=$(with_root_squash "$options")
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
