#!/usr/bin/env bash
# Build the PyInstaller bundle (installer/build-linux.sh) and check that it starts:
#   1. dist/traycreds/traycreds --version prints this checkout's version (and so does the
#      "-m traycreds" form traycreds uses to start itself);
#   2. under Xvfb, in the private desktop session (scripts/desktop-session.sh: D-Bus,
#      gnome-keyring, trayer), the bundle's tray docks: trayer's panel gets traycreds'
#      window as a child, within TRAYCREDS_DOCK_TIMEOUT seconds (default 20); while it runs,
#      the bundle's `doctor` sees it.
# Exits non-zero on any failure. Prints how long the build took.
#
#   bash installer/check-linux-bundle.sh
#
# A screenshot of the docked icon and the tray's log go to $TRAYCREDS_ARTIFACTS/bundle/
# (default artifacts/bundle/).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
bundle=$repo_root/dist/traycreds/traycreds
artifacts=${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/bundle
[ -t 0 ] || exec </dev/null

die() { echo "check-linux-bundle.sh: FAILED: $*" >&2; exit 1; }
say() { echo "check-linux-bundle.sh: $*" >&2; }

# --- inside the desktop session (this script runs itself there) -----------------------------
in_session() {
    local panel tray_pid deadline docked=0 status
    mkdir -p "$artifacts"
    panel=$(xdotool search --name '^panel$' | head -n 1)
    [ -n "$panel" ] || die "trayer's panel window not found"
    "$bundle" --debug tray >"$artifacts/tray.log" 2>&1 &
    tray_pid=$!
    # shellcheck disable=SC2317  # called through the EXIT trap
    stop_tray() { kill "$tray_pid" 2>/dev/null || true; wait "$tray_pid" 2>/dev/null || true; }
    trap stop_tray EXIT
    deadline=$((SECONDS + ${TRAYCREDS_DOCK_TIMEOUT:-20}))
    while [ "$SECONDS" -lt "$deadline" ]; do
        kill -0 "$tray_pid" 2>/dev/null || {
            tail -n 30 "$artifacts/tray.log" >&2
            die "the bundle's tray exited early (log above)"
        }
        # XEmbed: the panel reparents the icon's window (WM_CLASS traycreds) into itself
        # and gives it an icon's size.
        if xwininfo -tree -id "$panel" |
            grep -Eq '\("traycreds" "Traycreds"\) +(1[6-9]|[2-9][0-9])x(1[6-9]|[2-9][0-9])'; then
            docked=1
            break
        fi
        sleep 0.2
    done
    if [ "$docked" -ne 1 ]; then
        xwininfo -tree -id "$panel" >&2 || true
        tail -n 30 "$artifacts/tray.log" >&2
        die "the bundle's tray did not dock in trayer's panel"
    fi
    say "the bundle's tray docked in trayer's panel"
    sleep 0.5  # let it paint before the screenshot
    import -window root "$artifacts/tray-docked.png" 2>/dev/null || true
    # The bundle's own command line finds the running tray (the local channel, the keyring
    # and platformdirs inside the bundle).
    status=0
    "$bundle" doctor >"$artifacts/doctor.txt" 2>&1 || status=$?
    [ "$status" -eq 0 ] || { cat "$artifacts/doctor.txt" >&2; die "doctor exited $status"; }
    grep -Eq '^tray running +yes$' "$artifacts/doctor.txt" ||
        { cat "$artifacts/doctor.txt" >&2; die "doctor does not see the running tray"; }
    grep -Eq '^keyring backend +keyring\.backends\.SecretService' "$artifacts/doctor.txt" ||
        { cat "$artifacts/doctor.txt" >&2; die "the bundle does not reach the Secret Service"; }
    say "the bundle's doctor sees the tray and the Secret Service keyring"
    stop_tray
    trap - EXIT
}

if [ "${1:-}" = "--in-session" ]; then
    in_session
    exit 0
fi

# --- outside: system packages, build, --version, then the session --------------------------
# shellcheck source=scripts/setup-lib.sh
source scripts/setup-lib.sh
step "system packages"
install_system_packages
step_done

build_started=$EPOCHREALTIME
bash installer/build-linux.sh
build_seconds=$(awk "BEGIN {printf \"%.0f\", $EPOCHREALTIME - $build_started}")
say "build took ${build_seconds}s"

step "the bundle answers --version"
expected="traycreds $(sed -n 's/^__version__ = "\(.*\)"$/\1/p' traycreds/__init__.py)"
got=$("$bundle" --version) || die "$bundle --version exited $?"
[ "$got" = "$expected" ] || die "$bundle --version printed '$got', expected '$expected'"
got=$("$bundle" -m traycreds --version) || die "$bundle -m traycreds --version exited $?"
[ "$got" = "$expected" ] || die "$bundle -m traycreds --version printed '$got'"
say "$got"
step_done

step "the bundle's tray under Xvfb"
mkdir -p "$artifacts"
xvfb-run -a -e "$artifacts/xvfb.log" -s "-screen 0 1024x768x24 -nolisten tcp" \
    dbus-run-session -- bash scripts/desktop-session.sh \
    bash installer/check-linux-bundle.sh --in-session
step_done

say "passed (build ${build_seconds}s, total ${SECONDS}s)"
