"""The console sign-in's outside world: the federation endpoint over HTTPS, and the browser.

The sign-in URL is a secret (it signs its opener in), so it never goes on a command line,
where other users could read it (/proc/PID/cmdline on Linux, `ps` on macOS). On every OS the
browser is given a file:// URL of a 0600 HTML page in a fresh 0700 folder of ours
(tempfile.mkdtemp; on Windows in %TEMP%, which only the user, SYSTEM and administrators can
read) that redirects to the sign-in URL:
- Linux and other POSIX: ``webbrowser`` runs BROWSER, or xdg-open and the like, with the
  file:// URL as its argument.
- Windows: ``webbrowser`` hands the file:// URL to ShellExecute (os.startfile), which starts
  the default browser with it; with BROWSER set, it runs that command like on POSIX.
The page is removed later: the tray by a timer; a command returns at once and leaves that to
a detached ``python -m traycreds.adapters.pageremover`` (told the folder on stdin), so it
never waits for the browser. A page whose remover never ran (killed, a logout) is swept by
the next opening.
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from traycreds.adapters.pageremover import PREFIX
from traycreds.core.console import FEDERATION_URL, ConsoleError, parse_signin_token
from traycreds.core.errors import NetworkError

ENV_URL = "TRAYCREDS_FEDERATION_URL"
DEADLINE = 15.0  # seconds for the whole exchange
MAX_ANSWER = 16384  # a SigninToken is about a thousand characters
# The remover runs with -m from where traycreds is installed: -m puts its working folder
# first on sys.path, and a shared temp folder there would let another user plant a module.
_IMPORT_ROOT = Path(__file__).resolve().parents[2]
REMOVE_AFTER = 60.0  # seconds the browser has to read the redirect page (a browser
# already running may take a while to be handed it)


def federation_url() -> str:
    """AWS's endpoint, or the override (https, or http to loopback only: a test's stand-in)."""
    url = os.environ.get(ENV_URL) or FEDERATION_URL
    parts = urlsplit(url)
    loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1", "localhost")
    if not (parts.scheme == "https" and parts.hostname) and not loopback:
        raise ConsoleError(f"{ENV_URL} must be an https:// URL (or http:// to loopback).")
    return url


def fetch_signin_token(url: str, query: str) -> str:
    """POST the Session (in the body, so no proxy or server log sees it) and read the token."""
    request = urllib.request.Request(url, data=query.encode("ascii"), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as answer:
            return parse_signin_token(answer.status, answer.read(MAX_ANSWER + 1)[:MAX_ANSWER])
    except urllib.error.HTTPError as error:
        return parse_signin_token(error.code, b"")
    except (OSError, ValueError) as error:
        raise NetworkError(f"Could not reach AWS's federation endpoint ({type(error).__name__})."
                           " Check the network and try again.") from None


def _redirect_file(url: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))  # 0700, ours
    path = folder / "signin.html"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    target = html.escape(url, quote=True)
    with os.fdopen(fd, "w", encoding="utf-8") as page:
        page.write(f'<!doctype html><meta http-equiv="refresh" content="0;url={target}">'
                   f'<title>AWS console</title><a href="{target}">Open the AWS console</a>\n')
    return path


def remove_later(page: Path, *, detached: bool) -> None:
    """Remove the redirect page once the browser has had time to read it: by a timer in a
    long-lived process (the tray), else by a detached remover, so the caller need not wait."""
    if not detached:
        timer = threading.Timer(REMOVE_AFTER, remove, (page,))
        timer.daemon = True
        timer.start()
        return
    detach: dict[str, Any] = {"start_new_session": True}
    if sys.platform == "win32":
        detach = {"creationflags": subprocess.DETACHED_PROCESS
                  | subprocess.CREATE_NEW_PROCESS_GROUP}
    try:
        remover = subprocess.Popen(
            [sys.executable, "-m", "traycreds.adapters.pageremover", str(REMOVE_AFTER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=_IMPORT_ROOT,
            **detach)
        assert remover.stdin is not None
        with remover.stdin:
            remover.stdin.write(f"{page.parent}\n".encode())
    except OSError:
        pass  # the next opening sweeps it (sweep below)


def sweep(now: float | None = None) -> None:
    """Remove our redirect pages older than REMOVE_AFTER whose remover never ran."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
                continue
            status = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        ours = sys.platform == "win32" or status.st_uid == os.getuid()
        if ours and now - status.st_mtime > REMOVE_AFTER:
            remove(Path(entry.path) / "signin.html")


def remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
        path.parent.rmdir()
    except OSError:
        pass


def open_in_browser(url: str) -> Path:
    """Open the sign-in URL through a private redirect page; returns the page (see
    remove_later)."""
    sweep()
    page = _redirect_file(url)
    if not webbrowser.open(page.as_uri(), new=2):
        remove(page)
        raise ConsoleError("No web browser could be started; set BROWSER, or use --print.")
    return page
