# shellcheck shell=bash
# What the bench's .sh scripts share; sourced, not run:
#
#   bench_name=run.sh   # for messages
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#
# Sourcing it moves to the repo root and sets repo_root, bench_venv and bench_packages. Then:
#
#   say / die MESSAGE              to stderr as "bench/NAME: MESSAGE" (die exits 2)
#   bench_need_tools TOOL...       die naming the first TOOL not on PATH
#   bench_have_tools TOOL...       the same test, quiet: false when one is missing
#   bench_take_flag FLAG ARGS...   bench_flag=1 if FLAG is among ARGS, else 0; bench_args=ARGS
#                                  without it (then: set -- ${bench_args[@]+"${bench_args[@]}"})
#   bench_need_dev_venv            die unless .venv (made by scripts/test.sh) is there
#   bench_lock / bench_unlock      one venv build at a time (fd 9; a lock per bench venv)
#   bench_venv_update              make or update .venv-bench (hold the lock)
#   bench_install_work_tree DEST [EXTRA]
#                                  a runtime install of the work tree (not editable) into the
#                                  venv DEST, with the extra EXTRA (e.g. linux) (hold the lock)
#   bench_desktop_exec SUBDIR COMMAND...
#                                  exec COMMAND in a private desktop session: xvfb-run,
#                                  dbus-run-session and scripts/desktop-session.sh, its logs in
#                                  ${TRAYCREDS_ARTIFACTS:-artifacts}/SUBDIR; it needs the tools
#                                  in bench_desktop_tools
#
# Knob: PYTHON, the interpreter that makes .venv-bench (default python3).

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
repo_root=$PWD
bench_venv=$repo_root/.venv-bench
# .venv-bench: the peers and the bench's own needs, kept apart from .venv so that none of them
# changes what traycreds runs with.
bench_packages=(awsume awscli "moto[server]" boto3)
# What a private desktop session needs (scripts/test.sh installs them).
bench_desktop_tools=(xvfb-run dbus-run-session gnome-keyring-daemon dunst dbus-monitor dbus-send
    trayer python3)

say() { echo "bench/${bench_name:-bench}: $*" >&2; }
die() { say "$*"; exit 2; }

bench_need_tools() {
    local tool
    for tool; do
        command -v "$tool" >/dev/null || die "$tool not found (scripts/test.sh installs it)"
    done
}

bench_have_tools() {
    local tool
    for tool; do
        command -v "$tool" >/dev/null || return 1
    done
}

# shellcheck disable=SC2034  # bench_flag and bench_args are read by the sourcing script
bench_take_flag() {
    local flag=$1 arg
    shift
    bench_flag=0
    bench_args=()
    for arg; do
        if [ "$arg" = "$flag" ]; then bench_flag=1; else bench_args+=("$arg"); fi
    done
}

bench_need_dev_venv() {
    [ -x "$repo_root/.venv/bin/python" ] || die "no .venv: run 'bash scripts/test.sh' once"
}

bench_lock() {
    local lock
    lock=${TMPDIR:-/tmp}/traycreds-bench-venv-$(printf '%s' "$bench_venv" | sha256sum | cut -c1-12).lock
    exec 9>"$lock"
    flock -w 600 9 || die "another run has held $lock for 10 minutes"
}

bench_unlock() {
    flock -u 9
    exec 9>&-
}

# Reinstalls only when the package list or the interpreter changes (a stamp of both).
bench_venv_update() {
    local stamp=$bench_venv/.bench-install-stamp wanted
    if ! "$bench_venv/bin/python" -c '' 2>/dev/null; then
        say "creating $bench_venv"
        rm -rf "$bench_venv"
        "${PYTHON:-python3}" -m venv "$bench_venv"
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
}

# From a copy of the work tree, so the build writes nothing into the checkout. The second
# install puts the work tree's traycreds over an older one of the same version.
bench_install_work_tree() {
    local dest=$1 extra=${2:-} src spec
    [ -x "$dest/bin/python" ] || "$bench_venv/bin/python" -m venv "$dest"
    src=$(mktemp -d "${TMPDIR:-/tmp}/traycreds-bench-src.XXXXXX")
    cp -r "$repo_root/pyproject.toml" "$repo_root/traycreds" "$src/"
    if [ -f "$repo_root/README.md" ]; then cp "$repo_root/README.md" "$src/"; else : >"$src/README.md"; fi
    rm -rf "$src"/*.egg-info "$src"/traycreds/*.egg-info
    find "$src" -name __pycache__ -prune -exec rm -rf {} +
    spec=$src${extra:+[$extra]}
    say "installing the work tree's traycreds (runtime dependencies${extra:+, $extra extra}) into $dest"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$dest/bin/python" -m pip install -q "$spec" </dev/null
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$dest/bin/python" -m pip install -q --force-reinstall --no-deps "$src" </dev/null
    rm -rf "$src"
}

# A folder of its own under the artifacts: desktop-session.sh truncates the notification log
# there, which a concurrent test run must not share.
bench_desktop_exec() {
    local subdir=$1
    shift
    bench_need_tools "${bench_desktop_tools[@]}"
    export TRAYCREDS_ARTIFACTS=${TRAYCREDS_ARTIFACTS:-$repo_root/artifacts}/$subdir
    mkdir -p "$TRAYCREDS_ARTIFACTS"
    say "session: scripts/desktop-session.sh under xvfb-run (logs in $TRAYCREDS_ARTIFACTS)"
    exec xvfb-run -a -e "$TRAYCREDS_ARTIFACTS/xvfb.log" -s "-screen 0 1024x768x24 -nolisten tcp" \
        dbus-run-session -- bash "$repo_root/scripts/desktop-session.sh" "$@"
}
