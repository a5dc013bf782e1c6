"""Which pystray backend the tray runs with: one rule for the tray and for 'doctor'."""

from __future__ import annotations

from collections.abc import Mapping


def traycreds_choice(platform: str) -> str | None:
    """traycreds' own pick where the user set none; None leaves it to pystray.

    On Linux pystray prefers appindicator when its typelib is installed, but that has no
    default (left-click) action and needs a StatusNotifier host; gtk docks in XEmbed trays,
    activates the default item on left click and sends real notifications.
    """
    return "gtk" if platform.startswith("linux") else None


def tray_backend(platform: str, env: Mapping[str, str]) -> tuple[str | None, str]:
    """(backend, who chose it): PYSTRAY_BACKEND, else traycreds' choice, else pystray's."""
    given = env.get("PYSTRAY_BACKEND")
    if given:
        return given, "PYSTRAY_BACKEND"
    chosen = traycreds_choice(platform)
    if chosen:
        return chosen, "traycreds' choice"
    return {"win32": "win32", "darwin": "darwin"}.get(platform), "pystray's choice"
