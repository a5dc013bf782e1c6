"""The console sign-in's outside world: the federation endpoint over HTTPS, and the browser.

The sign-in URL is a secret (it signs its opener in), so it never goes on a command line
where other users could read it (/proc/PID/cmdline on Linux, `ps` on macOS):
- Linux and other POSIX: ``webbrowser`` runs BROWSER or xdg-open with the URL as an
  argument, so it is given a file:// URL of a 0600 HTML file in a 0700 folder of ours that
  redirects to the sign-in URL; only this user can read the file. It is removed later.
- Windows: ``webbrowser`` hands the URL to ShellExecute (os.startfile) when BROWSER is unset.
  The browser it starts does get the URL in its command line, but on Windows a process's
  command line is readable only with the rights to open that process (its own user and
  administrators), unlike /proc on Linux. With BROWSER set it runs a command like on POSIX,
  so the file is used there too.
"""

from __future__ import annotations

import html
import os
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path
from urllib.parse import urlsplit

from traycreds.core.console import FEDERATION_URL, ConsoleError, parse_signin_token
from traycreds.core.errors import NetworkError

ENV_URL = "TRAYCREDS_FEDERATION_URL"
DEADLINE = 15.0  # seconds for the whole exchange
MAX_ANSWER = 16384  # a SigninToken is about a thousand characters
REMOVE_AFTER = 60.0  # seconds the browser has to read the redirect file (tray)
CLI_GRACE = 10.0  # the same before the console command returns


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
    folder = Path(tempfile.mkdtemp(prefix="traycreds-console-"))  # 0700, ours
    path = folder / "signin.html"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    target = html.escape(url, quote=True)
    with os.fdopen(fd, "w", encoding="utf-8") as page:
        page.write(f'<!doctype html><meta http-equiv="refresh" content="0;url={target}">'
                   f'<title>AWS console</title><a href="{target}">Open the AWS console</a>\n')
    return path


def remove_later(page: Path | None, *, wait: bool) -> None:
    """Remove the redirect file once the browser has read it: by a timer in a long-lived
    process (the tray), or after a shorter pause before a command returns."""
    if page is None:
        return
    if wait:
        threading.Event().wait(CLI_GRACE)
        remove(page)
        return
    timer = threading.Timer(REMOVE_AFTER, remove, (page,))
    timer.daemon = True
    timer.start()


def remove(path: Path) -> None:
    try:
        path.unlink()
        path.parent.rmdir()
    except OSError:
        pass


def open_in_browser(url: str) -> Path | None:
    """Open the sign-in URL; the redirect file used (None when Windows' shell took the URL)."""
    if sys.platform == "win32" and not os.environ.get("BROWSER"):
        opened, page = webbrowser.open(url, new=2), None
    else:
        page = _redirect_file(url)
        opened = webbrowser.open(page.as_uri(), new=2)
    if not opened:
        remove(page)
        raise ConsoleError("No web browser could be started; set BROWSER, or use --print.")
    return page
