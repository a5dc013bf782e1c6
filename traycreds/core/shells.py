"""Temporary credentials as lines a shell can run, a .env file or credential_process JSON.

Every value is either carried byte-for-byte or the whole render is refused with an
``UnsafeValueError`` that names the variable and the shell, and never the value.
``render`` does not assume the values look like AWS keys: it is safe for any text.
"""

from __future__ import annotations

import re
import unicodedata

from traycreds.core.errors import UnsafeValueError, UsageError

# Not typing.TYPE_CHECKING, and models only for mypy: the fast path (cli/fast.py) renders with
# this module, and dataclasses' import costs it ~14 ms of a ~17 ms call.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime, timezone

    from traycreds.core.models import Credentials
else:
    try:  # the C module itself: datetime.py first builds its pure-Python twin (~1 ms a call)
        from _datetime import timezone
    except ImportError:  # pragma: no cover - an interpreter without the C module
        from datetime import timezone

# The one list of output formats: settings, the command line's help and the tray's menu
# read it. (name, title in messages, title in the tray's "Copy for ..." items or None).
_REGISTRY: tuple[tuple[str, str, str | None], ...] = (
    ("cmd", "cmd.exe", "cmd.exe"),
    ("powershell", "PowerShell", "PowerShell"),
    ("bash", "bash", "bash/zsh"),  # the same lines serve zsh: one menu item for both
    ("zsh", "zsh", None),
    ("fish", "fish", "fish"),
    ("dotenv", ".env file", None),
    ("json", "JSON (credential_process)", None),
)
SHELLS: tuple[str, ...] = tuple(name for name, _, _ in _REGISTRY)
SHELL_TITLES: dict[str, str] = {name: title for name, title, _ in _REGISTRY}
# The tray's "Copy for ..." items, in menu order.
MENU_SHELLS: tuple[tuple[str, str], ...] = tuple((name, menu) for name, _, menu in _REGISTRY
                                                 if menu is not None)


# The hand-over from the tray that is not a shell: written to a credentials profile. A role
# remembers its last hand-over: this or a shell's name (core/state.AppState.handovers).
WRITE = "write"


def default_shell(platform: str, configured: str | None = None) -> str:
    """The settings' default_shell, else what this platform's terminal runs."""
    return configured or ("cmd" if platform == "win32" else "bash")


_ALIASES: dict[str, str] = {
    "windows-cmd": "cmd",
    "bat": "cmd",
    "batch": "cmd",
    "pwsh": "powershell",
    "ps": "powershell",
    "ps1": "powershell",
    "sh": "bash",
    "env": "bash",
    "posix": "bash",
    "dash": "bash",
    "ksh": "bash",
    "ash": "bash",
    ".env": "dotenv",
    "env-file": "dotenv",
    "envfile": "dotenv",
    "docker": "dotenv",
    "process": "json",
    "credential_process": "json",
    "credential-process": "json",
}

# PowerShell treats all of these as single quotes: doubling one yields it once.
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"

_POSIX: tuple[str, Callable[[str], str]] = (
    "export {name}='{value}'",
    lambda v: v.replace("'", "'\\''"),
)
_FORMATS: dict[str, tuple[str, Callable[[str], str]]] = {
    "cmd": ('set "{name}={value}"', lambda v: v),
    "powershell": (
        "$env:{name} = '{value}'",
        lambda v: "".join(c * 2 if c in _PS_QUOTES else c for c in v),
    ),
    "bash": _POSIX,
    "zsh": _POSIX,
    "fish": ("set -gx {name} '{value}'", lambda v: v.replace("\\", "\\\\").replace("'", "\\'")),
    "dotenv": ("{name}={value}", lambda v: v),
}

_DOTENV_SPECIAL = frozenset("'\"`#$\\")


def _dotenv_needs_quoting(value: str) -> bool:
    return any(
        c.isspace() or c in _DOTENV_SPECIAL or unicodedata.category(c) == "Cc" for c in value
    )


# Per shell: (value cannot be carried, what it contains, what to do instead).
_REFUSALS: dict[str, tuple[Callable[[str], bool], str, str]] = {
    "cmd": (
        lambda v: any(c in '%!"' for c in v),
        'a %, ! or " character, which cmd.exe cannot carry literally at a prompt',
        "Choose PowerShell output instead.",
    ),
    "dotenv": (
        _dotenv_needs_quoting,
        "whitespace, a control character, a quote, #, $, a backslash or a backtick, "
        "which a .env file cannot carry unquoted",
        "Choose bash, PowerShell or JSON output instead.",
    ),
}


