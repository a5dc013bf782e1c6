"""Logging with secrets scrubbed: a rotating file in the user's log folder.

Redaction is defence in depth: traycreds never logs credentials on purpose,
and the filter masks anything shaped like a secret key or session token.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

_SECRETISH = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def scrub(text: str) -> str:
    return _SECRETISH.sub("<redacted>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = scrub(message), None
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup(log_dir: Path | None, *, debug: bool = False, stderr: bool = False) -> None:
    """Log to ``log_dir/traycreds.log`` (rotated) and optionally to stderr."""
    root = logging.getLogger("traycreds")
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handlers: list[logging.Handler] = []
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.handlers.RotatingFileHandler(
                log_dir / "traycreds.log", maxBytes=512 * 1024, backupCount=3, encoding="utf-8"))
        except OSError:
            pass  # an unwritable log folder must not stop the app
    if stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    # botocore at DEBUG prints response bodies with secrets (botocore #2626): never.
    for name in ("botocore", "boto3", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
