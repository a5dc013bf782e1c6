"""Clear the clipboard after a delay, if it still holds what traycreds copied.

Started, detached, by ``traycreds.adapters.clipboard.schedule_clear`` as
``python -m traycreds.clipclear --after SECONDS``; it reads the fingerprint (SHA-256 hex of
the copied text) from stdin, because other users can read process arguments. Exit status:
0 done (cleared, or left alone because something else was copied), 1 the clipboard could not
be used, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import time

from traycreds.adapters.clipboard import ClipboardError, clear_if_unchanged, get_clipboard
from traycreds.adapters.clipboard.clearing import FINGERPRINT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m traycreds.clipclear",
        description="Clear the clipboard after a delay if it still holds the text whose "
        "SHA-256 (hex) is given on stdin.",
    )
    parser.add_argument("--after", type=int, required=True, metavar="SECONDS")
    args = parser.parse_args(argv)
    fingerprint = sys.stdin.readline(128).strip()
    sys.stdin.close()
    if args.after < 0 or not FINGERPRINT.fullmatch(fingerprint):
        return 2
    time.sleep(args.after)
    try:
        clear_if_unchanged(get_clipboard(), fingerprint)
    except ClipboardError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
