#!/bin/sh
# The NFSv4 server of the data volume: renders /etc/exports from the environment
# (render-exports.sh), prepares the share's folders for the services' user, and runs the kernel
# NFS server, NFSv4 only (TCP 2049; no rpcbind, no NFSv2/v3, no UDP).
#   SCOPEHIVE_NFS_ROOT     exported folder (default /data)
#   SCOPEHIVE_DATA_UID/GID owner of the share's folders: the services' `node` user (default 1000)
#   SCOPEHIVE_NFS_THREADS  nfsd threads (default 8)
set -eu

root=${SCOPEHIVE_NFS_ROOT:-/data}
uid=${SCOPEHIVE_DATA_UID:-1000}
gid=${SCOPEHIVE_DATA_GID:-1000}
threads=${SCOPEHIVE_NFS_THREADS:-8}

log() {
    printf '%s nfs: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

# Refuses unsafe settings with one line naming the variable, before anything is exported.
exports=$(/usr/local/bin/render-exports.sh) || exit 1

# Microscope PCs write images and models as whatever user they map to; the services (uid 1000)
# read them and move rejected files out of the inbox. Sticky, world-writable folders owned by the
# services' user allow exactly that: anyone may add, only the owner of a file or of the folder
# may remove it.
mkdir -p "$root"
chown "$uid:$gid" "$root"
chmod 0755 "$root"
for dir in inbox models; do
    mkdir -p "$root/$dir"
    chown "$uid:$gid" "$root/$dir"
    chmod 1777 "$root/$dir"
done
for dir in results rejected; do
    mkdir -p "$root/$dir"
    chown "$uid:$gid" "$root/$dir"
    chmod 0755 "$root/$dir"
done

if ! grep -qw nfsd /proc/filesystems; then
    modprobe nfsd || {
        log "this kernel has no NFS server (nfsd): the share cannot be exported"
        exit 1
    }
fi
mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd

printf '%s\n' "$exports" >/etc/exports
exportfs -ra

rpc.mountd --no-udp --no-nfs-version 2 --no-nfs-version 3 --foreground &
mountd=$!

# shellcheck disable=SC2317 # run by the trap below
stop() {
    log "stopping"
    rpc.nfsd 0 || true
    exportfs -ua || true
    kill "$mountd" 2>/dev/null || true
}
trap 'stop; exit 0' TERM INT

rpc.nfsd --no-udp --no-nfs-version 2 --no-nfs-version 3 "$threads"
log "exporting $root over NFSv4 on TCP 2049: $exports"

# The server lives in the kernel; this script stays to keep mountd (which answers the kernel's
# export look-ups) running and to stop the server cleanly.
status=0
wait "$mountd" || status=$?
log "rpc.mountd exited ($status)"
rpc.nfsd 0 || true
exit 1
