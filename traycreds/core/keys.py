"""Checks on long-term access keys typed or pasted by a person."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from traycreds.core.errors import UsageError

_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_SECRET = re.compile(r"^[A-Za-z0-9+/=]{16,128}$")
_SOURCE = re.compile(r"^[\w.@+=,-]{1,64}$")


def check_source_name(name: str) -> str:
    if not _SOURCE.match(name):
        # The name is not repeated: a secret pasted into the wrong field must not echo.
        raise UsageError("A key name is 1-64 letters, digits and ._-@+=, (it is what roles "
                         "name as source_profile).")
    return name


def check_key_pair(key_id: str, secret: str) -> tuple[str, str]:
    """Strip what a paste adds and refuse what is not an access key pair (never echo it)."""
    key_id, secret = key_id.strip(), secret.strip()
    if not _KEY_ID.match(key_id):
        raise UsageError("The access key id should be 16-128 capital letters and digits, "
                         "like the 20-character id IAM shows (starting AKIA). Copy it again.")
    if key_id.startswith("ASIA"):
        raise UsageError("That is a temporary key id (ASIA...): it expires, so it cannot be "
                         "stored. Create a long-term access key (AKIA...) in IAM.")
    if not _SECRET.match(secret):
        raise UsageError("The secret access key should be about 40 characters of letters, "
                         "digits, + and /. Copy it again (it is shown only when the key is made).")
    return key_id, secret


@dataclass(frozen=True)
class NewKey:
    """What the person typed into 'Add access key...' (shapes already checked)."""

    source: str
    key_id: str
    secret: str = field(repr=False)
    # False: "Save without checking" (STS could not be reached; the CLI's --no-verify).
    verify: bool = True
