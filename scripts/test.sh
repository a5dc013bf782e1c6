#!/usr/bin/env bash
# The test command: bash scripts/test.sh [pytest args]
#
# On a Debian/Ubuntu machine: installs the system packages the tests need (if missing),
# creates or updates .venv, then runs ruff, mypy and pytest. pytest runs inside a private
# desktop session (Xvfb, D-Bus, gnome-keyring, dunst, trayer; see scripts/desktop-session.sh).
# Every step runs; the exit status is non-zero if any failed. Screenshots and service logs
# are kept in $TRAYCREDS_ARTIFACTS (default: artifacts/).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
# CI may give us no stdin at all (fd 0 closed): make it /dev/null. A terminal stays (--pdb).
[ -t 0 ] || exec </dev/null

die() { echo "test.sh: $*" >&2; exit 1; }
# shellcheck source=scripts/setup-lib.sh
source scripts/setup-lib.sh

step "system packages"
install_system_packages
step_done

step "virtualenv ($venv)"
with_venv_lock install_venv test,linux
step_done

# --- 3. checks ----------------------------------------------------------------------------
export PATH="$venv/bin:$PATH" VIRTUAL_ENV=$venv
failed=()

step "ruff check"
ruff check . || failed+=("ruff")
step_done

step "mypy"
mypy || failed+=("mypy")
step_done

step "pytest (private desktop session)"
mkdir -p "${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/session"
pytest_status=0
xvfb-run -a -e "${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/session/xvfb.log" \
    -s "-screen 0 1024x768x24 -nolisten tcp" \
    dbus-run-session -- bash scripts/desktop-session.sh \
    "$venv/bin/python" -m pytest "$@" || pytest_status=$?
if [ "$pytest_status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
fi
[ "$pytest_status" -eq 0 ] || failed+=("pytest (exit $pytest_status)")
step_done

if [ ${#failed[@]} -gt 0 ]; then
    printf '\nFAILED: %s\n' "${failed[*]}" >&2
    exit 1
fi
printf '\nall checks passed\n' >&2
