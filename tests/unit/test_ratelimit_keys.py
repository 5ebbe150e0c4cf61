"""Rate-limit keys carry the tenant and project; headers follow the IETF RateLimit draft."""

from __future__ import annotations

from uuid import UUID

from api.ratelimit import (
    Decision,
    Limit,
    auth_limit,
    global_limit,
    project_id_in_path,
    tenant_and_project_limits,
)
from docflow.settings import Settings

TENANT = UUID("11111111-1111-1111-1111-111111111111")
PROJECT = UUID("22222222-2222-2222-2222-222222222222")


def decision(*, allowed: bool = True, remaining: int = 3, retry: int = 0) -> Decision:
    return Decision("tenant", allowed, 5, remaining, 12, retry)


def test_keys_are_prefixed_and_scoped_by_tenant_and_project() -> None:
    settings = Settings(rate_limit_tenant_per_min=7, rate_limit_project_per_min=3)
    limits = tenant_and_project_limits(settings, TENANT, PROJECT)
    assert limits == [
        Limit("tenant", f"docflow:rl:tenant:{TENANT}", 7),
        Limit("project", f"docflow:rl:project:{TENANT}:{PROJECT}", 3),
    ]
    assert tenant_and_project_limits(settings, TENANT, None) == limits[:1]
    assert global_limit(settings).key == "docflow:rl:global"
    assert auth_limit(settings, "10.0.0.7").key == "docflow:rl:auth:10.0.0.7"


def test_headers_of_an_allowed_request_have_no_retry_after() -> None:
    assert decision().headers() == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "3",
        "RateLimit-Reset": "12",
        "RateLimit-Policy": "5;w=60",
    }


def test_a_refusal_is_a_429_problem_with_retry_after() -> None:
    refusal = decision(allowed=False, remaining=0, retry=9).refusal()
    assert refusal.status_code == 429
    assert refusal.headers is not None and refusal.headers["Retry-After"] == "9"
    assert "tenant limit of 5" in str(refusal.detail)


def test_the_project_bucket_is_named_by_a_project_path() -> None:
    assert project_id_in_path(f"/api/v1/projects/{PROJECT}") == PROJECT
    assert project_id_in_path(f"/api/v1/projects/{PROJECT}/runs/current") == PROJECT
    assert project_id_in_path(f"/api/v1/projects/{PROJECT.hex}/documents") == PROJECT
    assert project_id_in_path("/api/v1/projects") is None
    assert project_id_in_path(f"/api/v1/projects/{PROJECT}x/runs") is None
    assert project_id_in_path("/api/v1/projects/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz") is None
    assert project_id_in_path(f"/web/projects/{PROJECT}") is None


def test_a_reply_is_read_in_whole_seconds() -> None:
    limits = [Limit("global", "g", 100), Limit("auth", "a", 2)]
    allowed = Decision.from_reply(limits, [1, 2, 1, 30_001, 0, 2])
    assert (allowed.name, allowed.allowed, allowed.reset_s, allowed.retry_after_s) == (
        "auth",
        True,
        31,
        0,
    )
    refused = Decision.from_reply(limits, [0, 100, 0, 60_000, 1, 1])
    assert (refused.name, refused.retry_after_s) == ("global", 1)
