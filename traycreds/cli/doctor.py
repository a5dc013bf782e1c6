"""``traycreds doctor``: what a support request needs, and nothing secret.

Versions, the keyring, tray and clipboard backends, where the files are, whether a tray runs,
start at login, and counts: roles, problems (where, never their text), stored keys. No key
id, secret, token or value from the AWS files or the environment is read into the report:
only names, paths and counts.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

from traycreds import __version__
from traycreds.adapters import paths
from traycreds.app.context import Context
from traycreds.core.errors import TraycredsError

Row = tuple[str, str]

# Distribution names whose versions matter in a bug report, in that order.
PACKAGES = ("boto3", "botocore", "keyring", "pystray", "Pillow", "platformdirs", "tomlkit")
LINUX_PACKAGES = ("PyGObject", "SecretStorage", "jeepney", "python-xlib")
# Environment variables whose values are safe to show (no credentials, no URLs).
SHOWN_VARIABLES = ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "PYSTRAY_BACKEND",
                   "PYTHON_KEYRING_BACKEND", "XDG_CURRENT_DESKTOP", "XDG_SESSION_TYPE")


def _guard(probe: Callable[[], str]) -> str:
    """A probe's answer, or what went wrong: one failing part must not hide the others."""
    try:
        return probe()
    except TraycredsError as error:
        return f"error: {error.title}: {error.message}"
    except Exception as exc:  # a broken backend is exactly what doctor should show
        from traycreds.adapters.logs import scrub

        return f"error: {type(exc).__name__}: {scrub(str(exc))[:300]}"


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _installation() -> str:
    if getattr(sys, "frozen", False):
        return f"{__version__} (bundle: {Path(sys.executable).parent})"
    where = Path(__file__).resolve().parent
    installed = _version("traycreds")
    note = "" if installed in (__version__, "not installed") else \
        f"; installed metadata says {installed}: reinstall"
    return f"{__version__} ({where}{note})"


def _python() -> str:
    return f"{platform.python_version()} ({platform.python_implementation()}, {sys.executable})"


def _platform() -> str:
    return f"{platform.platform()} ({sys.platform}, {platform.machine()})"


def _session() -> str:
    if sys.platform == "win32" or sys.platform == "darwin":
        return "-"
    parts = [f"{name}={os.environ.get(name) or '-'}"
             for name in ("XDG_CURRENT_DESKTOP", "XDG_SESSION_TYPE")]
    parts.append("DISPLAY set" if os.environ.get("DISPLAY") else "no DISPLAY")
    parts.append("WAYLAND_DISPLAY set" if os.environ.get("WAYLAND_DISPLAY") else "no Wayland")
    return ", ".join(parts)


def _keyring() -> str:
    from traycreds.adapters import keystore

    backend = keystore.default_backend()
    names = [f"{keystore.backend_name(b)} (priority {getattr(b, 'priority', '?')})"
             for b in keystore.effective_backends(backend)]
    found = ", ".join(names) or keystore.backend_name(backend)
    try:
        keystore.check_secure(backend)
    except TraycredsError:
        return f"{found}: refused, not a secure keyring"
    configured = " (set by PYTHON_KEYRING_BACKEND)" if os.environ.get(
        "PYTHON_KEYRING_BACKEND") else ""
    return found + configured


def _platform_tray_backend() -> tuple[str | None, str]:
    """PYSTRAY_BACKEND as the tray would run with it, and who chose it."""
    from traycreds.adapters.traybackend import tray_backend

    return tray_backend(sys.platform, os.environ)


def _tray_backend() -> str:
    backend, source = _platform_tray_backend()
    if backend is None:
        return f"automatic ({source})"
    problem = _tray_backend_problem(backend)
    return f"{backend} ({source}){': ' + problem if problem else ''}"


def _tray_backend_problem(backend: str) -> str | None:
    """Why pystray's ``backend`` cannot load here, without importing pystray (it would
    connect to the display and pick for itself)."""
    if backend in ("gtk", "appindicator"):
        if importlib.util.find_spec("gi") is None:
            return "PyGObject is not installed (install traycreds with the 'linux' extra)"
        import gi  # type: ignore[import-untyped, import-not-found, unused-ignore]

        needs = [("Gtk", "3.0")]
        if backend == "appindicator":
            needs.append(("AyatanaAppIndicator3", "0.1"))
        for namespace, version in needs:
            try:
                gi.require_version(namespace, version)
            except ValueError:
                return f"the {namespace} {version} typelib is missing"
    elif backend == "xorg" and importlib.util.find_spec("Xlib") is None:
        return "python-xlib is not installed"
    return None


def _tray_host() -> str:
    """Is anything there to show a tray icon? (Linux: an XEmbed tray on X11, or a
    StatusNotifier host on D-Bus.) GNOME Shell has neither without an extension."""
    if sys.platform in ("win32", "darwin"):
        return "built in"
    found = []
    if os.environ.get("DISPLAY"):
        found.append(_guard(_xembed_tray))
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        found.append(_guard(_status_notifier_host))
    return "; ".join(found) or "no display and no session bus"


def _xembed_tray() -> str:
    from traycreds.adapters.desktop import xembed_tray_present

    return "X11 system tray present" if xembed_tray_present() else "no X11 system tray"


