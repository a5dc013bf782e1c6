#!/usr/bin/env bash
# Tray start-up time and idle memory (see bench/tray_start.py):
#
#   bash bench/tray_start.sh [--runs N] [--no-breakdown] [--json FILE]
#
# Runs bench/tray_start.py with the repo's .venv inside a private desktop session (Xvfb,
# D-Bus, gnome-keyring, dunst, trayer): xvfb-run -a (a 1024x768x24 screen), dbus-run-session
# and scripts/desktop-session.sh, as bench/common.sh's bench_desktop_exec does for every
# bench that needs a desktop.
#
# Needs what scripts/test.sh installs (run it once). The session's logs go to
# ${TRAYCREDS_ARTIFACTS:-artifacts}/bench-tray, not the tests' artifacts folder, so a test
# run going on at the same time keeps its notification log.
set -euo pipefail

bench_name=tray_start.sh
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_need_dev_venv
bench_desktop_exec bench-tray "$repo_root/.venv/bin/python" "$repo_root/bench/tray_start.py" "$@"
