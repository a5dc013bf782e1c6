"""STS's Query calls made from botocore's parts, without a boto3 session or a botocore client.

A botocore client costs a cold ``traycreds export`` about a third of its time: importing
boto3 and botocore's session, client and handler modules, then building the client
(``_retry.json``, the defaults, a class per service, event handlers). traycreds makes three
STS calls, so it takes only the parts a client would use for them, each the same object
the client would use: the service model (validation, serialization, parsing), the endpoint
ruleset with its partitions, SigV4 signing, the standard retry policy and the urllib3 HTTP
session with the client's settings (proxies from the environment, AWS_CA_BUNDLE, timeouts).
What the client would read from the shared AWS files is read from the environment only, as
``sts.boto_session()`` arranges for boto3 (it points botocore at empty files).

botocore is imported with this module: import it where the call is made, not at start.
"""

from __future__ import annotations

import os
import socket
import uuid
from types import SimpleNamespace
from typing import Any, NamedTuple

import botocore
from botocore import exceptions as bx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, create_request_object, prepare_request_dict
from botocore.config import Config
from botocore.endpoint_provider import EndpointProvider
from botocore.httpsession import URLLib3Session
from botocore.loaders import Loader, create_loader
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import QueryParser
from botocore.retries.standard import RetryHandler, register_retry_handler
from botocore.serialize import create_serializer
from botocore.useragent import UserAgentString
from botocore.utils import (
    ensure_boolean,
    get_environ_proxies,
    is_valid_endpoint_url,
    is_valid_ipv6_endpoint_url,
    validate_region_name,
)

from traycreds.core.endpoints import Endpoint

MAX_ATTEMPTS = 4  # the first try included (botocore's standard mode, total_max_attempts)
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
OPERATIONS = {"assume_role": "AssumeRole", "get_session_token": "GetSessionToken",
              "get_caller_identity": "GetCallerIdentity"}

# botocore.args.LEGACY_GLOBAL_STS_REGIONS (that module imports the whole client machinery;
# a test checks the two lists agree): with sts_regional_endpoints = legacy, these regions
# use the global endpoint.
LEGACY_GLOBAL_STS_REGIONS = frozenset((
    "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global",
    "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"))


class Keys(NamedTuple):
    """What SigV4Auth reads from botocore's credentials objects."""

    access_key: str
    secret_key: str
    token: str | None


class Target(NamedTuple):
    """Where one operation goes: the URL and the region its signature names."""

    url: str
    signing_region: str


def _env_flag(name: str) -> bool:
    value = os.environ.get(name)
    return bool(value is not None and ensure_boolean(value))


def _global_endpoint(region: str) -> bool:
    """botocore's AWS::STS::UseGlobalEndpoint: the legacy setting, from the environment."""
    setting = os.environ.get("AWS_STS_REGIONAL_ENDPOINTS") or "regional"
    if setting not in ("legacy", "regional"):
        raise bx.InvalidSTSRegionalEndpointsConfigError(sts_regional_endpoints_config=setting)
    return setting == "legacy" and region in LEGACY_GLOBAL_STS_REGIONS


def _verify() -> bool | str:
    """The client's TLS verification: AWS_CA_BUNDLE, else REQUESTS_CA_BUNDLE, else certifi."""
    configured = os.environ.get("AWS_CA_BUNDLE")  # botocore's ca_bundle: set, even if empty
    if configured is None:
        configured = os.environ.get("REQUESTS_CA_BUNDLE")
    value: bool | str = True if configured is None else configured
    if isinstance(value, str) and not value.strip():
        raise bx.InvalidConfigError(error_msg=(
            "Invalid CA bundle: the configured value (ca_bundle, AWS_CA_BUNDLE, "
            "REQUESTS_CA_BUNDLE, or verify) resolved to an empty or whitespace-only string. "
            "Provide a valid path to a CA bundle file."))
    return value


def _load_sts(loader: Loader, type_name: str) -> dict[str, Any]:
    """``loader.load_service_model("sts", type_name)`` without its first step, a listing of
    every service's folder (about 900 listdir and 2,700 stat calls, 15-35 ms) only to check
    that sts is among them: the version lookup below fails as surely when it is not."""
    version = loader.determine_latest_version("sts", type_name)
    model: dict[str, Any] = loader.load_data(os.path.join("sts", version, type_name))
    extras = loader._find_extras("sts", type_name, version)  # what load_service_model adds
    loader._extras_processor.process(model, extras)
    return model


