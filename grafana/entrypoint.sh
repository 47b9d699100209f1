#!/bin/sh
# Starts Grafana never with a default or weak admin password, and never crash-looping on a fresh
# device:
# - GF_SECURITY_ADMIN_PASSWORD (or GF_SECURITY_ADMIN_PASSWORD__FILE) set as a balena fleet or
#   device variable: used if it is strong (at least 12 characters, not a common password, not one
#   repeated character or a run of digits); a weak one stops the container with one line.
# - Unset: on the first start a strong random password is generated, kept on the Grafana volume
#   (.scopehive-admin-password, mode 600) and printed once in the log with how to change it; later
#   starts use the kept file and print nothing.
# Grafana applies an admin password only when it creates the admin user (its first start); after
# that the password is changed in Grafana itself.
set -eu

data=${GF_PATHS_DATA:-/var/lib/grafana}
kept=$data/.scopehive-admin-password

# Prints why a password is weak, or nothing. The password reaches awk through the environment,
# never the command line (other processes can read command lines) and never a log line.
weakness() {
    SCOPEHIVE_CANDIDATE=$1 awk 'BEGIN {
        p = ENVIRON["SCOPEHIVE_CANDIDATE"]
        n = length(p)
        if (n < 12) { print "shorter than 12 characters"; exit }
        first = substr(p, 1, 1)
        same = 1
        for (i = 2; i <= n; i++) if (substr(p, i, 1) != first) same = 0
        if (same) { print "one repeated character"; exit }
        if (p ~ /^[0-9]+$/) {
            up = 1; down = 1
            for (i = 2; i <= n; i++) {
                d = substr(p, i, 1) - substr(p, i - 1, 1)
                if (d != 1 && d != -9) up = 0
                if (d != -1 && d != 9) down = 0
            }
            if (up || down) { print "a run of digits"; exit }
        }
        # A common password, alone, repeated or padded with digits and symbols (password1234!).
        split("password passw0rd p4ssw0rd admin administrator grafana changeme letmein qwerty " \
              "qwertyuiop qwertz azerty welcome secret root toor default scopehive microscope " \
              "abc123 abcdef iloveyou monkey dragon master login guest test 123456 12345678 " \
              "123456789 1234567890", common, " ")
        lower = tolower(p)
        for (w in common) {
            rest = lower
            if (gsub(common[w], "", rest) > 0 && rest !~ /[a-z]/) { print "a common password"; exit }
        }
    }'
}

password=${GF_SECURITY_ADMIN_PASSWORD:-}
if [ -z "$password" ] && [ -n "${GF_SECURITY_ADMIN_PASSWORD__FILE:-}" ] && [ -r "$GF_SECURITY_ADMIN_PASSWORD__FILE" ]; then
    password=$(cat "$GF_SECURITY_ADMIN_PASSWORD__FILE")
fi

if [ -n "$password" ]; then
    reason=$(weakness "$password")
    if [ -n "$reason" ]; then
        echo "grafana: GF_SECURITY_ADMIN_PASSWORD is too weak ($reason); choose at least 12 characters that are not a common password, or unset it to have a strong one generated" >&2
        exit 1
    fi
elif [ -s "$kept" ]; then
    # Kept from the first start; Grafana reads it from the file, so it is in no environment.
    unset GF_SECURITY_ADMIN_PASSWORD
    export GF_SECURITY_ADMIN_PASSWORD__FILE="$kept"
elif [ -e "$data/grafana.db" ]; then
    # An installation from before passwords were generated: its admin password was set then.
    echo "grafana: no GF_SECURITY_ADMIN_PASSWORD set; the admin password is the one set earlier (reset it with \`grafana cli admin reset-admin-password\` in this container)" >&2
else
    umask 077
    generated=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 24)
    [ "${#generated}" -eq 24 ] || {
        echo "grafana: could not generate an admin password (no /dev/urandom?)" >&2
        exit 1
    }
    # Written whole or not at all: a half-written file would lock the admin out.
    printf '%s\n' "$generated" >"$kept.tmp"
    chmod 600 "$kept.tmp"
    mv "$kept.tmp" "$kept"
    echo "grafana: no GF_SECURITY_ADMIN_PASSWORD set; generated the admin password: $generated" >&2
    echo "grafana: log in as admin with it; it is kept in $kept and not shown again. Change it in Grafana (Profile > Change password), or set GF_SECURITY_ADMIN_PASSWORD before the first start." >&2
    unset GF_SECURITY_ADMIN_PASSWORD
    export GF_SECURITY_ADMIN_PASSWORD__FILE="$kept"
fi

# The scopehive app is provisioned with the exporter's control tokens ($__file{} in
# provisioning/plugins/scopehive-app.yaml), and Grafana stops when a provisioned file is missing.
# - On balena the exporter writes them moments after both start: wait for them rather than crash-loop.
# - Off balena the control API is off and writes none: provision the app without tokens (its pages
#   then say device management needs balena; the latest-image route needs no token).
control=${SCOPEHIVE_CONTROL_DIR:-/control}
app=${GF_PATHS_PROVISIONING:-/etc/grafana/provisioning}/plugins/scopehive-app.yaml
tokens_readable() {
    [ -r "$control/view.token" ] && [ -r "$control/admin.token" ]
}
if [ -f "$app" ] && ! tokens_readable; then
    if [ -n "${BALENA_DEVICE_UUID:-}" ]; then
        echo "grafana: waiting for the exporter's control tokens in $control" >&2
        waited=0
        until tokens_readable; do
            if [ "$waited" -ge 120 ]; then
                echo "grafana: the control tokens in $control are missing or unreadable after 120 s (the exporter writes them; Grafana reads them as group 1000)" >&2
                exit 1
            fi
            sleep 2
            waited=$((waited + 2))
        done
    elif grep -q secureJsonData "$app"; then
        echo "grafana: no control tokens in $control (device management needs balena): the scopehive app is provisioned without them" >&2
        # shellcheck disable=SC2016 # the literal text $__file{ of the token lines
        grep -v -F -e secureJsonData -e '$__file{' "$app" >"$app.tmp"
        mv "$app.tmp" "$app"
    fi
fi

exec /run.sh "$@"
