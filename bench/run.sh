#!/usr/bin/env bash
# Cold-start benchmark of `traycreds export` beside awsume and the AWS CLI (see bench/README.md):
#
#   bash bench/run.sh [--runs N] [--traycreds PATH] [--json FILE] [--keep]
#
# 1. Creates or updates .venv-bench (a bench-only venv: awsume, awscli v1, moto[server], boto3;
#    kept apart from .venv so none of them changes what traycreds runs with).
# 2. Runs bench/export_cold.py inside a private D-Bus session with an unlocked gnome-keyring
#    (traycreds keeps its keys there): through scripts/desktop-session.sh under xvfb-run when
#    that script and its tools are present, else a minimal session made here (dbus-run-session
#    + gnome-keyring-daemon --unlock --components=secrets).
#
# The traycreds under test: --traycreds PATH, else .venv/bin/traycreds, else
# /tmp/probe-venv/bin/traycreds. With --runtime-venv (read here, not passed on), a
# runtime-only install of the work tree instead, in .venv-bench/traycreds-runtime (no test
# tools, no PyGObject, not editable: what `pipx install traycreds` gives a CLI user).
# Knobs: PYTHON (makes .venv-bench; default python3), BENCH_SESSION=auto|desktop|minimal.
# Needs the Debian packages dbus and gnome-keyring (xvfb and scripts/test.sh's others for the
# desktop session); installs nothing system-wide.
set -euo pipefail

bench_name=run.sh
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# --- inside the session: the keyring (minimal session only), then the benchmark -----------------
if [ "${TRAYCREDS_BENCH_IN_SESSION:-}" = 1 ]; then
    if [ "${TRAYCREDS_BENCH_MINIMAL:-}" = 1 ]; then
        # Fresh dirs, or gnome-keyring reuses an old keyring file whose password differs.
        session_dir=$(mktemp -d "${TMPDIR:-/tmp}/traycreds-bench-session.XXXXXX")
        export XDG_RUNTIME_DIR=$session_dir/runtime XDG_DATA_HOME=$session_dir/data \
            XDG_CONFIG_HOME=$session_dir/config XDG_CACHE_HOME=$session_dir/cache \
            HOME=$session_dir/home TMPDIR=$session_dir/tmp NO_AT_BRIDGE=1
        mkdir -p "$XDG_RUNTIME_DIR" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" \
            "$HOME" "$TMPDIR"
        chmod 700 "$session_dir" "$XDG_RUNTIME_DIR"
        od -An -N12 -tx1 /dev/urandom | tr -d ' \n' |
            gnome-keyring-daemon --foreground --unlock --components=secrets \
                >"$session_dir/gnome-keyring.log" 2>&1 &
        keyring_pid=$!
        trap 'kill "$keyring_pid" 2>/dev/null; wait "$keyring_pid" 2>/dev/null; rm -rf "$session_dir"' EXIT
        for ((tries = 0; ; tries++)); do
            dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
                grep -q 'boolean true' && break
            kill -0 "$keyring_pid" 2>/dev/null ||
                die "gnome-keyring-daemon exited: $(cat "$session_dir/gnome-keyring.log")"
            [ "$tries" -lt 100 ] || die "gnome-keyring did not take org.freedesktop.secrets in 10 s"
            sleep 0.1
        done
    fi
    unset PYTHON_KEYRING_BACKEND
    status=0
    "$bench_venv/bin/python" "$repo_root/bench/export_cold.py" \
        --bench-bin "$bench_venv/bin" "$@" </dev/null || status=$?
    exit "$status"
fi

bench_take_flag --runtime-venv "$@"
runtime_venv=$bench_flag
set -- ${bench_args[@]+"${bench_args[@]}"}

# --- 1. the bench venv (and the runtime install), one build at a time ----------------------------
bench_lock
bench_venv_update
if [ "$runtime_venv" = 1 ]; then
    bench_install_work_tree "$bench_venv/traycreds-runtime"
    set -- --traycreds "$bench_venv/traycreds-runtime/bin/traycreds" "$@"
fi
bench_unlock

# --- 2. the session -------------------------------------------------------------------------------
export TRAYCREDS_BENCH_IN_SESSION=1
mode=${BENCH_SESSION:-auto}
desktop_ready() {
    [ -f "$repo_root/scripts/desktop-session.sh" ] && bench_have_tools "${bench_desktop_tools[@]}"
}
if [ "$mode" = auto ]; then
    if desktop_ready; then mode=desktop; else mode=minimal; fi
fi
case $mode in
desktop)
    desktop_ready || die "BENCH_SESSION=desktop but scripts/desktop-session.sh or its tools are missing"
    bench_desktop_exec bench bash "$repo_root/bench/run.sh" "$@"
    ;;
minimal)
    for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
        command -v "$tool" >/dev/null ||
            die "$tool not found: apt-get install dbus gnome-keyring (or run scripts/test.sh once)"
    done
    say "session: dbus-run-session + gnome-keyring (secrets only)"
    export TRAYCREDS_BENCH_MINIMAL=1
    exec dbus-run-session -- bash "$repo_root/bench/run.sh" "$@"
    ;;
*) die "BENCH_SESSION must be auto, desktop or minimal (got $mode)" ;;
esac
