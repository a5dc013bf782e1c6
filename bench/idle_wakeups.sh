#!/usr/bin/env bash
# How often the idle tray wakes, from /proc counters (see bench/idle_wakeups.py):
#
#   bash bench/idle_wakeups.sh [--seconds 300] [--interval 10] [--dialog-seconds 60] [--json FILE]
#
# Runs bench/idle_wakeups.py with the repo's .venv (made by scripts/test.sh: moto, pystray,
# PyGObject) inside a private desktop session: xvfb-run, dbus-run-session and
# scripts/desktop-session.sh (gnome-keyring, dunst, trayer), on fresh HOME/XDG dirs.
# The session's logs and the tray's output go to $TRAYCREDS_ARTIFACTS/idle-bench
# (default artifacts/idle-bench), a folder of its own: desktop-session.sh truncates the
# notification log in it, which a concurrent test run must not share.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
python=$repo_root/.venv/bin/python
[ -x "$python" ] || { echo "idle_wakeups.sh: no .venv: run 'bash scripts/test.sh' once" >&2; exit 2; }
for tool in xvfb-run dbus-run-session xdotool xwininfo xprop xclip trayer dunst; do
    command -v "$tool" >/dev/null ||
        { echo "idle_wakeups.sh: $tool not found (scripts/test.sh installs it)" >&2; exit 2; }
done

export TRAYCREDS_ARTIFACTS=${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/idle-bench
mkdir -p "$TRAYCREDS_ARTIFACTS"
exec xvfb-run -a -e "$TRAYCREDS_ARTIFACTS/xvfb.log" -s "-screen 0 1024x768x24 -nolisten tcp" \
    dbus-run-session -- bash "$repo_root/scripts/desktop-session.sh" \
    "$python" "$repo_root/bench/idle_wakeups.py" "$@"