class Service:
    """STS's model, endpoint rules and codecs: loaded once, shared by every call."""

    def __init__(self) -> None:
        loader = create_loader(os.environ.get("AWS_DATA_PATH"))
        self.model = ServiceModel(_load_sts(loader, "service-2"), "sts")
        self._endpoints = EndpointProvider(_load_sts(loader, "endpoint-rule-set-1"),
                                           loader.load_data("partitions"))
        self._serializer = create_serializer(self.model.protocol, include_validation=True)
        self.parser = QueryParser()
        self.config = Config(retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                             connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT,
                             user_agent_appid="traycreds")
        self._user_agent = UserAgentString.from_environment().set_session_config(
            "Botocore", botocore.__version__, None).with_client_config(self.config)

    def operation(self, name: str) -> OperationModel:
        return self.model.operation_model(OPERATIONS[name])

    def target(self, endpoint: Endpoint) -> Target:
        """The endpoint ruleset's answer, given the inputs a client would give it."""
        validate_region_name(endpoint.region)
        custom = endpoint.url
        resolved = self._endpoints.resolve_endpoint(
            Region=endpoint.region, Endpoint=custom,
            UseFIPS=custom is None and _env_flag("AWS_USE_FIPS_ENDPOINT"),
            UseDualStack=custom is None and _env_flag("AWS_USE_DUALSTACK_ENDPOINT"),
            UseGlobalEndpoint=_global_endpoint(endpoint.region))
        region = endpoint.region
        for scheme in resolved.properties.get("authSchemes") or ():
            if str(scheme.get("name", "")).startswith("sigv4"):
                region = scheme.get("signingRegion") or region
                break
        url = str(resolved.url)
        if not is_valid_endpoint_url(url) and not is_valid_ipv6_endpoint_url(url):
            raise ValueError(f"Invalid endpoint: {url}")  # as botocore's EndpointCreator
        return Target(url, str(region))

    def request_dict(self, operation: OperationModel, params: dict[str, Any],
                     target: Target) -> dict[str, Any]:
        """Validated and serialized once per operation; each attempt signs it anew."""
        request = self._serializer.serialize_to_request(params, operation)
        request.pop("host_prefix", None)
        context = {"client_config": self.config, "retries": {
            "invocation-id": str(uuid.uuid4()), "max": MAX_ATTEMPTS}}
        prepare_request_dict(request, endpoint_url=target.url, context=context,
                             user_agent=self._user_agent.to_string())
        prepared: dict[str, Any] = request
        return prepared

    @staticmethod
    def signed(request_dict: dict[str, Any], attempt: int, keys: Keys,
               target: Target) -> AWSPreparedRequest:
        request = create_request_object(request_dict)
        retries = request.context["retries"]
        retries["attempt"] = attempt
        request.headers["amz-sdk-invocation-id"] = retries["invocation-id"]
        request.headers["amz-sdk-request"] = f"attempt={attempt}; max={MAX_ATTEMPTS}"
        SigV4Auth(keys, "sts", target.signing_region).add_auth(request)
        for key, value in request.headers.items():  # as botocore's endpoint sends them
            if isinstance(value, str):
                request.headers[key] = value.encode("utf-8")
        prepared: AWSPreparedRequest = request.prepare()
        return prepared

    @staticmethod
    def http_session(target: Target) -> URLLib3Session:
        """The HTTP session a client would make for this endpoint."""
        return URLLib3Session(
            verify=_verify(), proxies=get_environ_proxies(target.url),
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])

    def retry_handler(self) -> RetryHandler:
        """The handler botocore's standard mode registers on a client (4 attempts, backoff,
        retry quota), made by botocore's own function so it matches the installed version;
        a fresh one per operation, as traycreds made a client per operation."""
        hooks = SimpleNamespace(register=lambda *_, **__: None)  # the client's hooks: unused
        client = SimpleNamespace(meta=SimpleNamespace(service_model=self.model, events=hooks))
        handler: RetryHandler = register_retry_handler(client, max_attempts=MAX_ATTEMPTS)
        return handler
