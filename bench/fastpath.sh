#!/usr/bin/env bash
# Fast-path benchmark: `traycreds export` answered by a running tray, beside awsume and the AWS
# CLI (see bench/README.md, "Fast path: a running tray"):
#
#   bash bench/fastpath.sh [--runs N] [--json FILE] [--keep] [--no-editable]
#
# 1. Creates or updates .venv-bench as bench/run.sh does (same packages, stamp and lock:
#    awsume, awscli v1, moto[server], boto3).
# 2. Builds a runtime install the way bench/run.sh --runtime-venv does (from a copy of the work
#    tree; not editable; no test tools), plus the `linux` extra, PyGObject, which the tray's
#    default (gtk) backend needs: .venv-bench/traycreds-runtime-linux, what
#    `pipx install 'traycreds[linux]'` gives a Linux desktop user. (bench/run.sh's
#    .venv-bench/traycreds-runtime stays without it.) Its traycreds starts the tray and is the
#    command the targets apply to. .venv/bin/traycreds (editable) is timed beside it when
#    present, unless --no-editable.
# 3. Runs bench/fastpath.py inside the private desktop session the tray needs:
#    xvfb-run -a dbus-run-session -- bash scripts/desktop-session.sh (Xvfb, D-Bus,
#    gnome-keyring, dunst, trayer), with logs in artifacts/bench-fastpath/.
# Knob: PYTHON (makes .venv-bench; default python3).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
bench_venv=$repo_root/.venv-bench
bench_packages=(awsume awscli "moto[server]" boto3)  # as in bench/run.sh
runtime=$bench_venv/traycreds-runtime-linux

say() { echo "bench/fastpath.sh: $*" >&2; }
die() { say "$*"; exit 2; }

editable=1
args=()
for arg in "$@"; do
    if [ "$arg" = --no-editable ]; then editable=0; else args+=("$arg"); fi
done
set -- ${args[@]+"${args[@]}"}

for tool in xvfb-run dbus-run-session gnome-keyring-daemon dunst dbus-monitor dbus-send trayer; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/test.sh installs it)"
done

# --- 1. the bench venv and 2. the runtime install (one at a time: bench/run.sh's lock) --------
python=${PYTHON:-python3}
stamp=$bench_venv/.bench-install-stamp
lock=${TMPDIR:-/tmp}/traycreds-bench-venv-$(printf '%s' "$bench_venv" | sha256sum | cut -c1-12).lock
exec 9>"$lock"
flock -w 600 9 || die "another run has held $lock for 10 minutes"
if ! "$bench_venv/bin/python" -c '' 2>/dev/null; then
    say "creating $bench_venv"
    rm -rf "$bench_venv"
    "$python" -m venv "$bench_venv"
fi
wanted=$( { printf '%s\n' "${bench_packages[@]}"; "$bench_venv/bin/python" -VV; } |
    sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    rm -f "$stamp"
    say "installing ${bench_packages[*]} into $bench_venv"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$bench_venv/bin/python" -m pip install -q "${bench_packages[@]}" </dev/null
    echo "$wanted" >"$stamp"
fi
[ -x "$runtime/bin/python" ] || "$bench_venv/bin/python" -m venv "$runtime"
src=$(mktemp -d "${TMPDIR:-/tmp}/traycreds-bench-src.XXXXXX")
cp -r pyproject.toml traycreds "$src/"
if [ -f README.md ]; then cp README.md "$src/"; else : >"$src/README.md"; fi
rm -rf "$src"/*.egg-info "$src"/traycreds/*.egg-info
find "$src" -name __pycache__ -prune -exec rm -rf {} +
say "installing the work tree's traycreds (runtime dependencies, linux extra) into $runtime"
# PyGObject builds from source once (gcc, libgirepository1.0-dev, libcairo2-dev: installed by
# scripts/test.sh); pip's wheel cache serves it after that.
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$runtime/bin/python" -m pip install -q "$src[linux]" </dev/null
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$runtime/bin/python" -m pip install -q --force-reinstall --no-deps "$src" </dev/null
rm -rf "$src"
flock -u 9
exec 9>&-

set -- --traycreds "$runtime/bin/traycreds" --bench-bin "$bench_venv/bin" "$@"
if [ "$editable" = 1 ] && [ -x "$repo_root/.venv/bin/traycreds" ]; then
    set -- --editable "$repo_root/.venv/bin/traycreds" "$@"
fi

# --- 3. the session -----------------------------------------------------------------------------
# Its own artifacts folder: desktop-session.sh truncates the notification log there, which a
# concurrent test run may be using.
export TRAYCREDS_ARTIFACTS=${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/bench-fastpath
mkdir -p "$TRAYCREDS_ARTIFACTS"
unset PYTHON_KEYRING_BACKEND
say "session: scripts/desktop-session.sh under xvfb-run (logs in $TRAYCREDS_ARTIFACTS)"
exec xvfb-run -a -e "$TRAYCREDS_ARTIFACTS/xvfb.log" -s "-screen 0 1024x768x24 -nolisten tcp" \
    dbus-run-session -- bash "$repo_root/scripts/desktop-session.sh" \
    "$bench_venv/bin/python" "$repo_root/bench/fastpath.py" "$@" </dev/null