def _status_notifier_host() -> str:
    from traycreds.adapters.desktop import status_notifier_present

    return ("StatusNotifier host present" if status_notifier_present()
            else "no StatusNotifier host")


def _clipboard() -> str:
    from traycreds.adapters.clipboard import ClipboardError, get_clipboard

    try:
        return get_clipboard().name
    except ClipboardError as error:
        return f"unavailable: {error.message}"


def _path(path: Path, variable: str | None = None) -> str:
    state = "exists" if path.exists() else "missing"
    override = f", from {variable}" if variable and os.environ.get(variable) else ""
    return f"{path} ({state}{override})"


def _runtime_dir() -> str:
    from traycreds.adapters.instance import runtime_dir

    return _path(runtime_dir(), "TRAYCREDS_RUNTIME_DIR")


def _tray_running() -> str:
    from traycreds.channel.client import is_running

    return "yes" if is_running(timeout=2.0) else "no"


def _autostart() -> str:
    from traycreds.adapters.autostart import for_platform

    return for_platform().status().describe()


def _roles(ctx: Context) -> str:
    catalog = ctx.catalog
    broken = sorted(catalog.broken)
    text = f"{len(catalog.roles)} usable"
    return text + (f", {len(broken)} misconfigured: {', '.join(broken)}" if broken else "")


def _problems(ctx: Context) -> str:
    """Where each problem is (file and line, the role's name): never its text, which may
    quote a value from the files."""
    problems = ctx.catalog.problems
    if not problems:
        return "none"
    places = []
    for problem in problems:
        where = f"{problem.path}, line {problem.line}" if problem.line else problem.path
        places.append(f"{where} ({problem.role})" if problem.role else where)
    return f"{len(problems)}: " + "; ".join(places) + " (details: traycreds config check)"


def _keys(ctx: Context) -> str:
    count = len(ctx.keys.index())  # the non-secret index file: the keyring is not opened
    return f"{count} stored"


def _identity_center(ctx: Context) -> str:
    """Each [sso-session]: signed in until when, or what to run. The cached token file is
    read, IAM Identity Center is not asked."""
    from traycreds.adapters import ssocache
    from traycreds.app.sso import target_for
    from traycreds.core.models import utc_now

    states = []
    for name in sorted(ctx.catalog.sessions):
        token = ssocache.load_token(target_for(ctx.catalog, name))
        if token is not None and token.expires_at > utc_now():
            states.append(f"{name}: signed in until {token.expires_at:%Y-%m-%d %H:%M} UTC")
        elif token is not None and token.refresh_token:
            states.append(f"{name}: expired, refreshed at the next use")
        else:
            states.append(f"{name}: not signed in (traycreds login {name})")
    return "; ".join(states) or "none"


def _variables() -> str:
    names = sorted(name for name in os.environ
                   if name.startswith(("AWS_", "TRAYCREDS_")) or name in SHOWN_VARIABLES)
    shown = [f"{name}={os.environ[name]}" if name in SHOWN_VARIABLES else name
             for name in names]
    return ", ".join(shown) or "none"


def report(ctx: Context | None = None) -> list[Row]:
    """Every line of the report as (label, value)."""
    ctx = ctx or Context()
    packages = PACKAGES + (LINUX_PACKAGES if sys.platform.startswith("linux") else ())
    rows: list[Row] = [
        ("traycreds", _guard(_installation)),
        ("Python", _python()),
        ("platform", _platform()),
    ]
    if sys.platform.startswith("linux"):
        rows.append(("desktop session", _session()))
    rows += [(name, _version(name)) for name in packages]
    rows += [
        ("keyring backend", _guard(_keyring)),
        ("tray backend", _guard(_tray_backend)),
        ("tray host", _guard(_tray_host)),
        ("clipboard", _guard(_clipboard)),
        ("AWS config", _guard(lambda: _path(paths.aws_config_file(), "AWS_CONFIG_FILE"))),
        ("AWS credentials", _guard(lambda: _path(paths.aws_credentials_file(),
                                                 "AWS_SHARED_CREDENTIALS_FILE"))),
        ("settings", _guard(lambda: _path(paths.settings_file(), "TRAYCREDS_SETTINGS"))),
        ("data folder", _guard(lambda: _path(paths.data_dir()))),
        ("log folder", _guard(lambda: _path(paths.log_dir()))),
        ("runtime folder", _guard(_runtime_dir)),
        ("tray running", _guard(_tray_running)),
        ("start at login", _guard(_autostart)),
        ("roles", _guard(lambda: _roles(ctx))),
        ("config problems", _guard(lambda: _problems(ctx))),
        ("access keys", _guard(lambda: _keys(ctx))),
        ("IAM Identity Center", _guard(lambda: _identity_center(ctx))),
        ("environment", _variables()),
    ]
    return rows


def render(rows: list[Row]) -> str:
    width = max(len(label) for label, _ in rows)
    lines = ["traycreds doctor: paste this into a bug report; it holds no keys or secrets.", ""]
    lines += [f"{label.ljust(width)}  {value}" for label, value in rows]
    return "\n".join(lines) + "\n"
