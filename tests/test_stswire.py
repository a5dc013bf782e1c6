"""STS calls made from botocore's parts go where, and say what, a botocore client would.

traycreds no longer builds a boto3 client for STS (issue 14, item 6: a third of a cold
``export``). These tests hold the parts it uses (stswire.py) to a real botocore client made
the way traycreds made it before: the same URL and signing region for every region and
endpoint setting, the same request body, and the same legacy-region list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from traycreds.adapters import stswire
from traycreds.adapters.sts import boto_session
from traycreds.core.endpoints import Endpoint

KEYS = stswire.Keys("AKID" + "Q" * 16, "s" * 40, None)
ANSWER = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
          b"<GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/x</Arn>"
          b"<UserId>AIDAX</UserId><Account>111122223333</Account></GetCallerIdentityResult>"
          b"</GetCallerIdentityResponse>")
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/sts/aws4_request")
ENV = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_STS_REGIONAL_ENDPOINTS",
       "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_PROFILE", "AWS_CONFIG_FILE")


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def botocore_client_sends(endpoint: Endpoint) -> tuple[str, str, dict[str, str]]:
    """(url, signing region, form fields) of a botocore client's GetCallerIdentity."""
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    client = boto_session().client(
        "sts", region_name=endpoint.region, endpoint_url=endpoint.url,
        aws_access_key_id=KEYS.access_key, aws_secret_access_key=KEYS.secret_key,
        config=Config(retries={"mode": "standard", "total_max_attempts": 4}))
    seen: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> Any:
        seen["request"] = request
        return AWSResponse(request.url, 200, {}, _Body(ANSWER))

    client.meta.events.register_first("before-send.sts", capture)
    client.get_caller_identity()
    request = seen["request"]
    return request.url, _scope(request.headers), _form(request.body)


def _scope(headers: Any) -> str:
    match = SCOPE.search(str(headers["Authorization"], "ascii") if isinstance(
        headers["Authorization"], bytes) else headers["Authorization"])
    assert match
    return match.group(1)


def _form(body: Any) -> dict[str, str]:
    from urllib.parse import parse_qsl

    text = body.decode() if isinstance(body, bytes) else str(body)
    return dict(parse_qsl(text))


def wire_sends(endpoint: Endpoint) -> tuple[str, str, dict[str, str]]:
    service = stswire.Service()
    target = service.target(endpoint)
    operation = service.operation("get_caller_identity")
    request = service.signed(service.request_dict(operation, {}, target), 1, KEYS, target)
    return request.url, _scope(request.headers), _form(request.body)


CASES = {
    "regional": ({}, Endpoint("eu-west-1", None)),
    "china": ({}, Endpoint("cn-north-1", None)),
    "govcloud": ({}, Endpoint("us-gov-west-1", None)),
    "aws-global": ({}, Endpoint("aws-global", None)),
    "fips": ({"AWS_USE_FIPS_ENDPOINT": "true"}, Endpoint("us-east-2", None)),
    "dual-stack": ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, Endpoint("ap-south-1", None)),
    "fips and dual-stack": ({"AWS_USE_FIPS_ENDPOINT": "TRUE",
                             "AWS_USE_DUALSTACK_ENDPOINT": "true"}, Endpoint("us-west-2", None)),
    "legacy, global region": ({"AWS_STS_REGIONAL_ENDPOINTS": "legacy"},
                              Endpoint("eu-west-1", None)),
    "legacy, newer region": ({"AWS_STS_REGIONAL_ENDPOINTS": "legacy"},
                             Endpoint("af-south-1", None)),
    "custom endpoint": ({}, Endpoint("eu-central-1", "http://127.0.0.1:9/sts")),
    "custom endpoint, FIPS set": ({"AWS_USE_FIPS_ENDPOINT": "true"},
                                  Endpoint("eu-central-1", "https://sts.example.test")),
}


@pytest.mark.parametrize(("env", "endpoint"), CASES.values(), ids=CASES.keys())
def test_the_request_is_the_one_a_botocore_client_sends(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], endpoint: Endpoint) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert wire_sends(endpoint) == botocore_client_sends(endpoint)


@pytest.mark.parametrize(("env", "endpoint", "error"), [
    ({"AWS_STS_REGIONAL_ENDPOINTS": "sometimes"}, Endpoint("eu-west-1", None),
     "InvalidSTSRegionalEndpointsConfigError"),
    ({}, Endpoint("not a region", None), "InvalidRegionError"),
    ({}, Endpoint("eu-west-1", "sts.example.test"), "ValueError"),
])
def test_a_setting_botocore_refuses_is_refused_alike(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], endpoint: Endpoint,
        error: str) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exception) as ours:
        wire_sends(endpoint)
    with pytest.raises(Exception) as theirs:
        botocore_client_sends(endpoint)
    assert type(ours.value).__name__ == type(theirs.value).__name__ == error


@pytest.mark.parametrize("type_name", ["service-2", "endpoint-rule-set-1"])
def test_the_models_are_the_ones_botocores_loader_gives(type_name: str) -> None:
    from botocore.loaders import Loader

    assert stswire._load_sts(Loader(), type_name) == \
        Loader().load_service_model("sts", type_name)


def test_the_legacy_global_regions_are_botocores() -> None:
    from botocore.args import LEGACY_GLOBAL_STS_REGIONS

    assert frozenset(LEGACY_GLOBAL_STS_REGIONS) == stswire.LEGACY_GLOBAL_STS_REGIONS


def test_no_boto3_and_no_botocore_client_for_sts() -> None:
    """The point of stswire: an STS call loads neither boto3 nor botocore's client."""
    import subprocess
    import sys

    code = ("import sys; from traycreds.adapters import stswire; stswire.Service(); "
            "print(sorted(m for m in ('boto3', 'botocore.client', 'botocore.session') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"