def _never_carried(value: str) -> bool:
    """A line break, a NUL or a surrogate code point (U+D800-U+DFFF): what no format can
    carry. The same test as the class [\\r\\n\\x00\\ud800-\\udfff] without compiling it,
    which cost the fast path about half a millisecond: strict UTF-8 refuses exactly the
    surrogates."""
    if "\r" in value or "\n" in value or "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_BASE64ISH = re.compile(r"[A-Za-z0-9+/=]+")


def normalize_shell(name: str) -> str:
    """Return the canonical shell name for ``name`` (case-insensitive; aliases, paths, .exe)."""
    key = name.strip().lower().replace("\\", "/").rsplit("/", 1)[-1]
    key = key.removesuffix(".exe")
    if key in SHELLS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    for canonical, title in SHELL_TITLES.items():
        if key == title.lower():
            return canonical
    raise UsageError(
        f"Unknown shell {name.strip()!r}. Choose one of: {', '.join(SHELLS)} "
        "(aliases: pwsh, sh, windows-cmd, env, process)."
    )


def format_expiration(dt: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` and whole seconds, e.g. ``2026-11-28T14:32:00Z``."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("expiration must be a timezone-aware datetime")
    u = dt.astimezone(timezone.utc)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def environment(creds: Credentials, region: str | None = None) -> list[tuple[str, str]]:
    """The environment variables for ``creds``, in the order they are written."""
    env = [
        ("AWS_ACCESS_KEY_ID", creds.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key),
    ]
    if creds.session_token:
        env.append(("AWS_SESSION_TOKEN", creds.session_token))
    if creds.expiration is not None:
        env.append(("AWS_CREDENTIAL_EXPIRATION", format_expiration(creds.expiration)))
    if region:
        env += [("AWS_REGION", region), ("AWS_DEFAULT_REGION", region)]
    return env


def credentials_fields(creds: Credentials, token_name: str = "SessionToken") -> dict[str, str]:
    """The fields every AWS credentials document shares, in AWS's order: AccessKeyId,
    SecretAccessKey, the session token under ``token_name`` (the container provider calls it
    Token) and the Expiration in RFC 3339, the last two when there are any."""
    fields = {"AccessKeyId": creds.access_key_id, "SecretAccessKey": creds.secret_access_key}
    if creds.session_token:
        fields[token_name] = creds.session_token
    if creds.expiration is not None:
        fields["Expiration"] = format_expiration(creds.expiration)
    return fields


def credential_process_json(creds: Credentials) -> str:
    """The JSON an AWS ``credential_process`` prints (``Version`` 1), with a final newline."""
    import json  # here: the fast path's 'export' renders shell lines, never this

    return json.dumps({"Version": 1, **credentials_fields(creds)}, indent=2) + "\n"


def _refuse(name: str, shell: str, problem: str, advice: str) -> UnsafeValueError:
    return UnsafeValueError(
        f"{name} contains {problem}, so no {SHELL_TITLES[shell]} output was produced. {advice}"
    )


def render(shell: str, creds: Credentials, region: str | None = None) -> str:
    """Lines for ``shell`` (a name from SHELLS or an alias) setting the credentials.

    One line per variable, each ending in ``\\n``. Raises UnsafeValueError rather than
    write a value the shell would not read back exactly.
    """
    shell = normalize_shell(shell)
    env = environment(creds, region)
    refusal = _REFUSALS.get(shell)
    for name, value in env:
        if _never_carried(value):
            raise _refuse(
                name,
                shell,
                "a line break, a NUL or an unpaired surrogate character",
                "No output format can carry it safely; it is not a valid AWS value, "
                "so check where the credentials came from.",
            )
        if refusal is not None and refusal[0](value):
            raise _refuse(name, shell, refusal[1], refusal[2])
    if shell == "json":
        return credential_process_json(creds)
    template, escape = _FORMATS[shell]
    return "".join(template.format(name=n, value=escape(v)) + "\n" for n, v in env)


def check_shapes(creds: Credentials) -> None:
    """Raise UnsafeValueError unless the values look like AWS keys (called on STS answers)."""
    checks = [
        ("AWS_ACCESS_KEY_ID", creds.access_key_id, _KEY_ID, "16-128 capital letters and digits"),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key, _BASE64ISH, "base64 characters"),
    ]
    if creds.session_token:
        checks.append(("AWS_SESSION_TOKEN", creds.session_token, _BASE64ISH, "base64 characters"))
    for name, value, shape, expected in checks:
        if not shape.fullmatch(value):
            raise UnsafeValueError(
                f"The {name} that AWS returned is not {expected}, so traycreds will not "
                "pass it on. Try again; if it persists, check the STS endpoint in use."
            )
