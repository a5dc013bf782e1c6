#!/usr/bin/env bash
# The quick start's first command: bash scripts/demo.sh
#
# Sets up traycreds (Debian packages if missing, .venv with the demo extra) and runs
# `traycreds demo`: a local STS/IAM on loopback, a demo key in the keyring, demo roles.
# Your own ~/.aws files are neither read nor changed. Where no Secret Service keyring is
# reachable (a headless machine, a plain SSH login), or the desktop's keyring has no default
# collection (gnome-keyring would open a "choose password" window and the demo would wait on
# it), the demo runs inside a private D-Bus session with its own unlocked gnome-keyring, which
# disappears when the demo ends. Its last lines say how to run traycreds afterwards.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
[ -t 0 ] || exec </dev/null

die() { echo "demo.sh: $*" >&2; exit 1; }
# shellcheck source=scripts/setup-lib.sh
source scripts/setup-lib.sh

step "system packages (any missing are installed with apt-get)"
install_system_packages
step_done

step "virtualenv ($venv): traycreds and its Python packages"
with_venv_lock install_venv demo,linux
step_done

how_to_run_it() {
    cat >&2 <<EOF

demo.sh: traycreds is installed in $venv (not on your PATH). To run it yourself:
    $venv/bin/traycreds            the tray
    $venv/bin/traycreds --help     the command line
or, to type just 'traycreds' in this shell: source $venv/bin/activate
EOF
}
# Also after Ctrl+C or a failure: the way back in matters most then.
trap how_to_run_it EXIT

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

# secret_service_alias: the object path of the keyring's default collection ("/" when there
# is none); activates the keyring if it is only activatable. Fails on no answer in 10 s.
secret_service_alias() {
    timeout 10 dbus-send --session --print-reply --reply-timeout=9000 \
        --dest=org.freedesktop.secrets /org/freedesktop/secrets \
        org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null |
        sed -n 's/^ *object path "\(.*\)"$/\1/p'
}

# The reason the session's keyring cannot take the demo key without a silent wait, if any.
keyring_problem() {
    secret_service_reachable || { echo "no Secret Service keyring on this session"; return; }
    local alias
    alias=$(secret_service_alias) || alias=""
    case $alias in
        "") echo "the session's keyring (org.freedesktop.secrets) did not answer in 10 s" ;;
        /) echo "the session's keyring has no default collection: storing a key would open" \
                "a 'choose password' window for a new one (to set one up for your own keys" \
                "later: Passwords and Keys (seahorse), File > New > Password Keyring, then" \
                "'Set as default')" ;;
    esac
}

problem=$(keyring_problem)
if [ -z "$problem" ]; then
    echo "demo.sh: the demo key goes into your desktop keyring; if it is locked, a keyring" \
        "window asks for its password (usually your login password)" >&2
    "$venv/bin/traycreds" demo "$@"
    exit
fi

echo "demo.sh: $problem; using a private keyring for the demo instead" >&2
dbus-run-session -- bash -c '
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
    # On a display, a notification daemon on this private bus, so notifications still show.
    if [ -n "${DISPLAY:-}" ] && command -v dunst >/dev/null; then
        dunst >/dev/null 2>&1 &
        trap "kill \$keyring_pid $! 2>/dev/null || true; rm -rf \"\$private\"" EXIT
    fi
    "$0" demo "$@"
' "$venv/bin/traycreds" "$@"
