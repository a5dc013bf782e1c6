"""One STS operation with an overall deadline and a bounded answer.

botocore's read_timeout applies to each socket read, so a server that trickles a byte
every few seconds holds a call forever. Here each operation (its retries included) runs
on a thread of its own: the caller stops waiting at the deadline, and the connections the
operation opened are shut down then, so the abandoned thread ends soon after instead of
living on; no retry starts past the deadline. The operation is made of botocore's parts
(stswire.py), as a botocore client would make it: its attempts loop under botocore's
standard retry policy, and answers are read through botocore's own HTTP session (proxies,
AWS_CA_BUNDLE and endpoint settings keep working), at most the call's limit of them
(sts.MAX_STS_RESPONSE): STS answers are a few KiB.

botocore is imported with this module: import it where the call is made, not at start.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from botocore import exceptions as bx
from botocore.awsrequest import (
    AWSHTTPConnection,
    AWSHTTPConnectionPool,
    AWSHTTPSConnection,
    AWSHTTPSConnectionPool,
    AWSResponse,
)
from botocore.parsers import ResponseParserError
from urllib3.exceptions import ProtocolError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeout

from traycreds.adapters import stswire
from traycreds.core.endpoints import Endpoint

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_THREAD_NAME = "traycreds-sts"
_local = threading.local()  # the Call of the operation running on this (worker) thread


class DeadlineExceeded(Exception):
    """The operation's deadline passed; raised to the caller and in the abandoned thread."""


class BadAnswer(Exception):
    """The endpoint answered, but not with something STS would send."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Call:
    """One logical STS operation: its deadline and the connections it opened."""

    def __init__(self, seconds: float, limit: int) -> None:
        self.seconds = seconds
        self.limit = limit  # the most of an answer read, in bytes
        self.url: str | None = None  # the endpoint botocore's rules resolved, once they have
        self.answered = False  # this attempt got an HTTP answer: a failure now is its content
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._connections: list[Any] = []
        self._expired = False

    def remaining(self) -> float:
        return self._end - time.monotonic()

    @property
    def expired(self) -> bool:
        with self._lock:
            return self._expired

    def check(self) -> None:
        """Refuse to start an attempt past the deadline."""
        if self.expired or self.remaining() <= 0:
            raise DeadlineExceeded

    def track(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)

    def expire(self) -> None:
        """Shut the operation's connections: a read blocked on them returns at once."""
        with self._lock:
            self._expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return  # not connected yet: connect() checks the deadline when it returns
    # socket.socket's own shutdown, also for an SSLSocket: it must not touch the TLS state
    # another thread is using, only wake that thread's blocked read. OSError: already closed.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _connect_tracked(connection: Any, connect: Callable[[], None]) -> None:
    call: Call | None = getattr(_local, "call", None)
    if call is not None:
        call.track(connection)
    connect()
    if call is not None and call.expired:
        _shut(connection)  # expired while connecting: end here, not at the first read


class _HTTPConnection(AWSHTTPConnection):  # type: ignore[misc]
    def connect(self) -> None:
        _connect_tracked(self, super().connect)


class _HTTPSConnection(AWSHTTPSConnection):  # type: ignore[misc]
    def connect(self) -> None:
        _connect_tracked(self, super().connect)


class _HTTPPool(AWSHTTPConnectionPool):  # type: ignore[misc]
    ConnectionCls = _HTTPConnection


class _HTTPSPool(AWSHTTPSConnectionPool):  # type: ignore[misc]
    ConnectionCls = _HTTPSConnection


class _Buffered:
    """The raw body botocore reads from once we have read (a bounded part of) the answer."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _declared_length(headers: Any) -> int | None:
    value = str(headers.get("content-length") or "").strip()
    return int(value) if value.isdigit() else None


def _read_bounded(response: Any, request: Any, limit: int) -> bytes:
    raw, declared = response.raw, _declared_length(response.headers)
    if declared is not None and declared > limit:
        raw.close()  # without reading it
        raise BadAnswer(f"with more than {limit // 1024} KiB")
    parts: list[bytes] = []
    total = 0
    try:
        while chunk := raw.read(_CHUNK):
            total += len(chunk)
            if total > limit:
                raw.close()
                raise BadAnswer(f"with more than {limit // 1024} KiB")
            parts.append(chunk)
    except Urllib3ReadTimeout as exc:  # as botocore's own send() maps them: retried
        raise bx.ReadTimeoutError(endpoint_url=request.url, error=exc) from None
    except (ProtocolError, OSError) as exc:
        raise bx.ConnectionClosedError(error=exc, request=request,
                                       endpoint_url=request.url) from None
    if declared is not None and total < declared:
        raise bx.ConnectionClosedError(error=f"{total} of {declared} bytes", request=request,
                                       endpoint_url=request.url)
    raw.release_conn()
    return b"".join(parts)


def _send(call: Call, http_session: Any, request: Any) -> Any:
    """One attempt through botocore's HTTP session, its answer read here, bounded."""
    call.answered = False
    call.check()
    context = getattr(request, "context", None)  # a prepared request's, in newer botocore
    if isinstance(context, dict):
        # No single read may outlast the deadline either (botocore's per-request override),
        # so the thread ends on time even where connections were not tracked.
        context["read_timeout"] = max(0.1, min(stswire.READ_TIMEOUT, call.remaining()))
    request.stream_output = True  # headers only: the body is read here, bounded
    response = http_session.send(request)
    body = _read_bounded(response, request, call.limit)
    call.answered = True
    return AWSResponse(request.url, response.status_code, response.headers, _Buffered(body))


