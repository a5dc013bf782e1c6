"""``traycreds`` / ``traycreds tray``: one tray per user; a second start wakes the first."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from traycreds.core.errors import NotRunningError, TraycredsError

if TYPE_CHECKING:
    from traycreds.channel.endpoint import CredentialsEndpoint

log = logging.getLogger(__name__)


def _wake_running() -> int:
    from traycreds.channel import client

    try:
        client.request("wake", timeout=3.0)
    except NotRunningError:
        raise TraycredsError(
            "Another traycreds holds the per-user lock but does not answer. If it hangs, end "
            "it (Task Manager, or 'pkill -f traycreds') and start again.",
            title="traycreds is already starting") from None
    sys.stdout.write("traycreds is already running: it shows a notification; use its icon.\n")
    return 0


def run_tray() -> int:
    from traycreds.adapters import hardening, instance

    # Before any secret is in memory: no core file, and (Linux) no ptrace or /proc/PID/mem
    # reads by other processes of the user.
    hardening.harden_process()

    lock = instance.acquire()
    if lock is None:
        return _wake_running()
    from traycreds.app.service import AppService
    from traycreds.channel.server import ChannelServer
    from traycreds.tray.app import Notifications, TrayApp
    from traycreds.tray.dialogs import TkDialogs

    dialogs = TkDialogs()
    notifications = Notifications()
    service = AppService(dialogs, notifications)

    tray = TrayApp(service, notifications)

    def wake(args: dict[str, Any]) -> dict[str, Any]:
        notifications.notify("traycreds is running",
                             "Click its icon in the notification area to pick a role.")
        return {}

    def quit_tray(args: dict[str, Any]) -> dict[str, Any]:
        tray.quit()
        return {}

    from traycreds.channel.endpoint import channel_handlers
    from traycreds.channel.serving import handlers

    endpoint = _start_endpoint(service)
    if endpoint is not None:  # the menu's windows ask it
        service.windows.uri_of = endpoint.uri
    extra = {} if endpoint is None else channel_handlers(
        endpoint, service.role, service.tokens)
    server: ChannelServer | None = None
    try:
        server = ChannelServer({"wake": wake, "quit": quit_tray, **handlers(service), **extra})
        server.start()
    except TraycredsError as error:  # the tray still works without the channel
        log.warning("local channel not available: %s", error.message)
        server = None
        _notify_when_shown(service, notifications, error)
    try:
        tray.run()
    finally:
        if server is not None:
            server.stop()
        if endpoint is not None:
            endpoint.stop()
        dialogs.stop()
        service.shutdown()
        lock.release()
    return 0


def _start_endpoint(service: Any) -> CredentialsEndpoint | None:
    """The loopback endpoint windows and 'traycreds exec' children fetch credentials from;
    without it they get static credentials, so the tray starts anyway."""
    from traycreds.channel.endpoint import CredentialsEndpoint

    tokens = service.tokens
    endpoint = CredentialsEndpoint(
        lambda role: service.issue_for_caller(role).credentials, tokens)
    try:
        endpoint.start()
    except TraycredsError as error:
        log.warning("credentials endpoint not available: %s", error.message)
        return None
    return endpoint


def _notify_when_shown(service: Any, notifications: Any, error: TraycredsError) -> None:
    """Tell the user (not only the log) once the icon is up: the service's first state
    update comes after the icon shows (TrayApp._setup starts the service)."""
    pending = [error]

    def tell() -> None:
        try:
            told = pending.pop()  # atomic: a second update finds the list empty
        except IndexError:
            return
        notifications.notify(told.title, told.message)

    service.subscribe(tell)
