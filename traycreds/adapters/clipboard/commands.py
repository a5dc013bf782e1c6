"""Clipboards reached through command-line tools: xclip, xsel, wl-copy and pbcopy.

The text goes to the tool's stdin, never into its arguments. xclip, xsel and wl-copy fork a
child that keeps serving the selection after the command returns. That child inherits the
stdout and stderr we hand over, so reading them through pipes would wait until the child
exits (when someone else takes the clipboard: maybe never). stdout therefore goes to
/dev/null and stderr to an unlinked temporary file, read once the command has returned.
The forked child may take the selection a moment after the command exits (Xlib flushes its
request only then), so a copy is confirmed by reading the clipboard back.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from traycreds.adapters.clipboard.base import ClipboardError, fingerprint
from traycreds.adapters.logs import scrub


@dataclass(frozen=True)
class Tool:
    """How to drive one clipboard program. The first word of each command is a binary name."""

    name: str
    copy: tuple[str, ...]
    paste: tuple[str, ...]
    clear: tuple[str, ...] | None  # empties the clipboard; None: copy "" instead
    install: str  # what to tell the user to install
    serves: bool  # forks a child that serves the selection: confirm the copy by reading back
    empty: tuple[str, ...] = ()  # paste's stderr meaning "no text here", not a failure
    session: str = "DISPLAY"  # the variable naming the display the tool talks to
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def binaries(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(argv[0] for argv in (self.copy, self.paste, self.clear) if argv))


XCLIP = Tool(
    name="xclip",
    copy=("xclip", "-selection", "clipboard", "-i"),
    paste=("xclip", "-selection", "clipboard", "-o"),
    clear=None,
    install="install xclip (e.g. 'sudo apt install xclip')",
    serves=True,
    empty=("not available",),  # "Error: target STRING not available"
)
XSEL = Tool(
    name="xsel",
    copy=("xsel", "--clipboard", "--input"),
    paste=("xsel", "--clipboard", "--output"),
    clear=("xsel", "--clipboard", "--clear"),
    install="install xsel (e.g. 'sudo apt install xsel')",
    serves=True,
)
WL_COPY = Tool(
    name="wl-copy",
    copy=("wl-copy",),
    paste=("wl-paste", "--no-newline"),
    clear=("wl-copy", "--clear"),
    install="install wl-clipboard (e.g. 'sudo apt install wl-clipboard')",
    serves=True,
    empty=("Nothing is copied", "No selection", "No suitable type"),
    session="WAYLAND_DISPLAY",
)
PBCOPY = Tool(
    name="pbcopy",
    copy=("pbcopy",),
    paste=("pbpaste",),
    clear=None,
    install="pbcopy and pbpaste ship with macOS: make sure /usr/bin is on PATH",
    serves=False,
    # Without a UTF-8 locale (apps started by launchd have none) pbcopy mangles non-ASCII.
    extra_env={"LC_CTYPE": "UTF-8"},
)

TIMEOUT = 5.0  # seconds for one run of a tool
SETTLE = 2.0  # seconds a forked tool gets to take the selection after exiting
POLL = 0.02


class CommandClipboard:
    """A Clipboard driven through ``tool``; ``paths`` maps its binary names to full paths."""

    def __init__(
        self,
        tool: Tool,
        *,
        paths: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT,
        settle: float = SETTLE,
    ) -> None:
        self.name = tool.name
        self.tool = tool
        self._paths = dict(paths or {})
        self._env = env
        self.timeout = timeout
        self.settle = settle

    # -- the Clipboard protocol ------------------------------------------------------------

    def copy(self, text: str) -> None:
        if text == "" and self.tool.clear:
            self._run(self.tool.clear, "", "empty the clipboard")
        else:
            self._run(self.tool.copy, text, "copy")
        if self.tool.serves:
            self._confirm(text or None)

    def paste(self) -> str | None:
        return self._read()

    def state(self) -> object:
        text = self.paste()
        return None if text is None else fingerprint(text)

    # -- running the tool ------------------------------------------------------------------

    def _argv(self, command: tuple[str, ...]) -> list[str]:
        return [self._paths.get(command[0], command[0]), *command[1:]]

    def _child_env(self) -> dict[str, str] | None:
        if self._env is None and not self.tool.extra_env:
            return None
        base = os.environ if self._env is None else self._env
        return {**base, **self.tool.extra_env}

    def _session_hint(self) -> str:
        env = os.environ if self._env is None else self._env
        variable = self.tool.session
        value = env.get(variable)
        if self.tool.name == "pbcopy":
            return "Run it from a logged-in macOS session."
        if not value:
            return f"{variable} is not set: run traycreds inside your desktop session."
        return f"Check that the display {variable}={value} is reachable from here."

    def _start_failed(self, command: str, exc: OSError) -> ClipboardError:
        reason = exc.strerror or type(exc).__name__
        return ClipboardError(
            f"{self.tool.name} could not be started ({command}: {reason}). "
            f"To copy, {self.tool.install}, and make sure it is on PATH."
        )

    def _timed_out(self) -> ClipboardError:
        return ClipboardError(
            f"{self.tool.name} did not finish within {self.timeout:g} s: the display server "
            "or the program that owns the clipboard is not responding. Try again; if it keeps "
            "happening, restart your clipboard manager."
        )

    def _failed(self, action: str, returncode: int, stderr: bytes, secret: str) -> ClipboardError:
        said = scrub(" ".join(stderr.decode("utf-8", errors="replace").split()))[:200]
        if secret and (secret in said or said in secret):
            said = ""  # never let the copied text into a message
        return ClipboardError(
            f"{self.tool.name} could not {action} (exit status {returncode})"
            f"{': ' + said if said else ''}. {self._session_hint()}"
        )

    def _run(self, command: tuple[str, ...], text: str, action: str) -> None:
        argv = self._argv(command)
        with tempfile.TemporaryFile() as errors:
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    env=self._child_env(),
                )
            except OSError as exc:
                raise self._start_failed(command[0], exc) from None
            try:
                process.communicate(text.encode("utf-8"), timeout=self.timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise self._timed_out() from None
            except BrokenPipeError:
                process.wait()  # the tool quit before reading: its status says why
            if process.returncode != 0:
                errors.seek(0)
                raise self._failed(action, process.returncode, errors.read(4096), text)

    def _read(self) -> str | None:
        argv = self._argv(self.tool.paste)
        try:
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                env=self._child_env(),
                check=False,
            )
        except OSError as exc:
            raise self._start_failed(self.tool.paste[0], exc) from None
        except subprocess.TimeoutExpired:
            error = self._timed_out()
            error.title = "Cannot read the clipboard"
            raise error from None
        if result.returncode != 0:
            said = result.stderr.decode("utf-8", errors="replace")
            if any(marker in said for marker in self.tool.empty):
                return None
            error = self._failed("read the clipboard", result.returncode, result.stderr, "")
            error.title = "Cannot read the clipboard"
            raise error
        text = result.stdout.decode("utf-8", errors="replace")
        return text or None

    def _confirm(self, expected: str | None) -> None:
        deadline = time.monotonic() + self.settle
        while self._read() != expected:
            if time.monotonic() >= deadline:
                raise ClipboardError(
                    f"{self.tool.name} reported success, but after {self.settle:g} s the "
                    "clipboard still does not hold what was copied. Another program (a "
                    "clipboard manager?) may have replaced it: copy again."
                )
            time.sleep(POLL)
