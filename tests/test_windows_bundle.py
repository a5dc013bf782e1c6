"""The Windows bundle's build (installer/build-windows.sh), the parts that need no download:
which wheels the bundle carries. pip evaluates environment markers on the building (Linux)
machine even when it downloads for win_amd64, so installer/windows-lib.sh recomputes the
dependency closure from the wheels' metadata with Windows' marker values. Here it runs on
small wheels made by the test (bash and the venv's pip, so not on the Windows lane).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support import REPO_ROOT, posix_only

pytestmark = posix_only("runs installer/windows-lib.sh with bash, as the Linux build does")


def make_wheel(folder: Path, name: str, version: str, *requires: str) -> Path:
    dist = name.replace("-", "_").replace(".", "_")
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                *(f"Requires-Dist: {r}" for r in requires)]
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{dist}-{version}.dist-info/METADATA", "\n".join(metadata) + "\n")
    return path


def windows_closure(wheels: Path, *requirements: str) -> list[str]:
    result = subprocess.run(
        ["bash", "-c", 'source installer/windows-lib.sh && windows_closure "$@"', "closure",
         sys.executable, str(wheels), *requirements],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.split()


def test_the_closure_follows_windows_markers_not_this_machines(tmp_path: Path) -> None:
    # What pip downloads on Linux for keyring and pystray: their Linux-only dependencies, and
    # not keyring's Windows backend.
    make_wheel(tmp_path, "keyring", "25.7.0",
               "pywin32-ctypes>=0.2.0; sys_platform == 'win32'",
               "SecretStorage>=3.2; sys_platform == 'linux'",
               "jaraco.classes",
               "pytest>=6; extra == 'test'")
    make_wheel(tmp_path, "SecretStorage", "3.5.0", "jeepney>=0.6")
    make_wheel(tmp_path, "jeepney", "0.9.0")
    make_wheel(tmp_path, "jaraco.classes", "3.4.0", "more-itertools")
    make_wheel(tmp_path, "more-itertools", "11.2.1")
    make_wheel(tmp_path, "pystray", "0.19.5",
               "Pillow", "python-xlib>=0.17; sys_platform == 'linux'")
    make_wheel(tmp_path, "python-xlib", "0.33")
    make_wheel(tmp_path, "Pillow", "13.0.0")
    make_wheel(tmp_path, "pytest", "8.0.0")

    missing = windows_closure(tmp_path, "keyring>=24", "pystray>=0.19.5",
                              "PyGObject<3.51; sys_platform == 'linux'")

    assert missing == ["pywin32-ctypes>=0.2.0"]  # to be fetched by name, --no-deps
    left = sorted(p.name.split("-")[0] for p in tmp_path.glob("*.whl"))
    assert left == ["Pillow", "jaraco_classes", "keyring", "more_itertools", "pystray"]


def test_a_complete_closure_asks_for_nothing(tmp_path: Path) -> None:
    make_wheel(tmp_path, "keyring", "25.7.0", "pywin32-ctypes>=0.2.0; sys_platform == 'win32'")
    make_wheel(tmp_path, "pywin32-ctypes", "0.2.3")

    assert windows_closure(tmp_path, "keyring>=24") == []
    assert len(list(tmp_path.glob("*.whl"))) == 2
