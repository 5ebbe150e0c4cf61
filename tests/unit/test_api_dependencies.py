"""Every route and dependency of the API is a coroutine: FastAPI runs a plain ``def``
in its thread pool, a thread hop on every request."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from api.app import create_app
from docflow.settings import Settings


def _calls(dependant: Dependant) -> Iterator[object]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _is_coroutine(call: object) -> bool:
    method = getattr(call, "__call__", None)  # noqa: B004 - security schemes are instances
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(method)


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """The app's routes, also those inside included routers (FastAPI wraps them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def test_no_route_or_dependency_runs_in_the_thread_pool() -> None:
    routes = list(_api_routes(create_app(Settings()).routes))
    assert len(routes) > 20
    blocking = {
        f"{route.path}: {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if not _is_coroutine(call)
    }
    assert not blocking, sorted(blocking)
