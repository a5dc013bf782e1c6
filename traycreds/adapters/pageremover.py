"""Remove a console redirect page later: ``python -m traycreds.adapters.pageremover SECONDS``.

Started, detached, by ``adapters/console.remove_later`` so that ``traycreds console`` returns
at once. The folder comes on stdin (never the URL; process arguments are readable by other
users). Run with ``-m`` rather than ``-c`` because in the Windows bundle ``sys.executable`` is
traycreds.exe, whose launcher runs traycreds' own modules with ``-m`` (installer/launch.py).
Standard library only, so it starts in milliseconds.
"""

from __future__ import annotations

import os
import sys
import time

PREFIX = "traycreds-console-"
PAGE = "signin.html"


def main(argv: list[str]) -> int:
    folder = sys.stdin.readline(4096).rstrip("\n")
    sys.stdin.close()
    try:
        delay = float(argv[0])
    except (IndexError, ValueError):
        return 2
    if not os.path.basename(folder).startswith(PREFIX) or not 0 <= delay <= 3600:
        return 2
    time.sleep(delay)
    # Windows refuses to delete a file the browser still holds open: try a few times.
    for _ in range(5):
        try:
            if os.path.exists(os.path.join(folder, PAGE)):
                os.unlink(os.path.join(folder, PAGE))
            if os.path.isdir(folder):
                os.rmdir(folder)
            return 0
        except OSError:
            time.sleep(1)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
