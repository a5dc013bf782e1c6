# Build the Windows bundle and its installer:
#   dist\traycreds\                       PyInstaller one-folder bundle (traycreds.exe, traycredsw.exe)
#   dist\traycreds-<version>-setup.exe    Inno Setup 6 per-user installer
#
#   powershell -ExecutionPolicy Bypass -File installer\build-windows.ps1 [-Python python] [-SkipInstaller]
#
# Uses its own virtualenv, .venv-build. Needs Python 3.10+ (-Python names the interpreter,
# default the "py" launcher) and Inno Setup 6 (ISCC.exe on PATH or in its default folder;
# e.g. "choco install innosetup" or "winget install JRSoftware.InnoSetup").
param(
    [string]$Python = "py",
    [switch]$SkipInstaller
)
$ErrorActionPreference = "Stop"
$root = Split-Path -Parent $PSScriptRoot
Set-Location $root

function Invoke-Checked {
    param([string]$Program, [string[]]$Arguments)
    & $Program @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Program $($Arguments -join ' ') exited $LASTEXITCODE" }
}

$venv = Join-Path $root ".venv-build"
$py = Join-Path $venv "Scripts\python.exe"
$bundle = Join-Path $root "dist\traycreds"
if (-not (Test-Path $py)) {
    Write-Host "== creating $venv"
    Invoke-Checked $Python @("-m", "venv", $venv)
}

Write-Host "== installing traycreds and PyInstaller into $venv"
$env:PIP_DISABLE_PIP_VERSION_CHECK = "1"
Invoke-Checked $py @("-m", "pip", "install", "-q", "--upgrade", ".", "pyinstaller>=6.10,<7")

Write-Host "== pyinstaller installer\traycreds.spec"
if (Test-Path $bundle) { Remove-Item -Recurse -Force $bundle }
$started = Get-Date
Invoke-Checked $py @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", "dist", "--workpath", "build\pyinstaller", "installer\traycreds.spec")
Write-Host ("bundle built in {0:N0} s" -f ((Get-Date) - $started).TotalSeconds)

# The single version source is traycreds/__init__.py.
$version = (& $py -c "import traycreds; print(traycreds.__version__)").Trim()
if ($LASTEXITCODE -ne 0 -or -not $version) { throw "cannot read traycreds.__version__" }

Write-Host "== smoke test"
$answer = (& (Join-Path $bundle "traycreds.exe") --version | Out-String).Trim()
if ($LASTEXITCODE -ne 0 -or $answer -ne "traycreds $version") {
    throw "dist\traycreds\traycreds.exe --version printed '$answer', expected 'traycreds $version'"
}
if (-not (Test-Path (Join-Path $bundle "traycredsw.exe"))) { throw "traycredsw.exe is missing from $bundle" }
Write-Host $answer

if ($SkipInstaller) { exit 0 }

Write-Host "== Inno Setup"
$iscc = (Get-Command "ISCC.exe" -ErrorAction SilentlyContinue | Select-Object -First 1).Source
if (-not $iscc) {
    $candidates = @(
        (Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:ProgramFiles "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:LOCALAPPDATA "Programs\Inno Setup 6\ISCC.exe")
    )
    $iscc = $candidates | Where-Object { Test-Path $_ } | Select-Object -First 1
}
if (-not $iscc) { throw "ISCC.exe (Inno Setup 6) not found: install it, e.g. 'choco install innosetup'" }
Invoke-Checked $iscc @("/Qp", "/DAppVersion=$version", "installer\traycreds.iss")
$setup = Join-Path $root "dist\traycreds-$version-setup.exe"
if (-not (Test-Path $setup)) { throw "Inno Setup made no $setup" }
Write-Host "built $setup"
