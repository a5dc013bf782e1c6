#!/usr/bin/env bash
# How often the idle tray wakes, from /proc counters (see bench/idle_wakeups.py):
#
#   bash bench/idle_wakeups.sh [--seconds 300] [--interval 10] [--dialog-seconds 60] [--json FILE]
#
# Runs bench/idle_wakeups.py with the repo's .venv (made by scripts/test.sh: moto, pystray,
# PyGObject) inside a private desktop session: xvfb-run, dbus-run-session and
# scripts/desktop-session.sh (gnome-keyring, dunst, trayer), on fresh HOME/XDG dirs
# (bench/common.sh, bench_desktop_exec). The session's logs and the tray's output go to
# ${TRAYCREDS_ARTIFACTS:-artifacts}/idle-bench, a folder of its own: desktop-session.sh
# truncates the notification log in it, which a concurrent test run must not share.
set -euo pipefail

bench_name=idle_wakeups.sh
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_need_dev_venv
bench_need_tools xdotool xclip
bench_desktop_exec idle-bench "$repo_root/.venv/bin/python" "$repo_root/bench/idle_wakeups.py" "$@"
