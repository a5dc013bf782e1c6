# Shared set-up for scripts/test.sh and scripts/demo.sh (sourced, not run).
# Expects: repo_root set, and die() defined by the caller.

# Debian packages, as in the headless-desktop notes. The -dev packages, pkg-config and a C
# compiler build PyGObject and pycairo from source.
apt_packages=(
    xvfb xauth x11-utils xdotool x11-apps imagemagick trayer
    dbus dbus-x11 gnome-keyring libsecret-tools dunst libnotify-bin xclip xsel
    libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0
    gir1.2-ayatanaappindicator3-0.1
    bash zsh fish
    xterm
    gcc libc6-dev
)

# The distribution's python3 where there is one (what pipx uses on Debian/Ubuntu), so the
# tests meet the interpreter users meet: Debian's lacks tkinter unless python3-tk is installed,
# which a pyenv or image Python would hide.
if [ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ]; then
    python=/usr/bin/python3
else
    python=${PYTHON:-python3}
fi
venv=$repo_root/.venv

step_start=0
step() { step_start=$EPOCHREALTIME; printf '\n== %s\n' "$*" >&2; }
step_done() { awk "BEGIN {printf \"== done in %.1fs\n\", $EPOCHREALTIME - $step_start}" >&2; }

# --- 1. system packages -------------------------------------------------------------------
# system_packages: the Debian packages needed, one a line.
system_packages() {
    printf '%s\n' "${apt_packages[@]}"
    # A system python3 (not pyenv's) needs Debian's venv and header packages, and python3-tk:
    # without it the MFA and Add-key dialogs cannot open.
    if [ "$(command -v "$python")" = /usr/bin/python3 ]; then
        printf '%s\n' python3-venv python3-dev python3-tk
    fi
}

install_system_packages() {
    local missing=() pkg packages
    mapfile -t packages < <(system_packages)
    # One dpkg-query for all; "ii" = installed (dpkg -s also succeeds for removed packages
    # whose config files remain).
    local installed
    installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${packages[@]}" \
        2>/dev/null | awk '$1 == "ii" {print $2}' || true)
    for pkg in "${packages[@]}"; do
        grep -qxF "$pkg" <<<"$installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all ${#packages[@]} Debian packages present" >&2
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
# real_base PYTHON: the real path of the interpreter a python (or a venv's python) runs on.
real_base() {
    "$1" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", "")
        or sys.executable))' 2>/dev/null
}

# install_venv EXTRAS: pip install -e ".[EXTRAS]" unless nothing changed since last time.
install_venv() {
    local extras=$1 stamp=$venv/.traycreds-install-stamp-${1//,/-} base
    base=$(real_base "$python") || die "cannot run $python (set PYTHON to a python3)"
    # A venv built on another interpreter (say pyenv's, before /usr/bin/python3 was
    # preferred) is rebuilt, or tests would not meet the interpreter users meet.
    if ! "$venv/bin/python" -c '' 2>/dev/null || [ "$(real_base "$venv/bin/python")" != "$base" ]
    then
        echo "creating $venv from $python ($("$python" -V 2>&1))" >&2
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
    # Not -q: a first install takes a minute or two (PyGObject builds from source), and a
    # silent terminal for that long looks hung.
    echo "installing traycreds[$extras] and its packages with pip: a minute or two the" \
        "first time" >&2
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$venv/bin/python" -m pip install --progress-bar off -e ".[$extras]" </dev/null >&2
    echo "$wanted" >"$stamp"
}

# with_venv_lock CMD...: several checkouts' runs may share .venv: one installer at a time.
with_venv_lock() {
    local lock
    lock=${TMPDIR:-/tmp}/traycreds-venv-$(printf '%s' "$venv" | sha256sum | cut -c1-12).lock
    (
        flock -w 600 9 || die "another run has held $lock for 10 minutes"
        "$@"
    ) 9>"$lock"
}
