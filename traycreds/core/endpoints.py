"""Which STS endpoint and region a call goes to, from AWS's standard settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from traycreds.core.models import Role

DEFAULT_REGION = "us-east-1"
GLOBAL_STS = "https://sts.amazonaws.com"


@dataclass(frozen=True)
class Endpoint:
    region: str
    url: str | None  # None: botocore's own resolution for the region


def sts_endpoint(role: Role | None, env: Mapping[str, str]) -> Endpoint:
    """botocore's precedence: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's endpoint_url.

    ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`` turns all three off. The legacy
    ``sts_regional_endpoints`` setting sends calls to the global endpoint.
    """
    region = (role.region if role else None) or env.get("AWS_REGION") \
        or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        for url in (env.get("AWS_ENDPOINT_URL_STS"), env.get("AWS_ENDPOINT_URL"),
                    role.endpoint_url if role else None):
            if url:
                return Endpoint(region, url)
    legacy = (role.sts_regional_endpoints if role else None) \
        or env.get("AWS_STS_REGIONAL_ENDPOINTS")
    if legacy == "legacy":
        return Endpoint(DEFAULT_REGION, GLOBAL_STS)
    return Endpoint(region, None)
