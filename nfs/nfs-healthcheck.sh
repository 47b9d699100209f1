#!/bin/sh
# Healthy while the kernel NFS server has threads and rpc.mountd answers its export look-ups.
set -eu
threads=$(cat /proc/fs/nfsd/threads 2>/dev/null || echo 0)
[ "$threads" -gt 0 ] || {
    echo "nfsd has no threads"
    exit 1
}
pidof rpc.mountd >/dev/null || {
    echo "rpc.mountd is not running"
    exit 1
}