def _parse(service: stswire.Service, operation: Any, http_response: Any) -> dict[str, Any]:
    """botocore's endpoint's parse: the output shape, then a modeled error's own fields."""
    answer = {"headers": http_response.headers, "status_code": http_response.status_code,
              "context": {"operation_name": operation.name}, "body": http_response.content}
    parsed: dict[str, Any] = service.parser.parse(answer, operation.output_shape)
    code = parsed.get("Error", {}).get("Code") if http_response.status_code >= 300 else None
    shape = service.model.shape_for_error_code(code) if code is not None else None
    if shape is not None:
        parsed.update(service.parser.parse(answer, shape))
    return parsed


Outcome = tuple[tuple[Any, dict[str, Any]] | None, Exception | None]


def _attempt(call: Call, service: stswire.Service, operation: Any, request: Any,
             http_session: Any) -> Outcome:
    """(http response, parsed answer) or the exception, as botocore's endpoint returns them
    to its retry policy; an answer that is not STS's raises."""
    try:
        http_response = _send(call, http_session, request)
    except Exception as exc:  # the retry policy decides; it retries connection errors only
        return None, exc
    return (http_response, _parse(service, operation, http_response)), None


def _track(http_session: Any) -> None:
    pools = getattr(http_session, "_pool_classes_by_scheme", None)
    if isinstance(pools, dict):  # shared with its pool managers, proxies' included
        pools.update(http=_HTTPPool, https=_HTTPSPool)
    else:  # pragma: no cover - another botocore: the per-read override still bounds it
        log.debug("botocore's HTTP session has no pool classes; connections not tracked")


def _retries(call: Call, service: stswire.Service, operation: Any, request_dict: dict[str, Any],
             keys: stswire.Keys, target: stswire.Target,
             http_session: Any) -> dict[str, Any]:
    """botocore's endpoint's loop: attempts, each signed anew, as its retry policy says."""
    handler = service.retry_handler()
    attempt = 1
    while True:
        request = service.signed(request_dict, attempt, keys, target)
        response, error = _attempt(call, service, operation, request, http_session)
        delay = handler.needs_retry(response=response, attempts=attempt, operation=operation,
                                    caught_exception=error, request_dict=request_dict)
        if delay is None or delay is False:
            break
        time.sleep(max(0.0, min(float(delay), call.remaining())))  # then check() ends it
        attempt += 1
    if error is not None:
        raise error
    assert response is not None
    http_response, parsed = response
    parsed.get("ResponseMetadata", {})["RetryAttempts"] = attempt - 1
    if http_response.status_code >= 300:
        raise bx.ClientError(parsed, operation.name)
    return parsed


_PARSE_FAILURES = (KeyError, ValueError, TypeError, AttributeError, IndexError)


def _operate(call: Call, service: Callable[[], stswire.Service], keys: stswire.Keys,
             endpoint: Endpoint, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    _local.call = call
    sts = service()
    target = sts.target(endpoint)
    call.url = target.url
    model = sts.operation(operation)
    request_dict = sts.request_dict(model, params, target)
    http_session = sts.http_session(target)
    try:
        _track(http_session)
        return _retries(call, sts, model, request_dict, keys, target, http_session)
    except ResponseParserError:
        raise BadAnswer("with a body that is not STS's XML") from None
    except _PARSE_FAILURES as exc:
        if call.answered and not isinstance(exc, bx.BotoCoreError):
            # botocore's parser failed on what the server sent (a missing element, an
            # unreadable date): the answer is at fault, not traycreds.
            raise BadAnswer("with a document botocore cannot read as STS's") from None
        raise
    finally:
        http_session.close()


def perform(call: Call, service: Callable[[], stswire.Service], keys: stswire.Keys,
            endpoint: Endpoint, operation: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``operation`` (``assume_role``, ...) with ``keys`` within ``call``'s deadline.

    Raises DeadlineExceeded at the deadline, BadAnswer for an answer that is not STS's,
    else what botocore raised.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            outcome["result"] = _operate(call, service, keys, endpoint, operation, params)
        except BaseException as exc:  # handed to the caller, who decides
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, name=_THREAD_NAME, daemon=True)
    worker.start()
    if not done.wait(max(0.0, call.remaining())):
        call.expire()
        raise DeadlineExceeded
    worker.join()  # it has finished: only its last instructions are left
    if "error" in outcome:
        error: BaseException = outcome["error"]
        raise error
    result: dict[str, Any] = outcome["result"]
    return result
