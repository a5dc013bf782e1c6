#!/usr/bin/env bash
# Tray start-up time and idle memory (see bench/tray_start.py):
#
#   bash bench/tray_start.sh [--runs N] [--breakdown-runs N] [--no-breakdown] [--json FILE]
#
# Runs bench/tray_start.py with the repo's .venv inside a private desktop session (Xvfb,
# D-Bus, gnome-keyring, dunst, trayer), exactly:
#
#   xvfb-run -a dbus-run-session -- bash scripts/desktop-session.sh \
#       .venv/bin/python bench/tray_start.py "$@"
#
# Needs what scripts/test.sh installs (run it once). The session's logs go to
# $TRAYCREDS_ARTIFACTS (default: artifacts/bench-tray), not the tests' artifacts folder,
# so a test run going on at the same time keeps its notification log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x .venv/bin/python ] || { echo "tray_start.sh: no .venv: run 'bash scripts/test.sh' once" >&2; exit 2; }
export TRAYCREDS_ARTIFACTS=${TRAYCREDS_ARTIFACTS:-$PWD/artifacts/bench-tray}
mkdir -p "$TRAYCREDS_ARTIFACTS"
exec xvfb-run -a dbus-run-session -- bash scripts/desktop-session.sh \
    .venv/bin/python bench/tray_start.py "$@"
