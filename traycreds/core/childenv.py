"""The environment a role's child process gets (``traycreds exec``, the tray's windows).

Pure: the parent's environment in, the child's out. With the tray's endpoint the child
gets its URI and a token, and every SDK in it fetches fresh credentials there; without one,
static variables with ``AWS_CREDENTIAL_EXPIRATION``. Either way whatever the parent held
that the SDKs would take first (static keys, a profile, a web identity, another window's
endpoint) is removed: botocore's chain asks the environment before the container provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from traycreds.core.document import IssuedCredentials
from traycreds.core.shells import environment

# Everything in the parent that would answer for credentials before, or instead of, ours.
INHERITED_SOURCES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "TRAYCREDS_ROLE",
)  # The parent's region stays unless the role names its own.


class Endpoint(NamedTuple):
    """What the tray hands out for one window or child: where to ask, and the token."""

    uri: str
    token: str
    region: str | None


def _cleaned(parent: Mapping[str, str], role: str) -> dict[str, str]:
    # Windows names are case-insensitive: compare upper-cased, so "aws_profile" goes too.
    dropped = set(INHERITED_SOURCES)
    child = {name: value for name, value in parent.items() if name.upper() not in dropped}
    child["TRAYCREDS_ROLE"] = role
    return child


def with_endpoint(parent: Mapping[str, str], role: str, endpoint: Endpoint) -> dict[str, str]:
    child = _cleaned(parent, role)
    child["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = endpoint.uri
    child["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = endpoint.token
    if endpoint.region:
        child["AWS_REGION"] = child["AWS_DEFAULT_REGION"] = endpoint.region
    return child


def with_static(parent: Mapping[str, str], role: str,
                issued: IssuedCredentials) -> dict[str, str]:
    """Static variables, for a child without a tray: they end at AWS_CREDENTIAL_EXPIRATION."""
    child = _cleaned(parent, role)
    child.update(environment(issued.credentials, issued.region))
    return child
