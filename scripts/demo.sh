#!/usr/bin/env bash
# The quick start's first command: bash scripts/demo.sh
#
# Sets up traycreds (Debian packages if missing, .venv with the demo extra) and runs
# `traycreds demo`: a local STS/IAM on loopback, a demo key in the keyring, demo roles.
# Your own ~/.aws files are neither read nor changed. Where no Secret Service keyring is
# reachable (a headless machine, a plain SSH login), the demo runs inside a private D-Bus
# session with its own unlocked gnome-keyring, which disappears when the demo ends.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
[ -t 0 ] || exec </dev/null

die() { echo "demo.sh: $*" >&2; exit 1; }
# shellcheck source=scripts/setup-lib.sh
source scripts/setup-lib.sh

step "system packages"
install_system_packages
step_done

step "virtualenv ($venv)"
with_venv_lock install_venv demo,linux
step_done

secret_service_reachable() {
    [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || return 1
    local method
    for method in ListNames ListActivatableNames; do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            "org.freedesktop.DBus.$method" 2>/dev/null | grep -q '"org.freedesktop.secrets"' \
            && return 0
    done
    return 1
}

if secret_service_reachable; then
    exec "$venv/bin/traycreds" demo "$@"
fi

echo "demo.sh: no Secret Service keyring on this session; starting a private one" >&2
exec dbus-run-session -- bash -c '
    set -euo pipefail
    export NO_AT_BRIDGE=1
    private=$(mktemp -d)
    trap "kill \$keyring_pid 2>/dev/null || true; rm -rf \"\$private\"" EXIT
    mkdir -m 700 "$private/run"
    # A throwaway keyring: its own data folder, unlocked with a random password.
    export XDG_DATA_HOME=$private/data XDG_RUNTIME_DIR=$private/run
    head -c 24 /dev/urandom | base64 | tr -d "\n" |
        gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
    keyring_pid=$!
    for _ in $(seq 100); do
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.ListNames 2>/dev/null | grep -q "\"org.freedesktop.secrets\"" \
            && break
        sleep 0.1
    done
    "$0" demo "$@"
' "$venv/bin/traycreds" "$@"
