#!/usr/bin/env bash
# Run a command inside a private desktop session, for tests of the tray, keyring and
# notifications. The X display and the D-Bus session bus come from the caller:
#
#   xvfb-run -a -s "-screen 0 1024x768x24 -nolisten tcp" dbus-run-session -- \
#       scripts/desktop-session.sh COMMAND [ARGS...]
#
# This script adds, on fresh temporary HOME/TMPDIR/XDG dirs:
#   gnome-keyring (Secret Service, login collection unlocked), dunst (notification daemon),
#   dbus-monitor (logs every Notify call to $TRAYCREDS_TEST_NOTIFY_LOG), trayer (tray host),
# waits until they are up, runs COMMAND, stops them, and exits with COMMAND's status.
#
# Exports: TRAYCREDS_DESKTOP_SESSION=1, TRAYCREDS_ARTIFACTS (default <repo>/artifacts; the
# services' logs go to its session/ folder), TRAYCREDS_TEST_NOTIFY_LOG.
# Knob: TRAYCREDS_SESSION_TIMEOUT (seconds to wait for the services, default 10).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ready_timeout=${TRAYCREDS_SESSION_TIMEOUT:-10}

say() { echo "desktop-session: $*" >&2; }
die() { say "$*"; exit 2; }

[ $# -gt 0 ] || die "usage: $0 COMMAND [ARGS...]"
[ -n "${DISPLAY:-}" ] || die "DISPLAY is not set: run me under xvfb-run"
[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || die "no session bus: run me under dbus-run-session"
for tool in gnome-keyring-daemon dunst dbus-monitor dbus-send trayer python3; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/test.sh installs it)"
done

# --- artifacts and logs (outside the temporary dirs, so CI can keep them) -------------------
export TRAYCREDS_ARTIFACTS=${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}
mkdir -p "$TRAYCREDS_ARTIFACTS/session"
TRAYCREDS_ARTIFACTS=$(cd "$TRAYCREDS_ARTIFACTS" && pwd)
logs=$TRAYCREDS_ARTIFACTS/session
# Two sessions of one checkout at once (two test runs, a bench beside a run) would overwrite
# each other's notification log and lose notifications the tests wait for: the second one
# takes a folder of its own. The lock lasts as long as this script and what it runs.
exec 8>"$logs/.in-use"
if ! flock -n 8; then
    logs=$TRAYCREDS_ARTIFACTS/session-$$
    mkdir -p "$logs"
    echo "desktop-session: another session uses $TRAYCREDS_ARTIFACTS/session; logs in $logs" >&2
fi
export TRAYCREDS_TEST_NOTIFY_LOG=${TRAYCREDS_TEST_NOTIFY_LOG:-$logs/notifications.log}
: >"$TRAYCREDS_TEST_NOTIFY_LOG"
export TRAYCREDS_DESKTOP_SESSION=1

# --- fresh per-session dirs -----------------------------------------------------------------
# Without them GTK starts stray accessibility daemons and gnome-keyring reuses an old
# keyring file whose password differs (KeyringLocked). HOME moves too, so no test can touch
# the real ~/.aws; pyenv shims still need the real root.
if [ -z "${PYENV_ROOT:-}" ] && [ -d "${HOME:-/nonexistent}/.pyenv" ]; then
    export PYENV_ROOT=$HOME/.pyenv
fi
session_dir=$(mktemp -d "${TMPDIR:-/tmp}/traycreds-session.XXXXXX")
export NO_AT_BRIDGE=1
export TMPDIR=$session_dir/tmp
export XDG_RUNTIME_DIR=$session_dir/runtime
export XDG_DATA_HOME=$session_dir/data
export XDG_CONFIG_HOME=$session_dir/config
export XDG_CACHE_HOME=$session_dir/cache
export XDG_STATE_HOME=$session_dir/state
export HOME=$session_dir/home
mkdir -p "$TMPDIR" "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" \
    "$XDG_STATE_HOME" "$HOME"
chmod 700 "$session_dir" "$XDG_RUNTIME_DIR"
unset PYTHON_KEYRING_BACKEND WAYLAND_DISPLAY

# --- background services, stopped on exit ---------------------------------------------------
pids=()
declare -A service_of=()  # pid -> name; each service logs to $logs/<name>.log
started_service() { pids+=("$1"); service_of[$1]=$2; }
# shellcheck disable=SC2317  # called through the EXIT trap
stop_services() {
    local pid tries
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for ((tries = 0; tries < 30; tries++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$session_dir"
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Secret Service: --unlock reads a password on stdin and creates the login collection
# unlocked, so the first write does not fail with "Prompt dismissed". --foreground keeps
# the daemon our child, so we know its pid and can stop it.
keyring_password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s' "$keyring_password" |
    gnome-keyring-daemon --foreground --unlock --components=secrets \
        >"$logs/gnome-keyring.log" 2>&1 &
keyring_pid=$!
started_service "$keyring_pid" gnome-keyring

dbus-monitor --session "interface='org.freedesktop.Notifications',member='Notify'" \
    >"$TRAYCREDS_TEST_NOTIFY_LOG" 2>"$logs/dbus-monitor.log" &
started_service "$!" dbus-monitor

dunst >"$logs/dunst.log" 2>&1 &
started_service "$!" dunst

trayer --edge top --align left --widthtype request --height 32 --transparent false \
    --SetDockType false --SetPartialStrut false >"$logs/trayer.log" 2>&1 &
started_service "$!" trayer

# --- wait until everything is up ------------------------------------------------------------
has_bus_name() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}
bus_name_pid() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.GetConnectionUnixProcessID "string:$1" 2>/dev/null |
        awk '/uint32/ {print $2}'
}
# No CLI prints a selection's owner; ask Xlib through ctypes (standard library only).
tray_selection_owned() {
    python3 -c '
import ctypes, sys
x = ctypes.cdll.LoadLibrary("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XGetSelectionOwner.restype = ctypes.c_ulong
x.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]
display = x.XOpenDisplay(None)
if not display:
    sys.exit(2)
owner = x.XGetSelectionOwner(display, x.XInternAtom(display, b"_NET_SYSTEM_TRAY_S0", 0))
x.XCloseDisplay(display)
sys.exit(0 if owner else 1)
'
}

declare -A waiting=(
    [tray]="the X selection _NET_SYSTEM_TRAY_S0 has no owner (trayer)"
    [notifications]="no owner for the bus name org.freedesktop.Notifications (dunst)"
    [secrets]="no owner for the bus name org.freedesktop.secrets (gnome-keyring)"
    [monitor]="dbus-monitor has not started logging"
)
started=$EPOCHREALTIME
deadline=$((SECONDS + ready_timeout))
while [ ${#waiting[@]} -gt 0 ]; do
    [ -n "${waiting[tray]:-}" ] && tray_selection_owned && unset 'waiting[tray]'
    [ -n "${waiting[notifications]:-}" ] && has_bus_name org.freedesktop.Notifications &&
        unset 'waiting[notifications]'
    [ -n "${waiting[secrets]:-}" ] && has_bus_name org.freedesktop.secrets &&
        unset 'waiting[secrets]'
    [ -n "${waiting[monitor]:-}" ] && [ -s "$TRAYCREDS_TEST_NOTIFY_LOG" ] &&
        unset 'waiting[monitor]'
    [ ${#waiting[@]} -eq 0 ] && break
    for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null || {
            name=${service_of[$pid]}
            say "$name exited during startup; the end of $logs/$name.log:"
            tail -n 20 "$logs/$name.log" >&2 || true
            exit 2
        }
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
        say "timed out after ${ready_timeout}s waiting for the desktop services:"
        for reason in "${waiting[@]}"; do say "  - $reason"; done
        for name in "${service_of[@]}"; do
            say "the end of $logs/$name.log:"
            tail -n 5 "$logs/$name.log" >&2 || true
        done
        exit 2
    fi
    sleep 0.1
done

# The secrets owner must be OUR unlocked daemon, not one D-Bus activated on its own (locked).
secrets_pid=$(bus_name_pid org.freedesktop.secrets)
[ "$secrets_pid" = "$keyring_pid" ] ||
    die "org.freedesktop.secrets belongs to pid ${secrets_pid:-?}, not our gnome-keyring ($keyring_pid)"

say "ready in $(awk "BEGIN {printf \"%.2f\", $EPOCHREALTIME - $started}")s (display $DISPLAY; logs and screenshots in $TRAYCREDS_ARTIFACTS)"

set +e
"$@"
status=$?
set -e
exit "$status"
