"""The AWS console sign-in URL for a role's credentials, as pure data (no network).

AWS's custom identity broker flow: the role's temporary credentials go to the federation
endpoint's ``getSigninToken`` as a Session JSON; its SigninToken goes into a ``login`` URL.
That URL signs whoever opens it in, so it is a secret: callers never log it or put it on a
command line (adapters/console.py says how it reaches the browser on each OS).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

from traycreds.core.document import IssuedCredentials
from traycreds.core.errors import TraycredsError, UsageError

FEDERATION_URL = "https://signin.aws.amazon.com/federation"
DEFAULT_DESTINATION = "https://console.aws.amazon.com/"
ISSUER = "traycreds"
# SessionDuration for credentials from AssumeRole: "from 900 seconds (15 minutes) to 43200
# seconds (12 hours)", https://docs.aws.amazon.com/IAM/latest/UserGuide/
# id_roles_providers_enable-console-custom-url.html (checked 2026-12). Role chaining caps a
# session at one hour ("Role chaining limits your AWS CLI or AWS API role session to a maximum
# of one hour": AssumeRole's DurationSeconds in the STS API reference, and
# https://repost.aws/knowledge-center/iam-role-chaining-limit), so a chained role's console
# session asks for no more than 3600 either.
MIN_SESSION, MAX_SESSION, MAX_CHAINED_SESSION = 900, 43200, 3600
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


class ConsoleError(TraycredsError):
    title = "Cannot open the AWS console"


def session_duration(requested: int | None, *, chained: bool = False) -> int | None:
    """The SessionDuration to ask for, capped as AWS caps it. None leaves AWS's default,
    except for a chained role: it asks for the hour it may have rather than risk a default
    over it."""
    if chained:
        requested = MAX_CHAINED_SESSION if requested is None else requested
    if requested is None:
        return None
    top = MAX_CHAINED_SESSION if chained else MAX_SESSION
    return max(MIN_SESSION, min(requested, top))


def signin_token_query(issued: IssuedCredentials, duration: int | None = None) -> str:
    """The getSigninToken query string (it holds the secret key: send it, never log it)."""
    creds = issued.credentials
    if not creds.session_token:
        raise ConsoleError(
            "The console sign-in needs temporary credentials (a session token); these are a "
            "long-term access key, which AWS's federation endpoint does not accept. Use a "
            "role (AssumeRole) instead.")
    session = json.dumps({"sessionId": creds.access_key_id, "sessionKey":
                          creds.secret_access_key, "sessionToken": creds.session_token})
    query: dict[str, str] = {"Action": "getSigninToken", "Session": session}
    if duration is not None:
        query["SessionDuration"] = str(duration)
    return urlencode(query)


def destination(url: str | None, region: str | None) -> str:
    """Where the console opens: ``url`` (https only), else the region's console, else AWS's."""
    if region is not None and not _REGION.match(region):
        raise UsageError(f"{region!r} is not an AWS region name (like eu-west-1).")
    if url:
        if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
            raise UsageError("--destination must be an https:// URL.")
        return url
    if region:
        return f"https://{region}.console.aws.amazon.com/console/home?region={region}"
    return DEFAULT_DESTINATION


def parse_signin_token(status: int, body: bytes) -> str:
    """The SigninToken from the endpoint's answer, or an error that says what AWS refused."""
    if status in (400, 401, 403):
        raise ConsoleError(
            "AWS's federation endpoint refused these credentials. It accepts only role "
            "sessions (AssumeRole) and federated users, not GetSessionToken (MFA-only) "
            "sessions; sign in as a role. A role reached through another role (role "
            "chaining) also allows no --duration over 3600. The answer was HTTP "
            f"{status}.")
    if status != 200:
        raise ConsoleError(f"AWS's federation endpoint answered HTTP {status}; try again.")
    try:
        token = json.loads(body.decode("utf-8")).get("SigninToken")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise ConsoleError("AWS's federation endpoint gave an answer without a sign-in token.")
    return token


def login_url(federation_url: str, token: str, dest: str) -> str:
    """The sign-in URL: a secret until it is used (the token signs the opener in)."""
    return federation_url + "?" + urlencode(
        {"Action": "login", "Issuer": ISSUER, "Destination": dest, "SigninToken": token})
