"""The tray front end as the command line sees it (cli/common.TrayFront).

The console script hands this to the command line, which never imports tray/: 'traycreds
tray', the demo and 'traycreds install-desktop-entry' reach pystray and Pillow through it.
"""

from __future__ import annotations

import io
from pathlib import Path


class TrayFront:
    def run(self) -> int:
        from traycreds.tray.main import run_tray

        return run_tray()

    def write_icon_png(self, path: Path) -> None:
        from traycreds.adapters.atomic import write_atomic
        from traycreds.core.state import Status
        from traycreds.tray.icon import draw_icon

        buffer = io.BytesIO()
        draw_icon(Status.FRESH, 256).save(buffer, format="PNG")
        write_atomic(path, buffer.getvalue(), mode=0o644)
