#!/usr/bin/env bash
# Build the one-folder bundle dist/traycreds/ with PyInstaller (Linux; macOS works alike).
#
#   bash installer/build-linux.sh        then: dist/traycreds/traycreds --version
#
# Uses its own virtualenv, .venv-build (traycreds with the linux extra, and PyInstaller), so
# the bundle holds nothing from the test tooling. PyGObject is built from source the first
# time: it needs libgirepository1.0-dev, libcairo2-dev, pkg-config and a C compiler
# (scripts/test.sh and installer/check-linux-bundle.sh install them on Debian/Ubuntu).
# Knob: PYINSTALLER (the pip requirement, default "pyinstaller>=6.10,<7").
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
[ -t 0 ] || exec </dev/null

die() { echo "build-linux.sh: $*" >&2; exit 1; }
# shellcheck source=scripts/setup-lib.sh
source scripts/setup-lib.sh
venv=$repo_root/.venv-build  # setup-lib's install_venv works on $venv

step "build virtualenv ($venv)"
with_venv_lock install_venv linux
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$venv/bin/python" -m pip install -q "${PYINSTALLER:-pyinstaller>=6.10,<7}"
step_done

step "pyinstaller installer/traycreds.spec"
rm -rf dist/traycreds
"$venv/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller installer/traycreds.spec
[ -x dist/traycreds/traycreds ] || die "PyInstaller made no dist/traycreds/traycreds"
echo "built dist/traycreds ($(du -sh dist/traycreds | cut -f1))" >&2
step_done
