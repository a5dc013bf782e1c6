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

# Debian packages, as in the headless-desktop notes. The -dev packages, pkg-config and a C
# compiler build PyGObject and pycairo from source.
apt_packages=(
    xvfb xauth x11-utils xdotool x11-apps imagemagick trayer
    dbus dbus-x11 gnome-keyring libsecret-tools dunst libnotify-bin xclip xsel
    libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0
    gir1.2-ayatanaappindicator3-0.1
    bash zsh fish
    gcc libc6-dev
)

python=${PYTHON:-python3}
venv=$repo_root/.venv
stamp=$venv/.traycreds-install-stamp

step_start=0
step() { step_start=$EPOCHREALTIME; printf '\n== %s\n' "$*" >&2; }
step_done() { awk "BEGIN {printf \"== done in %.1fs\n\", $EPOCHREALTIME - $step_start}" >&2; }
die() { echo "test.sh: $*" >&2; exit 1; }

# --- 1. system packages -------------------------------------------------------------------
install_system_packages() {
    local missing=() pkg
    # A system python3 (not pyenv's) needs Debian's venv and header packages.
    if [ "$(command -v "$python")" = /usr/bin/python3 ]; then
        apt_packages+=(python3-venv python3-dev)
    fi
    # One dpkg-query for all; "ii" = installed (dpkg -s also succeeds for removed packages
    # whose config files remain).
    local installed
    installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${apt_packages[@]}" \
        2>/dev/null | awk '$1 == "ii" {print $2}' || true)
    for pkg in "${apt_packages[@]}"; do
        grep -qxF "$pkg" <<<"$installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all ${#apt_packages[@]} Debian packages present" >&2
        return
    fi
    command -v apt-get >/dev/null || die "not a Debian/Ubuntu machine; install: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
        sudo=(sudo -n)  # never prompt: CI has no stdin
    fi
    echo "installing: ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 \
        "${missing[@]}" </dev/null
}

# --- 2. the virtualenv --------------------------------------------------------------------
install_venv() {
    if ! "$venv/bin/python" -c '' 2>/dev/null; then
        echo "creating $venv" >&2
        rm -rf "$venv"
        "$python" -m venv "$venv"
    fi
    # Reinstall when pyproject.toml or the interpreter changed since the last install.
    local wanted
    wanted=$( { sha256sum pyproject.toml; "$venv/bin/python" -VV; } | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        echo "pyproject.toml unchanged since the last install; skipping pip" >&2
        return
    fi
    rm -f "$stamp"
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$venv/bin/python" -m pip install -q -e '.[test,linux]' </dev/null
    echo "$wanted" >"$stamp"
}

step "system packages"
install_system_packages
step_done

step "virtualenv ($venv)"
# Several checkouts' runs (or engineers) may share this .venv: one installer at a time.
lock=${TMPDIR:-/tmp}/traycreds-venv-$(printf '%s' "$venv" | sha256sum | cut -c1-12).lock
exec 9>"$lock"
flock -w 600 9 || die "another run has held $lock for 10 minutes"
install_venv
exec 9>&-
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
