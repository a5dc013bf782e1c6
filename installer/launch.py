"""The bundle's entry script (installer/traycreds.spec): ``python -m traycreds``, which runs
the same entry point as the ``traycreds`` console script.

With no arguments the tray starts, as ``traycreds`` does. ``-m MODULE ARGS`` runs one of
traycreds' own modules, as ``python -m`` would: traycreds starts helpers as
``sys.executable -m traycreds.clipclear`` (and writes ``credential_process`` lines with
``-m traycreds`` when it is not on PATH), and in a bundle ``sys.executable`` is this program.
"""

from __future__ import annotations

import runpy
import sys


def main() -> None:
    module = "traycreds"  # its __main__ runs the console script's entry point
    if len(sys.argv) >= 3 and sys.argv[1] == "-m":
        module = sys.argv[2]
        if module != "traycreds" and not module.startswith("traycreds."):
            sys.stderr.write(f"traycreds: -m runs traycreds' own modules only, not {module!r}\n")
            sys.exit(2)
        sys.argv = [sys.argv[0], *sys.argv[3:]]
    # alter_sys=False keeps sys.argv[0] this program: GTK names the tray's windows after it
    # (WM_CLASS "traycreds"), where runpy's own argv[0] would be ".../__main__.py".
    runpy.run_module(module, run_name="__main__", alter_sys=False)


if __name__ == "__main__":
    main()
