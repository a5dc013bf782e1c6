#!/usr/bin/env bash
# Fast-path benchmark: `traycreds export` answered by a running tray, beside awsume and the AWS
# CLI (see bench/README.md, "Fast path: a running tray"):
#
#   bash bench/fastpath.sh [--runs N] [--json FILE] [--keep] [--no-editable]
#
# 1. Creates or updates .venv-bench as bench/run.sh does (bench/common.sh: same packages, stamp
#    and lock: awsume, awscli v1, moto[server], boto3).
# 2. Builds a runtime install the way bench/run.sh --runtime-venv does (from a copy of the work
#    tree; not editable; no test tools), plus the `linux` extra, PyGObject, which the tray's
#    default (gtk) backend needs: .venv-bench/traycreds-runtime-linux, what
#    `pipx install 'traycreds[linux]'` gives a Linux desktop user. (bench/run.sh's
#    .venv-bench/traycreds-runtime stays without it.) Its traycreds starts the tray and is the
#    command the targets apply to. .venv/bin/traycreds (editable) is timed beside it when
#    present, unless --no-editable.
# 3. Runs bench/fastpath.py inside the private desktop session the tray needs (bench/common.sh,
#    bench_desktop_exec): xvfb-run -a dbus-run-session -- bash scripts/desktop-session.sh
#    (Xvfb, D-Bus, gnome-keyring, dunst, trayer), with logs in artifacts/bench-fastpath/.
# Knob: PYTHON (makes .venv-bench; default python3).
set -euo pipefail

bench_name=fastpath.sh
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runtime=$bench_venv/traycreds-runtime-linux

bench_take_flag --no-editable "$@"
editable=$((1 - bench_flag))
set -- ${bench_args[@]+"${bench_args[@]}"}

bench_need_tools "${bench_desktop_tools[@]}"

# --- 1. the bench venv and 2. the runtime install (one build at a time: bench/run.sh's lock) ---
bench_lock
bench_venv_update
# PyGObject (the linux extra) builds from source once (gcc, libgirepository1.0-dev,
# libcairo2-dev: installed by scripts/test.sh); pip's wheel cache serves it after that.
bench_install_work_tree "$runtime" linux
bench_unlock

set -- --traycreds "$runtime/bin/traycreds" --bench-bin "$bench_venv/bin" "$@"
if [ "$editable" = 1 ] && [ -x "$repo_root/.venv/bin/traycreds" ]; then
    set -- --editable "$repo_root/.venv/bin/traycreds" "$@"
fi

# --- 3. the session -----------------------------------------------------------------------------
unset PYTHON_KEYRING_BACKEND
bench_desktop_exec bench-fastpath "$bench_venv/bin/python" "$repo_root/bench/fastpath.py" "$@" \
    </dev/null
