"""traycreds: switch AWS roles from the system tray."""

__version__ = "0.1.0"
