#!/usr/bin/env bash
# The Windows installer under wine: its size, a silent install's time, the installed app's
# start to icon docked, beside a pip-style run of this checkout (see bench/windows_install.py):
#
#   bash bench/windows_install.sh [--runs N] [--json FILE] [--setup PATH]
#
# Needs dist/traycreds-VERSION-setup.exe (bash installer/build-windows.sh) and the Windows
# lane's cache (bash scripts/test-windows.sh once: the wine prefix with 32-bit support and
# win10, and the Windows CPython with traycreds' dependencies in its site folder), plus
# xvfb-run and trayer (scripts/test.sh installs them) and the repo's .venv (python-xlib).
#
# Everything runs in a throw-away copy of the lane's prefix and CPython, inside its own
# xvfb-run display with trayer (wine's explorer docks Shell_NotifyIcon icons into it), and
# is removed at the end. Nothing of the user's wine prefix or traycreds settings is touched.
set -euo pipefail

bench_name=windows_install.sh
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_need_dev_venv
bench_need_tools xvfb-run trayer script
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64
[ -x "$wine" ] || die "$wine not found: bash scripts/test-windows.sh once installs wine"

# The lane's newest complete build: <cache>/<key>/{prefix,python,complete}.
lane_cache=${XDG_CACHE_HOME:-$HOME/.cache}/traycreds-windows-lane
built=$(find "$lane_cache" -mindepth 2 -maxdepth 2 -name complete -printf '%T@ %h\n' 2>/dev/null |
    sort -rn | head -n 1 | cut -d' ' -f2-)
[ -n "$built" ] && [ -d "$built/prefix/drive_c/windows/syswow64" ] ||
    die "no Windows lane cache with a 32-bit wine prefix in $lane_cache: run bash scripts/test-windows.sh once"

work=$(mktemp -d "${TMPDIR:-/tmp}/traycreds-bench-wininst.XXXXXX")
cleanup() {
    WINEPREFIX=$work/prefix "$wineserver" -k 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
say "copying the lane's wine prefix and Windows CPython ($built) to $work"
cp -a "$built/prefix" "$work/prefix"
# Hard links: Python replaces .pyc files rather than writing them in place.
cp -al "$built/python" "$work/python"

export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# The logs (trayer, setup, each variant's output) outlive the throw-away folder.
logs=${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/bench-windows-install
rm -rf "$logs"
mkdir -p "$logs"
export BENCH_WINE=$wine BENCH_WINESERVER=$wineserver BENCH_WORK=$work BENCH_LOGS=$logs
status=0
xvfb-run -a -e "$logs/xvfb.log" -s "-screen 0 1024x768x24 -nolisten tcp" \
    "$repo_root/.venv/bin/python" "$repo_root/bench/windows_install.py" "$@" || status=$?
exit "$status"
