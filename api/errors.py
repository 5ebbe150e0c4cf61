"""One error shape for every 4xx and 5xx: RFC 9457 problem details (application/problem+json).

```json
{"type": "about:blank", "title": "Not Found", "status": 404,
 "detail": "project not found", "instance": "/api/v1/projects/..."}
```

- ``type`` is ``about:blank`` (the title is then the HTTP status phrase) unless the error is
  one of the kinds below, which have a stable URI under ``https://docflow.dev/problems/``.
- Validation errors (422) add ``errors``: ``[{"field": "body.name", "message": ..., "type": ...}]``.
- ``HTTPException`` (Starlette's and FastAPI's) keeps its status, detail and headers.
- Raise :class:`ProblemError` for a problem of a named kind with extension members.
- Unhandled exceptions become a generic 500 with a request id (logged in
  :mod:`api.middleware`): no exception text leaves the process.

Responses a route returns itself (the OAuth2 token endpoint's ``{"error": "invalid_grant"}``)
are left alone: only exceptions are turned into problems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from temporalio.service import RPCError, RPCStatusCode

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE_URI = "https://docflow.dev/problems/"
REQUEST_ID_SCOPE_KEY = "docflow.request_id"  # set by api.middleware.RequestContextMiddleware


class Problem(BaseModel):
    """RFC 9457 problem details: the shape of every 4xx and 5xx answer."""

    type: str = Field(examples=["https://docflow.dev/problems/not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["project not found"])
    instance: str = Field(examples=["/api/v1/projects/0b6f…"])
    errors: list[dict[str, str]] | None = Field(
        default=None, description="For 422: one entry per invalid field (field, message, type)"
    )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
        "description": description,
    }
    for code, description in (
        (401, "Missing or invalid access token"),
        (403, "Your role does not allow this"),
        (404, "Not found (or another tenant's: the same answer)"),
        (409, "Conflicts with the current state (e.g. a stale version or the wrong step)"),
        (422, "Invalid input: the fields are named in `errors`"),
        (429, "Rate limited: see Retry-After and the RateLimit headers"),
        (503, "A service docflow needs is not answering: retry after Retry-After seconds"),
    )
}


@dataclass(frozen=True)
class ProblemKind:
    """A kind of problem with its own stable ``type`` URI and title."""

    slug: str
    title: str

    @property
    def uri(self) -> str:
        return PROBLEM_BASE_URI + self.slug


VALIDATION_ERROR = ProblemKind("validation-error", "Your request is not valid")
CONTENT_TOO_LARGE = ProblemKind("content-too-large", "Request body too large")
RATE_LIMITED = ProblemKind("rate-limited", "Too many requests")
LIMITER_UNAVAILABLE = ProblemKind("rate-limiter-unavailable", "Rate limiter unavailable")
INTERNAL_ERROR = ProblemKind("internal-error", "Internal server error")


class ProblemError(HTTPException):
    """An HTTPException of a named kind, with optional extension members for the body."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        kind: ProblemKind | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status_code, detail=detail, headers=headers)
        self.kind = kind
        self.extensions = dict(extensions or {})


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_response(
    status: int,
    detail: str,
    *,
    instance: str,
    kind: ProblemKind | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response; ``kind=None`` means ``about:blank`` titled by the status."""
    body: dict[str, Any] = {
        **(extensions or {}),  # extensions never replace the standard members
        "type": kind.uri if kind else "about:blank",
        "title": kind.title if kind else status_phrase(status),
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


# --- handlers -----------------------------------------------------------------------------


def _detail_and_extensions(detail: Any, status: int) -> tuple[str, dict[str, Any]]:
    """RFC 9457 wants a string ``detail``: structured details move to ``details``."""
    if isinstance(detail, str):
        return detail, {}
    return status_phrase(status), {"details": detail}


def problem_for(exc: HTTPException, instance: str) -> Response:
    """The response for an HTTPException: its status, detail and headers, as a problem."""
    if exc.status_code < 400 or exc.status_code in {204, 304}:
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail, extensions = _detail_and_extensions(exc.detail, exc.status_code)
    kind = None
    if isinstance(exc, ProblemError):
        kind = exc.kind
        extensions |= exc.extensions
    return problem_response(
        exc.status_code,
        detail,
        instance=instance,
        kind=kind,
        headers=exc.headers,
        extensions=extensions,
    )


# FastAPI's own words when a body cannot be decoded at all (not UTF-8, say): a 400 that is a
# validation error like any other body that is not JSON, so it is answered as one.
UNPARSABLE_BODY_DETAIL = "There was an error parsing the body"
UNPARSABLE_BODY_ERRORS = [
    {"field": "body", "message": "the body is not UTF-8 encoded JSON", "type": "json_invalid"}
]


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY_DETAIL:
        return problem_response(
            422,
            "1 invalid field(s): body",
            instance=request.url.path,
            kind=VALIDATION_ERROR,
            extensions={"errors": UNPARSABLE_BODY_ERRORS},
        )
    return problem_for(exc, request.url.path)


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic/FastAPI errors as ``{"field": "body.name", "message": ..., "type": ...}``.

    The rejected input is never echoed back: it may hold a password or a token.
    """
    return [
        {
            "field": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "invalid value")),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]


async def validation_exception_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # registered for it only
        raise exc
    errors = field_errors(exc.errors())
    names = ", ".join(sorted({error["field"] for error in errors}))
    return problem_response(
        422,
        f"{len(errors)} invalid field(s): {names}",
        instance=request.url.path,
        kind=VALIDATION_ERROR,
        extensions={"errors": errors},
    )


GENERIC_500_DETAIL = "An unexpected error occurred. Quote the request id when you report it."


def internal_error_response(instance: str, request_id: str | None) -> Response:
    """A generic 500: no exception type, message or stack trace leaves the process."""
    extensions = {"request_id": request_id} if request_id else {}
    return problem_response(
        500, GENERIC_500_DETAIL, instance=instance, kind=INTERNAL_ERROR, extensions=extensions
    )


SERVICE_UNAVAILABLE = ProblemKind("service-unavailable", "A service is unavailable")
RETRY_AFTER_S = 5
# A backing service that does not answer: PostgreSQL (SQLAlchemy's connection errors, and
# a refused or timed-out connection), Valkey, Temporal. The request can be retried.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    RedisError,
    ConnectionError,
    TimeoutError,
)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, RPCError):
        return exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, UNAVAILABLE)


def unavailable_response(instance: str) -> Response:
    return problem_response(
        503,
        "a service docflow needs is not answering right now: try again in a few seconds",
        instance=instance,
        kind=SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def unhandled_exception_handler(request: Request, exc: Exception) -> Response:
    """Last resort, for errors outside ``RequestContextMiddleware`` (which logs and answers
    the others). Starlette re-raises the exception afterwards, so the server logs it."""
    if is_unavailable(exc):
        return unavailable_response(request.url.path)
    request_id = request.scope.get(REQUEST_ID_SCOPE_KEY)
    return internal_error_response(request.url.path, request_id)


def install_error_handlers(app: FastAPI) -> None:
    """Every 4xx and 5xx as problem+json."""
    app.add_exception_handler(HTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(Exception, unhandled_exception_handler)
