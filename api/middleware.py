"""Pure ASGI middleware, outermost first:

1. :class:`RequestContextMiddleware`: a request id (``X-Request-ID``) on every response, and
   any unhandled exception turned into a generic 500 problem (logged with the request id).
2. :class:`RateLimitMiddleware`: every bucket of a request (``api.ratelimit``: global, the
   per-IP one on ``POST /api/v1/auth/token``, the tenant and project of a verified bearer
   token) in one Redis script call; adds RateLimit-* headers to responses.
3. :class:`BodySizeLimitMiddleware`: 413 for bodies over ``max_request_bytes``, announced or
   streamed, counted chunk by chunk.

``/healthz`` and ``/readyz`` are never rate limited.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from uuid import UUID, uuid4

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import bearer_token, verified_once
from api.errors import (
    CONTENT_TOO_LARGE,
    LIMITER_UNAVAILABLE,
    REQUEST_ID_SCOPE_KEY,
    ProblemError,
    internal_error_response,
    is_unavailable,
    problem_for,
    problem_response,
    unavailable_response,
)
from api.ratelimit import (
    Decision,
    Limit,
    RateLimiterUnavailable,
    auth_limit,
    global_limit,
    limiter_for,
    project_id_in_path,
    tenant_and_project_limits,
)
from docflow.auth.tokens import InvalidTokenError
from docflow.settings import Settings

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
AUTH_TOKEN_PATH = "/api/v1/auth/token"
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

HeaderEditor = Callable[[MutableHeaders], None]


def _on_response_start(send: Send, *callbacks: HeaderEditor) -> tuple[Send, list[bool]]:
    """Wrap ``send``: each callback may edit the ``http.response.start`` message.

    Returns the wrapped send and a one-item list that turns True once the response started.
    """
    started = [False]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            started[0] = True
            message.setdefault("headers", [])
            for callback in callbacks:
                callback(MutableHeaders(scope=message))
        await send(message)

    return wrapped, started


# --- request id and the last-resort 500 ---------------------------------------------------


def request_id_of(scope: Scope) -> str:
    offered = Headers(scope=scope).get(REQUEST_ID_HEADER.lower(), "")
    return offered if _SAFE_REQUEST_ID.fullmatch(offered) else uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope[REQUEST_ID_SCOPE_KEY] = request_id_of(scope)

        def add_request_id(headers: MutableHeaders) -> None:
            headers[REQUEST_ID_HEADER] = request_id

        send, started = _on_response_start(send, add_request_id)
        try:
            await self.app(scope, receive, send)
        except Exception as error:
            unavailable = is_unavailable(error)
            logger.log(
                logging.WARNING if unavailable else logging.ERROR,
                "%s on %s %s (request id %s)",
                "a backing service is unavailable" if unavailable else "unhandled error",
                scope["method"],
                scope["path"],
                request_id,
                exc_info=True,
                extra={"request_id": request_id},
            )
            if started[0]:
                raise  # too late for a problem response: the server drops the connection
            answer = (
                unavailable_response(scope["path"])
                if unavailable
                else internal_error_response(scope["path"], request_id)
            )
            await answer(scope, receive, send)


# --- rate limits ---------------------------------------------------------------------------


def client_ip(scope: Scope) -> str:
    """The peer address; behind a proxy, uvicorn's --forwarded-allow-ips rewrites it."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _add_rate_limit_headers(decision: Decision) -> HeaderEditor:
    def add(headers: MutableHeaders) -> None:
        for name, value in decision.headers().items():
            headers[name] = value

    return add


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def limits(self, scope: Scope) -> tuple[list[Limit], bool]:
        """The buckets of this request, and whether it fails closed (a token request)."""
        settings = self.settings
        if scope["method"] == "POST" and scope["path"] == AUTH_TOKEN_PATH:
            limits = [global_limit(settings), auth_limit(settings, client_ip(scope))]
            return limits, settings.rate_limit_auth_per_min > 0
        limits = [global_limit(settings)]
        tenant_limited = settings.rate_limit_tenant_per_min > 0
        if tenant_limited or settings.rate_limit_project_per_min > 0:
            tenant_id = await self.tenant_of(scope)
            if tenant_id is not None:
                project_id = project_id_in_path(scope["path"])
                limits += tenant_and_project_limits(settings, tenant_id, project_id)
        return limits, False

    async def tenant_of(self, scope: Scope) -> UUID | None:
        """The tenant of the request's bearer token, if it verifies (the route answers 401
        to one that does not, counted in the global bucket alone)."""
        token = bearer_token(scope)
        if token is None:
            return None
        try:
            claims = await verified_once(scope["app"].state.docflow, scope, token)
        except InvalidTokenError:
            return None
        return claims.tenant_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        limits, fail_closed = await self.limits(scope)
        try:
            decision = await limiter_for(scope["app"]).hit(limits)
        except RateLimiterUnavailable:
            if fail_closed:
                await limiter_unavailable(scope)(scope, receive, send)
                return
            decision = None
        if decision is not None and not decision.allowed:
            refusal = decision.refusal()
            await problem_for(refusal, scope["path"])(scope, receive, send)
            return
        if decision is not None:
            send, _ = _on_response_start(send, _add_rate_limit_headers(decision))
        await self.app(scope, receive, send)


def limiter_unavailable(scope: Scope) -> JSONResponse:
    """Fail closed on the token endpoint: unthrottled password guessing is worse than 503."""
    return problem_response(
        503,
        "sign-in is paused while the rate limiter is unavailable; retry shortly",
        instance=scope["path"],
        kind=LIMITER_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


# --- request size ---------------------------------------------------------------------------


class ContentTooLarge(ProblemError):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than {max_bytes} bytes",
            kind=CONTENT_TOO_LARGE,
            extensions={"max_bytes": max_bytes},
        )


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BodySizeLimitMiddleware:
    """413 when Content-Length says too much, or once the streamed chunks add up to too much.

    Chunks are counted as the app reads them; nothing is buffered here. Inside a route the
    error is an HTTPException, answered by the problem handlers.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await problem_for(ContentTooLarge(self.max_bytes), scope["path"])(scope, receive, send)
            return
        send, started = _on_response_start(send)
        try:
            await self.app(scope, self._counting(receive), send)
        except ContentTooLarge as error:
            if started[0]:
                raise
            await problem_for(error, scope["path"])(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ContentTooLarge(self.max_bytes)
            return message

        return counting_receive


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Body size innermost, then rate limits, then request id and the 500 guard outermost."""
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware)
